// Pure-TypeScript backend: runs everywhere (no WebAssembly compilation needed). Each method
// forwards to the blocked, multi-accumulator raw kernels in ./raw with the offsets the Backend
// interface fixes at zero.
import type { Backend } from './backend.js';
import * as raw from './raw/index.js';

export const jsBackend: Backend = {
  name: 'js',
  alloc: (n) => new Float32Array(n),
  matvec(out, oOff, w, wOff, x, xOff, rows, cols) {
    raw.matvec(out, oOff, w, wOff, x, xOff, rows, cols);
  },
  matmulT(out, a, b, bOff, m, n, k) {
    raw.matmulT(out, 0, a, 0, b, bOff, m, n, k);
  },
  rmsnorm(out, oOff, x, xOff, w, n, eps) {
    raw.rmsnorm(out, oOff, x, xOff, w, 0, n, eps);
  },
  attendHead(out, oOff, q, qOff, keys, values, count, headDim, scale, att, aOff) {
    raw.attendHead(out, oOff, q, qOff, keys, 0, values, 0, count, headDim, scale, att, aOff);
  },
  swiglu(out, gate, up, n) {
    raw.swiglu(out, 0, gate, 0, up, 0, n);
  },
  add(out, a, b, n) {
    raw.add(out, 0, a, 0, b, 0, n);
  },
};
