// Raw, unchecked kernels: plain Float32Arrays plus element offsets, output first, no allocation.
// Callers guarantee sizes; use the checked Tensor API (../ops) when inputs are not yet trusted.
export { matvec, matmulT, matmulTBatched, matmul, dot, axpy } from './linalg.js';
export { add, mul, scale, silu, swiglu, geluTanh, geluErf, erf, erfc } from './elementwise.js';
export { rmsnorm, layernorm } from './norm.js';
export { softmax } from './softmax.js';
export { rope, rotateHeads, ropeAngles, ropeInvFreq, type RopeLayout } from './rope.js';
export { argmax, topk } from './select.js';
export { attendHead } from './attention.js';
