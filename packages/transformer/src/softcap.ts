// Soft-capping (gemma2): v ← cap · tanh(v / cap) bounds attention scores and final logits to
// (-cap, cap) smoothly. Attention scores are capped between the scaling and the softmax, so a
// capped model attends with this (plain TypeScript) head kernel instead of the backend's.
import { kvScores, kvWeightedSum, raw, type KvRows } from '@msrnn/tensor';

/** x[off+i] = cap · tanh(x[off+i] / cap), i < n. */
export function softcap(x: Float32Array, off: number, n: number, cap: number): void {
  for (let i = 0; i < n; i++) x[off + i] = cap * Math.tanh(x[off + i]! / cap);
}

/**
 * Backend.attendHead's contract with the scores soft-capped: att[aOff+i] = softmax_i(cap ·
 * tanh(scale · q·k_i / cap)), out[oOff+d] = Σ_i att[aOff+i] · v_i[d].
 */
export function attendHeadSoftcapped(out: Float32Array, oOff: number, q: Float32Array, qOff: number, keys: KvRows,
  values: KvRows, count: number, headDim: number, scale: number, cap: number, att: Float32Array, aOff: number): void {
  if (keys.width !== headDim || values.width !== headDim) throw new RangeError(`attendHeadSoftcapped: rows of ${keys.width} keys / ${values.width} values for head dim ${headDim}`);
  kvScores(att, aOff, q, qOff, keys, count, scale);
  for (let i = 0; i < count; i++) att[aOff + i] = cap * Math.tanh(att[aOff + i]! / cap);
  raw.softmax(att, aOff, count);
  kvWeightedSum(out, oOff, att, aOff, values, count);
}
