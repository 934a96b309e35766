// Single-query attention over one head's cached keys and values.
import { matvec } from './linalg.js';
import { softmax } from './softmax.js';

/**
 * att[aOff+i] = softmax_i(scale · q·k_i) and out[oOff+d] = Σ_i att[aOff+i] · v_i[d], for i < count,
 * where k_i = keys[kOff + i*headDim ..] and v_i = values[vOff + i*headDim ..]. `out` must not alias
 * q, keys or values. count = 0 leaves att untouched and writes zeros to out.
 */
export function attendHead(out: Float32Array, oOff: number, q: Float32Array, qOff: number,
  keys: Float32Array, kOff: number, values: Float32Array, vOff: number, count: number, headDim: number,
  scale: number, att: Float32Array, aOff: number): void {
  // Scores: the cached keys are the rows of a (count × headDim) matrix.
  matvec(att, aOff, keys, kOff, q, qOff, count, headDim);
  for (let i = 0; i < count; i++) att[aOff + i] = att[aOff + i]! * scale;
  softmax(att, aOff, count);
  // Weighted sum of values, four entries per pass over out (one load/store per four terms).
  out.fill(0, oOff, oOff + headDim);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const p0 = att[aOff + i]!, p1 = att[aOff + i + 1]!, p2 = att[aOff + i + 2]!, p3 = att[aOff + i + 3]!;
    const v0 = vOff + i * headDim, v1 = v0 + headDim, v2 = v1 + headDim, v3 = v2 + headDim;
    for (let d = 0; d < headDim; d++) {
      out[oOff + d] = out[oOff + d]! + (p0 * values[v0 + d]! + p1 * values[v1 + d]! + p2 * values[v2 + d]! + p3 * values[v3 + d]!);
    }
  }
  for (; i < count; i++) {
    const p = att[aOff + i]!, v = vOff + i * headDim;
    for (let d = 0; d < headDim; d++) out[oOff + d] = out[oOff + d]! + p * values[v + d]!;
  }
}
