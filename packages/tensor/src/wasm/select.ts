// Backend choice: explicit ('js' | 'wasm', erroring clearly when impossible) or automatic
// (WebAssembly SIMD where it compiles, else pure TypeScript with one line saying why).
import type { Backend } from '../backend.js';
import { jsBackend } from '../js-backend.js';
import { checkThreads, createWasmBackend, describeValue, type WasmBackendOptions } from './backend.js';
import { sharedMemoryAvailable } from './heap.js';
import { wasmSimdUnavailableReason } from './support.js';

export type BackendChoice = 'js' | 'wasm' | 'auto';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['js', 'wasm', 'auto'];

export interface BackendSelection {
  backend: Backend;
  /** Threads the backend actually uses (the pure-TS backend is single-threaded). */
  threads: number;
  /** Set when 'auto' fell back or reduced threads: one line saying why. */
  note?: string;
  /** Stops worker threads; call when done with the backend (idle workers never block process exit). */
  dispose(): Promise<void>;
}

export interface SelectBackendOptions extends WasmBackendOptions {
  backend?: BackendChoice;
}

/** Validates a backend choice; `what` names it in the error (a caller's option name). */
export function checkBackendChoice(value: unknown, what = 'backend'): BackendChoice {
  if ((BACKEND_CHOICES as readonly unknown[]).includes(value)) return value as BackendChoice;
  throw new RangeError(`${what} must be one of ${BACKEND_CHOICES.join(', ')}, got ${describeValue(value)}`);
}


export async function selectBackend(opts: SelectBackendOptions = {}): Promise<BackendSelection> {
  const choice = checkBackendChoice(opts.backend ?? 'auto');
  let threads = checkThreads(opts.threads ?? 1);
  const js = (note?: string): BackendSelection => ({ backend: jsBackend, threads: 1, ...(note ? { note } : {}), dispose: async () => {} });
  if (choice === 'js') {
    if (threads > 1) throw new Error(`threads ${threads} needs the wasm backend (the pure-TS backend is single-threaded)`);
    return js();
  }
  const why = wasmSimdUnavailableReason();
  if (why) {
    if (choice === 'wasm') throw new Error(`the wasm backend is unavailable: ${why}`);
    return js(`using the pure-TS backend: ${why}`);
  }
  let note: string | undefined;
  if (threads > 1 && !sharedMemoryAvailable()) {
    const reason = 'SharedArrayBuffer is unavailable (browsers need cross-origin isolation: COOP/COEP headers)';
    if (choice === 'wasm') throw new Error(`threads ${threads} are unavailable: ${reason}`);
    note = `using 1 thread: ${reason}`;
    threads = 1;
  }
  const backend = await createWasmBackend({ ...opts, threads });
  return { backend, threads, ...(note ? { note } : {}), dispose: () => backend.dispose() };
}
