// Core entry. Never import ndarray here (it compiles code with `new Function`, which strict-CSP
// and edge runtimes forbid); ndarray conversion lives in the separate './interop' entry.
export type { Backend } from './backend.js';
export { jsBackend } from './js-backend.js';
export { Allocations, type AllocatingBackend } from './allocations.js';
export { Tensor, contiguousStrides, shapeSize, fmtShape, forEachOffset, requireContiguous, type Shape } from './tensor.js';
export * from './ops/index.js';
/** Unchecked offset-based kernels (output first, no allocation): `raw.matvec(out, 0, w, 0, x, 0, rows, cols)`. */
export * as raw from './raw/index.js';
export { fp16ToFp32, fp32ToFp16, decodeFloat16, encodeFloat16, float16Bits, float16BitsToNumber, float16Table } from './fp16.js';
// WebAssembly SIMD backend, backend selection, worker threads, reduced-precision weights.
export * from './wasm/index.js';
export * from './quant/index.js';
// Cached key/value entries in f32, f16 or q8 and the attention that reads them as stored.
export * from './kv/index.js';
