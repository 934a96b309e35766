// Single-query attention over one head's cached keys and values.
import { matmul, matvec } from './linalg.js';
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
  // Weighted sum of values: the (1 × count) row of probabilities times the (count × headDim) values.
  matmul(out, oOff, att, aOff, values, vOff, 1, headDim, count);
}
