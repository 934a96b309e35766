// Entry of a kernel worker under node:worker_threads (Node; the init comes as workerData).
// No parentPort.close(): the thread ends by itself once the loop returns (and Deno's
// worker_threads has no close()).
import { parentPort, workerData } from 'node:worker_threads';
import { runKernelWorker, type KernelWorkerInit } from './kernel-worker.js';

runKernelWorker(workerData as KernelWorkerInit, (m) => parentPort!.postMessage(m));
