export { createWasmBackend, checkThreads, MAX_THREADS, type WasmBackend, type WasmBackendOptions } from './backend.js';
export { WasmHeap, sharedMemoryAvailable, type WasmHeapOptions } from './heap.js';
export { wasmSimdUnavailableReason } from './support.js';
export { selectBackend, checkBackendChoice, BACKEND_CHOICES, type BackendChoice, type BackendSelection, type SelectBackendOptions } from './select.js';
export { serveKernelWorker, type KernelWorkerInit } from '../threads/kernel-worker.js';
export type { SpawnOptions } from '../threads/host.js';
export type { JobTime } from '../threads/pool.js';
