// A kernel worker: instantiates the kernel module over the shared memory, then loops: spin
// briefly on the job counter (low latency between the many small matvecs of a decode step),
// sleep in Atomics.wait when idle, claim and run chunks of each job.
import { parentPort, workerData } from 'node:worker_threads';
import type { KernelExports } from '../wasm/kernels.js';
import { CTRL_INTS, Ctrl, TAG_MASK, claimChunks } from './protocol.js';

interface WorkerInit { module: WebAssembly.Module; memory: WebAssembly.Memory; ctrlAddr: number; spin: number }
const init = workerData as WorkerInit;
const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
const k = instance.exports as unknown as KernelExports;
const ctrl = new Int32Array(init.memory.buffer, init.ctrlAddr, CTRL_INTS);

// Read the job counter before announcing readiness: a job posted right after 'ready' must be seen as new.
let seen = Atomics.load(ctrl, Ctrl.SEQ);
parentPort!.postMessage('ready');
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
parentPort!.close();
