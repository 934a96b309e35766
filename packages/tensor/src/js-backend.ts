// Pure-TypeScript backend: runs everywhere (no WebAssembly compilation needed).
// NOTE: first, plain versions; the tensor issue replaces them with blocked, multi-accumulator kernels.
import type { Backend } from './backend.js';

export const jsBackend: Backend = {
  name: 'js',
  alloc: (n) => new Float32Array(n),
  matvec(out, oOff, w, wOff, x, xOff, rows, cols) {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      const base = wOff + r * cols;
      for (let c = 0; c < cols; c++) s += w[base + c]! * x[xOff + c]!;
      out[oOff + r] = s;
    }
  },
  matmulT(out, a, b, bOff, m, n, k) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[i * k + p]! * b[bOff + j * k + p]!;
        out[i * n + j] = s;
      }
    }
  },
  rmsnorm(out, oOff, x, xOff, w, n, eps) {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[xOff + i]! * x[xOff + i]!;
    const inv = 1 / Math.sqrt(ss / n + eps);
    for (let i = 0; i < n; i++) out[oOff + i] = w[i]! * (x[xOff + i]! * inv);
  },
  attendHead(out, oOff, q, qOff, keys, values, count, headDim, scale, att, aOff) {
    let max = -Infinity;
    for (let i = 0; i < count; i++) {
      let s = 0;
      for (let d = 0; d < headDim; d++) s += q[qOff + d]! * keys[i * headDim + d]!;
      s *= scale;
      att[aOff + i] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let i = 0; i < count; i++) { const e = Math.exp(att[aOff + i]! - max); att[aOff + i] = e; sum += e; }
    const inv = 1 / sum;
    for (let d = 0; d < headDim; d++) out[oOff + d] = 0;
    for (let i = 0; i < count; i++) {
      const a = (att[aOff + i]! *= inv);
      for (let d = 0; d < headDim; d++) out[oOff + d]! += a * values[i * headDim + d]!;
    }
  },
  swiglu(out, gate, up, n) {
    for (let i = 0; i < n; i++) { const g = gate[i]!; out[i] = (g / (1 + Math.exp(-g))) * up[i]!; }
  },
  add(out, a, b, n) {
    for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
  },
};
