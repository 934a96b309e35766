// Entry of a kernel worker under node:worker_threads (Node; the init comes as workerData).
// No parentPort.close(): the thread ends by itself once the loop returns (and Deno's
// worker_threads has no close()).
import { parentPort, workerData } from 'node:worker_threads';
import { kernelWorkerExiting, runKernelWorker, type KernelWorkerInit } from './kernel-worker.js';

const init = workerData as KernelWorkerInit;
process.on('exit', () => kernelWorkerExiting(init));
runKernelWorker(init, (m) => parentPort!.postMessage(m));
