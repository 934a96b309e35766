// Numerically stable softmax, in place.

/**
 * x[xOff+i] ← exp(x[i] - max) / Σ exp(x[j] - max), i < n. Subtracting the max keeps every exp in
 * (0, 1], so inputs like ±1e4 neither overflow nor underflow to an all-zero sum. +∞ entries share
 * the mass; a row that is entirely -∞ has no defined softmax and becomes NaN (as in PyTorch).
 */
export function softmax(x: Float32Array, xOff: number, n: number): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) { const v = x[xOff + i]!; if (v > max) max = v; }
  let sum = 0;
  if (max === Infinity) {
    for (let i = 0; i < n; i++) { const e = x[xOff + i] === Infinity ? 1 : 0; x[xOff + i] = e; sum += e; }
  } else {
    for (let i = 0; i < n; i++) { const e = Math.exp(x[xOff + i]! - max); x[xOff + i] = e; sum += e; }
  }
  const inv = 1 / sum;
  for (let i = 0; i < n; i++) x[xOff + i] = x[xOff + i]! * inv;
}
