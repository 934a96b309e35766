// Normalizations over one contiguous vector. `out` may alias `x` at the same offset.
import { dot } from './linalg.js';

/**
 * RMSNorm: out[i] = w[wOff+i] · x[i] / sqrt(mean(x²) + eps), i < n. A zero vector with eps > 0
 * maps to zeros (not NaN).
 */
export function rmsnorm(out: Float32Array, oOff: number, x: Float32Array, xOff: number,
  w: Float32Array, wOff: number, n: number, eps: number): void {
  const inv = 1 / Math.sqrt(dot(x, xOff, x, xOff, n) / n + eps);
  for (let j = 0; j < n; j++) out[oOff + j] = w[wOff + j]! * (x[xOff + j]! * inv);
}

/**
 * LayerNorm: out[i] = (x[i] - mean) / sqrt(var + eps) · w[i] + b[i] (b = null: no bias), with the
 * mean and the (biased) variance from two passes, so large offsets do not cancel catastrophically.
 */
export function layernorm(out: Float32Array, oOff: number, x: Float32Array, xOff: number,
  w: Float32Array, wOff: number, b: Float32Array | null, bOff: number, n: number, eps: number): void {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += x[xOff + i]!;
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) { const d = x[xOff + i]! - mean; sq += d * d; }
  const inv = 1 / Math.sqrt(sq / n + eps);
  if (b === null) {
    for (let i = 0; i < n; i++) out[oOff + i] = (x[xOff + i]! - mean) * inv * w[wOff + i]!;
  } else {
    for (let i = 0; i < n; i++) out[oOff + i] = (x[xOff + i]! - mean) * inv * w[wOff + i]! + b[bOff + i]!;
  }
}
