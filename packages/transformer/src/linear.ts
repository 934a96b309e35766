// A projection y = W x (+ b) over t rows at once, for any weight type: one row is a matvec (the
// decode path), a chunk of rows a matrix-matrix product (prefill). The weights are used in place
// (f32, f16, q8 or GGUF blocks); the type dispatch lives in @msrnn/tensor (matvecWeights).
import { matmulWeights, matvecWeights, matvecWeightsShared, type Backend, type PromptActivations } from '@msrnn/tensor';
import type { Linear } from './weights.js';

/**
 * out[i] = W · x[i] (+ bias) for rows i < t; x rows are W.cols apart, out rows W.rows apart.
 * `activations` applies to the products over several rows (matmulWeights; one row is a decode step's matvec).
 */
export function linearRows(B: Backend, out: Float32Array, x: Float32Array, t: number, L: Linear, activations: PromptActivations = 'exact'): void {
  if (t === 1) matvecWeights(B, out, 0, L.weight, x, 0);
  else matmulWeights(B, out, x, t, L.weight, activations);
  if (L.bias !== null) addBias(out, t, L.bias);
}

/**
 * linearRows for two or three projections of the same rows x (q/k/v, gate/up). For one row (the
 * decode path) the backend may run them as one job (matvecWeightsShared); same numbers either way.
 */
export function linearRowsShared(B: Backend, x: Float32Array, t: number, out0: Float32Array, L0: Linear, out1: Float32Array, L1: Linear,
  out2: Float32Array | null = null, L2: Linear | null = null, activations: PromptActivations = 'exact'): void {
  if (t !== 1) {
    linearRows(B, out0, x, t, L0, activations);
    linearRows(B, out1, x, t, L1, activations);
    if (L2 !== null) linearRows(B, out2!, x, t, L2, activations);
    return;
  }
  matvecWeightsShared(B, x, 0, out0, L0.weight, out1, L1.weight, out2, L2 === null ? null : L2.weight);
  if (L0.bias !== null) addBias(out0, 1, L0.bias);
  if (L1.bias !== null) addBias(out1, 1, L1.bias);
  if (L2 !== null && L2.bias !== null) addBias(out2!, 1, L2.bias);
}

/** out[i*n + j] += bias[j] for rows i < t (n = bias.length): qwen2's q/k/v biases, GPT-2's everywhere. */
export function addBias(out: Float32Array, t: number, bias: Float32Array): void {
  const n = bias.length;
  for (let i = 0; i < t; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) out[row + j] = out[row + j]! + bias[j]!;
  }
}
