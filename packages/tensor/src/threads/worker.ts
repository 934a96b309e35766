// A kernel worker: instantiates the kernel module over the shared memory, then loops:
// spin briefly on the job counter (low latency between the many small matvecs of a decode step),
// sleep in Atomics.wait when idle, run its slice, report done.
import { parentPort, workerData } from 'node:worker_threads';
import type { KernelExports } from '../wasm/kernels.js';
import { Ctrl, runPart } from './protocol.js';

interface WorkerInit { module: WebAssembly.Module; memory: WebAssembly.Memory; ctrlAddr: number; part: number; workers: number; spin: number }
const init = workerData as WorkerInit;
const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
const k = instance.exports as unknown as KernelExports;
const ctrl = new Int32Array(init.memory.buffer, init.ctrlAddr, 16);

// Read the job counter before announcing readiness: a job posted right after 'ready' must be seen as new.
let seen = Atomics.load(ctrl, Ctrl.SEQ);
parentPort!.postMessage('ready');
for (;;) {
  let seq = Atomics.load(ctrl, Ctrl.SEQ);
  for (let spins = 0; seq === seen; seq = Atomics.load(ctrl, Ctrl.SEQ)) {
    // A bounded wait: a worker blocked in Atomics.wait cannot be terminated, so it wakes up
    // now and then and the process can exit even if the owner never called dispose().
    if (++spins > init.spin) { Atomics.wait(ctrl, Ctrl.SEQ, seen, 100); spins = 0; }
  }
  seen = seq;
  if (Atomics.load(ctrl, Ctrl.STOP) !== 0) break;
  try {
    runPart(k, ctrl, init.part);
  } finally {
    if (Atomics.add(ctrl, Ctrl.DONE, 1) + 1 === init.workers) Atomics.notify(ctrl, Ctrl.DONE);
  }
}
parentPort!.close();
