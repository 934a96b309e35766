// Entry of a kernel worker as a module Web Worker (browsers, Deno, Bun): the init is the first message.
import { serveKernelWorker } from './kernel-worker.js';

serveKernelWorker();
