// What the pool needs from a host's workers, so one pool runs over node:worker_threads
// (./host-node.ts) and over Web Workers (./host-web.ts). Which host is used is decided by the
// package's "#thread-host" import conditions, so a browser bundle never sees node:worker_threads.
import type { KernelWorkerInit, KernelWorkerMessage } from './kernel-worker.js';

export interface KernelWorkerHandle {
  /** Called once per message ('ready', then 'stopped'). */
  onMessage(f: (m: KernelWorkerMessage) => void): void;
  /** Called if the worker fails (e.g. its script cannot load, or it threw out of its loop). */
  onError(f: (err: Error) => void): void;
  /** Called when the worker's thread has ended (where the host tells: Node). */
  onExit(f: () => void): void;
  terminate(): Promise<void>;
  /** Let idle workers not keep the process alive (where the host can), and undo that. */
  unref(): void;
  ref(): void;
}

export interface SpawnOptions {
  /** Web Worker hosts: starts the worker script (a module worker that calls serveKernelWorker()). */
  createWorker?: () => Worker;
  /**
   * Node: the worker's entry module instead of ./worker-node (it must run the worker the way that
   * file does). Tests use it to start workers that fail on purpose.
   */
  workerEntry?: URL;
}

export type SpawnKernelWorker = (init: KernelWorkerInit, opts: SpawnOptions) => KernelWorkerHandle;
