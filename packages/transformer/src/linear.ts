// A projection y = W x (+ b) over t rows at once, for any weight type: one row is a matvec (the
// decode path), a chunk of rows a matrix-matrix product (prefill). The weights are used in place
// (f32, f16, q8 or GGUF blocks); the type dispatch lives in @msrnn/tensor (matvecWeights).
import { matmulWeights, matvecWeights, type Backend } from '@msrnn/tensor';
import type { Linear } from './weights.js';

/** out[i] = W · x[i] (+ bias) for rows i < t; x rows are W.cols apart, out rows W.rows apart. */
export function linearRows(B: Backend, out: Float32Array, x: Float32Array, t: number, L: Linear): void {
  if (t === 1) matvecWeights(B, out, 0, L.weight, x, 0);
  else matmulWeights(B, out, x, t, L.weight);
  if (L.bias !== null) addBias(out, t, L.bias);
}

/** out[i*n + j] += bias[j] for rows i < t (n = bias.length): qwen2's q/k/v biases, GPT-2's everywhere. */
export function addBias(out: Float32Array, t: number, bias: Float32Array): void {
  const n = bias.length;
  for (let i = 0; i < t; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) out[row + j] = out[row + j]! + bias[j]!;
  }
}
