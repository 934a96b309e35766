// The body of a kernel worker, the same on every host (worker_threads or Web Workers): instantiate
// the kernel module over the shared memory, then loop: spin briefly on the job counter (low latency
// between the many small matvecs of a decode step), sleep in Atomics.wait when idle, claim and run
// chunks of each job. It blocks its thread until told to stop, so it never returns to an event loop.
import type { KernelExports } from '../wasm/kernels.js';
import { CTRL_INTS, Ctrl, TAG_MASK, claimChunks } from './protocol.js';

/** What a worker is started with (as workerData, or as the first message of a Web Worker). */
export interface KernelWorkerInit { module: WebAssembly.Module; memory: WebAssembly.Memory; ctrlAddr: number; spin: number }

/** Messages a worker sends its pool: 'ready' once it watches the job counter, 'stopped' as it ends. */
export type KernelWorkerMessage = 'ready' | 'stopped';

export function runKernelWorker(init: KernelWorkerInit, post: (message: KernelWorkerMessage) => void): void {
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  const k = instance.exports as unknown as KernelExports;
  const ctrl = new Int32Array(init.memory.buffer, init.ctrlAddr, CTRL_INTS);

  // Read the job counter before announcing readiness: a job posted right after 'ready' must be seen as new.
  let seen = Atomics.load(ctrl, Ctrl.SEQ);
  post('ready');
  for (;;) {
    let seq = Atomics.load(ctrl, Ctrl.SEQ);
    for (let spins = 0; seq === seen; seq = Atomics.load(ctrl, Ctrl.SEQ)) {
      if (++spins > init.spin) {
        // Bounded: a worker blocked in Atomics.wait cannot be terminated, so it wakes now and then
        // and the process can exit even if the owner never called dispose().
        Atomics.add(ctrl, Ctrl.SLEEPERS, 1);
        Atomics.wait(ctrl, Ctrl.SEQ, seen, 100);
        Atomics.sub(ctrl, Ctrl.SLEEPERS, 1);
        spins = 0;
      }
    }
    seen = seq;
    if (Atomics.load(ctrl, Ctrl.STOP) !== 0) break;
    claimChunks(k, ctrl, seq & TAG_MASK);
  }
  post('stopped');
}

/**
 * Makes the current Web Worker a kernel worker: its first message is the KernelWorkerInit.
 * For bundled pages: a worker entry file that calls this, started by the `createWorker` option.
 */
export function serveKernelWorker(): void {
  const scope = globalThis as unknown as { addEventListener(type: 'message', f: (e: MessageEvent) => void, o: { once: true }): void; postMessage(m: unknown): void };
  scope.addEventListener('message', (e) => runKernelWorker(e.data as KernelWorkerInit, (m) => scope.postMessage(m)), { once: true });
}
