// The input end of the model: a token id becomes the first residual vector.
import { dequantizeRow } from '@msrnn/tensor';
import type { Model } from './model.js';

/**
 * x[xOff .. xOff+dim) = embedding row of `token` (any weight type), × arch.embedScale (gemma),
 * + the learned position row of `position` when the model has one (gpt2).
 */
export function embed(model: Model, x: Float32Array, xOff: number, token: number, position: number): void {
  const w = model.weights, dim = model.config.dim, scale = model.config.arch.embedScale;
  dequantizeRow(x, xOff, w.tokenEmbedding, token);
  if (scale !== 1) for (let i = 0; i < dim; i++) x[xOff + i] = x[xOff + i]! * scale;
  const table = w.positionEmbedding;
  if (table !== null) {
    const rows = table.length / dim;
    if (position >= rows) throw new RangeError(`position ${position} is past the ${rows} learned positions of ${model.source}; use a bounded state or a shorter text`);
    for (let i = 0; i < dim; i++) x[xOff + i] = x[xOff + i]! + table[position * dim + i]!;
  }
}
