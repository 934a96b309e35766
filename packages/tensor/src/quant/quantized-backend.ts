// Reduced-precision weights without touching the model code: a Backend wrapper that knows which
// Float32Array views are weight matrices and runs their matvecs on fp16/Q8 copies instead.
// The model keeps calling backend.matvec(out, oOff, w, wOff, …) with its f32 views; the wrapper
// looks `w` up by identity (one Map lookup per call) and dispatches. matmulT with a quantized B
// (prefill) becomes one quantized matvec per row of A — correct, and decode is what quantization
// speeds up. The f32 originals stay allocated (the wasm heap never frees) but are no longer read.
import type { Backend } from '../backend.js';
import { matvecWeights, quantize, weightBytes, type QuantAlloc, type WeightMatrix, type WeightType } from './weights.js';

export interface WeightView {
  /** The f32 view the model passes to matvec/matmulT (identity matters, not contents). */
  view: Float32Array;
  rows: number;
  cols: number;
}

export interface QuantizedBackend extends Backend {
  readonly base: Backend;
  readonly weightType: WeightType;
  /** Bytes of the quantized copies (what a decode step reads instead of the f32 weights). */
  readonly quantizedBytes: number;
}

/** Quantizes each matrix once (storage from `base` when it supplies u16/i8 allocation) and wraps `base`. */
export function quantizedBackend(base: Backend, matrices: readonly WeightView[], type: Exclude<WeightType, 'f32'>): QuantizedBackend {
  const table = new Map<Float32Array, WeightMatrix>();
  let bytes = 0;
  for (const m of matrices) {
    if (table.has(m.view)) continue; // tied matrices appear once
    if (m.view.length !== m.rows * m.cols) throw new RangeError(`quantizedBackend: a ${m.rows}×${m.cols} matrix needs ${m.rows * m.cols} floats, its view has ${m.view.length}`);
    const q = quantize(type, m.view, 0, m.rows, m.cols, base as Backend & QuantAlloc);
    bytes += weightBytes(q);
    table.set(m.view, q);
  }
  return {
    name: `${base.name}+${type}`,
    base,
    weightType: type,
    quantizedBytes: bytes,
    alloc: (n) => base.alloc(n),
    matvec(out, oOff, w, wOff, x, xOff, rows, cols) {
      const q = table.get(w);
      if (q === undefined) { base.matvec(out, oOff, w, wOff, x, xOff, rows, cols); return; }
      if (cols !== q.cols || wOff % cols !== 0) throw new RangeError(`quantized matvec: offset ${wOff} / cols ${cols} do not address whole rows of a ${q.rows}×${q.cols} matrix`);
      matvecWeights(base, out, oOff, q, x, xOff, wOff / cols, rows);
    },
    matmulT(out, a, b, bOff, m, n, k) {
      const q = table.get(b);
      if (q === undefined) { base.matmulT(out, a, b, bOff, m, n, k); return; }
      if (k !== q.cols || bOff % k !== 0) throw new RangeError(`quantized matmulT: offset ${bOff} / k ${k} do not address whole rows of a ${q.rows}×${q.cols} matrix`);
      for (let i = 0; i < m; i++) matvecWeights(base, out, i * n, q, a, i * k, bOff / k, n);
    },
    rmsnorm: (out, oOff, x, xOff, w, n, eps) => base.rmsnorm(out, oOff, x, xOff, w, n, eps),
    attendHead: (out, oOff, q, qOff, keys, values, count, headDim, scale, att, aOff) =>
      base.attendHead(out, oOff, q, qOff, keys, values, count, headDim, scale, att, aOff),
    swiglu: (out, gate, up, n) => base.swiglu(out, gate, up, n),
    add: (out, a, b, n) => base.add(out, a, b, n),
  };
}
