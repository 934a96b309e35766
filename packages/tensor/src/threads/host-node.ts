// Kernel workers on node:worker_threads (Node; chosen by the "node" import condition).
import { Worker } from 'node:worker_threads';
import type { KernelWorkerHandle, SpawnKernelWorker } from './host.js';

/**
 * Starts ./worker-node. From dist it is plain .js. From source (this file is .ts, run through tsx)
 * the worker cannot rely on inheriting tsx's loader hooks (Node 20 does not apply module hooks to
 * workers), so a two-line bootstrap registers tsx inside the worker, then imports worker-node.ts.
 */
function spawnWorker(workerData: object, entryUrl?: URL): Worker {
  const ts = import.meta.url.endsWith('.ts');
  const url = entryUrl ?? new URL(ts ? './worker-node.ts' : './worker-node.js', import.meta.url);
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = url.href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`
    + `.catch((e) => { throw e; });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

export const spawnKernelWorker: SpawnKernelWorker = (init, opts) => {
  const w = spawnWorker(init, opts.workerEntry);
  const handle: KernelWorkerHandle = {
    onMessage: (f) => { w.on('message', f); },
    onError: (f) => { w.on('error', f); },
    onExit: (f) => { w.on('exit', f); },
    terminate: async () => { await w.terminate(); },
    unref: () => w.unref(),
    ref: () => w.ref(),
  };
  return handle;
};
