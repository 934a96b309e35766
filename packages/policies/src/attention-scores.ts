// Sums and means of the new token's post-softmax attention over groups of query heads: the raw
// material of TOVA (current weights, averaged) and H2O (accumulated weights).
import type { AttentionStep } from '@msrnn/msrnn';

/**
 * out[i·outStride] = Σ att[q*stride + i] for query heads q in [qFrom, qTo), i < count (adds into
 * out when `accumulate`). All those heads must read the same KV head or share aligned slots.
 * outStride > 1 writes one statistic of a head's per-entry stats (HeadCache.statsPerEntry apart).
 */
export function sumAttention(step: AttentionStep, qFrom: number, qTo: number, count: number, out: Float64Array, accumulate: boolean, outStride = 1): void {
  const att = step.att, stride = step.attStride;
  if (!accumulate) for (let i = 0; i < count; i++) out[i * outStride] = 0;
  for (let q = qFrom; q < qTo; q++) {
    const base = q * stride;
    for (let i = 0; i < count; i++) out[i * outStride]! += att[base + i]!;
  }
}

/** out[i] = mean of att[q*stride + i] over query heads q in [qFrom, qTo), i < count. */
export function meanAttention(step: AttentionStep, qFrom: number, qTo: number, count: number, out: Float64Array): void {
  sumAttention(step, qFrom, qTo, count, out, false);
  const heads = qTo - qFrom;
  for (let i = 0; i < count; i++) out[i]! /= heads;
}
