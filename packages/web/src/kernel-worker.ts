// A kernel worker of the wasm thread pool, bundled for the page (started by the generation worker).
import { serveKernelWorker } from '@msrnn/tensor';

serveKernelWorker();
