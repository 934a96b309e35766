// The norms: RMSNorm (llama and most others) or LayerNorm with bias (gpt2), chosen by
// config.arch.norm, over each of t rows; the per-head RMSNorm on q and k (qwen3); and the load-time
// fold of gemma's `x · (1 + w)` into a plain RMSNorm weight.
import { raw } from '@msrnn/tensor';
import type { Model } from './model.js';
import type { Norm } from './weights.js';

/** out row i = norm(x row i) for i < t, rows of n floats; x rows start at xOff. out may be x (xOff 0). */
export function normRows(model: Model, out: Float32Array, x: Float32Array, t: number, w: Norm, xOff = 0): void {
  const n = w.weight.length, eps = model.config.normEps, B = model.backend;
  if (model.config.arch.norm === 'rmsnorm') {
    for (let i = 0; i < t; i++) B.rmsnorm(out, i * n, x, xOff + i * n, w.weight, n, eps);
  } else {
    for (let i = 0; i < t; i++) raw.layernorm(out, i * n, x, xOff + i * n, w.weight, 0, w.bias, 0, n, eps);
  }
}

/**
 * RMSNorm of each of `nHeads` heads (headDim floats each, from off) in place, with one weight of
 * headDim shared by the heads: qwen3's q_norm / k_norm, applied before RoPE.
 */
export function headNorm(model: Model, v: Float32Array, off: number, nHeads: number, weight: Float32Array): void {
  const hd = weight.length, eps = model.config.normEps, B = model.backend;
  for (let h = 0; h < nHeads; h++) B.rmsnorm(v, off + h * hd, v, off + h * hd, weight, hd, eps);
}

/**
 * w[i] ← 1 + w[i], in float32: gemma stores its RMSNorm weights as offsets from 1 and computes
 * norm(x) · (1 + w) in float32, which is exactly an RMSNorm with weight fround(1 + w). Loaders call
 * this once; the forward pass then has no gemma case.
 */
export function foldUnitOffset(w: Float32Array): Float32Array {
  for (let i = 0; i < w.length; i++) w[i] = 1 + w[i]!;
  return w;
}
