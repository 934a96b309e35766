// Checked Tensor-level API: validates shapes, strides and aliasing, then calls the raw kernels.
export { add, mul, scale, axpy, silu, swiglu, gelu, assign, type GeluApproximation } from './elementwise.js';
export { matmul, matmulT, matmulBatched, matmulTBatched, matvec, dot } from './linalg.js';
export { rmsnorm, layernorm, softmax, rope, type RopeOptions } from './rows.js';
export { argmax, topk } from './select.js';
