// Kernel workers as module Web Workers (browsers, Deno, Bun, and the default for any other runtime).
// The pool's caller blocks in Atomics.wait, which browsers allow only off the main thread: in a
// page, run the model in a worker (which then starts these workers itself).
import type { KernelWorkerHandle, SpawnKernelWorker } from './host.js';

export const spawnKernelWorker: SpawnKernelWorker = (init, opts) => {
  if (typeof Worker !== 'function') throw new Error('wasm thread pool: this runtime has no Web Workers (use threads: 1)');
  // Unbundled (dist/ served as is, Deno, Bun; or src/ where the runtime runs TypeScript) the entry
  // sits beside this file; a bundler needs its own entry that calls serveKernelWorker(), passed as createWorker.
  const entry = import.meta.url.endsWith('.ts') ? './worker-web.ts' : './worker-web.js';
  const w = opts.createWorker ? opts.createWorker() : new Worker(new URL(entry, import.meta.url), { type: 'module' });
  const handle: KernelWorkerHandle = {
    onMessage: (f) => { w.addEventListener('message', (e) => f(e.data)); },
    onError: (f) => {
      w.addEventListener('error', (e) => { e.preventDefault?.(); f(new Error(e.message || 'the worker script failed to load')); });
      w.addEventListener('messageerror', () => f(new Error('the worker could not receive the shared memory or module')));
    },
    onExit: () => {}, // Web Workers do not report their end (a lost one is seen through shared memory, ./lanes.ts)
    terminate: async () => { w.terminate(); },
    // Bun's and Deno's workers may have unref/ref; browsers do not need them.
    unref: () => { (w as unknown as { unref?: () => void }).unref?.(); },
    ref: () => { (w as unknown as { ref?: () => void }).ref?.(); },
  };
  w.postMessage(init);
  return handle;
};
