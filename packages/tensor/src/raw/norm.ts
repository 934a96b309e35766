// Normalizations over one contiguous vector. `out` may alias `x` at the same offset.

/**
 * RMSNorm: out[i] = w[wOff+i] · x[i] / sqrt(mean(x²) + eps), i < n. A zero vector with eps > 0
 * maps to zeros (not NaN).
 */
export function rmsnorm(out: Float32Array, oOff: number, x: Float32Array, xOff: number,
  w: Float32Array, wOff: number, n: number, eps: number): void {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const a = x[xOff + i]!, b = x[xOff + i + 1]!, c = x[xOff + i + 2]!, d = x[xOff + i + 3]!;
    s0 += a * a; s1 += b * b; s2 += c * c; s3 += d * d;
  }
  for (; i < n; i++) { const a = x[xOff + i]!; s0 += a * a; }
  const inv = 1 / Math.sqrt(((s0 + s1) + (s2 + s3)) / n + eps);
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
