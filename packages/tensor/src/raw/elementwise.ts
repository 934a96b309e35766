// Elementwise kernels on raw Float32Arrays with element offsets. `out` may alias an input at
// the same offset (in-place use); partial overlap at different offsets is not supported.

/** out[i] = a[i] + b[i], i < n. */
export function add(out: Float32Array, oOff: number, a: Float32Array, aOff: number,
  b: Float32Array, bOff: number, n: number): void {
  for (let i = 0; i < n; i++) out[oOff + i] = a[aOff + i]! + b[bOff + i]!;
}

/** out[i] = a[i] · b[i], i < n. */
export function mul(out: Float32Array, oOff: number, a: Float32Array, aOff: number,
  b: Float32Array, bOff: number, n: number): void {
  for (let i = 0; i < n; i++) out[oOff + i] = a[aOff + i]! * b[bOff + i]!;
}

/** out[i] = s · a[i], i < n. */
export function scale(out: Float32Array, oOff: number, a: Float32Array, aOff: number, s: number, n: number): void {
  for (let i = 0; i < n; i++) out[oOff + i] = s * a[aOff + i]!;
}

/** out[i] = x[i] · sigmoid(x[i]), i < n. Saturates cleanly: exp overflow gives x/∞ = -0 for very negative x. */
export function silu(out: Float32Array, oOff: number, x: Float32Array, xOff: number, n: number): void {
  for (let i = 0; i < n; i++) { const v = x[xOff + i]!; out[oOff + i] = v / (1 + Math.exp(-v)); }
}

/** out[i] = silu(gate[i]) · up[i], i < n (the SwiGLU feed-forward gate). */
export function swiglu(out: Float32Array, oOff: number, gate: Float32Array, gOff: number,
  up: Float32Array, uOff: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = gate[gOff + i]!;
    out[oOff + i] = (g / (1 + Math.exp(-g))) * up[uOff + i]!;
  }
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation (GPT-2, "gelu_new"): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluTanh(out: Float32Array, oOff: number, x: Float32Array, xOff: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[xOff + i]!;
    out[oOff + i] = 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)));
  }
}

const INV_SQRT_2 = Math.SQRT1_2;

/** GELU, exact form (BERT, PyTorch default): x·Φ(x) = 0.5·x·erfc(-x/√2). */
export function geluErf(out: Float32Array, oOff: number, x: Float32Array, xOff: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[xOff + i]!;
    out[oOff + i] = 0.5 * v * erfc(-v * INV_SQRT_2);
  }
}

/**
 * Complementary error function with relative error below 1.2e-7 everywhere (Chebyshev fit,
 * Numerical Recipes §6.2), i.e. at float32 precision. Using erfc (not 1 + erf) keeps GELU's
 * tiny negative-side values accurate instead of cancelling to 0.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

/** Error function at float32 precision (see erfc). */
export function erf(x: number): number {
  return 1 - erfc(x);
}
