// A model's parameters, by role. Every projection is a WeightMatrix (@msrnn/tensor: f32, f16, q8,
// and the GGUF block types), used in place by one dispatch (matvecWeights / matmulWeights): a
// quantized model keeps no float32 copy. Norm weights, biases and the learned position table are
// small and stay float32. A weight an architecture does not have is null; the layer body calls
// the piece that uses it only when it is there (see arch.ts for the variations this covers).
import type { WeightMatrix } from '@msrnn/tensor';

/** y = W x (+ bias): W is out × in, row-major. */
export interface Linear {
  weight: WeightMatrix;
  /** out floats, or null. */
  bias: Float32Array | null;
}

/** RMSNorm weight, or LayerNorm weight and bias (config.arch.norm says which). */
export interface Norm {
  weight: Float32Array;
  bias: Float32Array | null;
}

export interface LayerWeights {
  /** Before attention (dim). */
  attnNorm: Norm;
  /** nHeads·headDim × dim. */
  q: Linear;
  /** nKvHeads·headDim × dim. */
  k: Linear;
  v: Linear;
  /** Per-head RMSNorm over headDim on q and on k, before RoPE (qwen3), or null. */
  qNorm: Float32Array | null;
  kNorm: Float32Array | null;
  /** Attention output projection, dim × nHeads·headDim. */
  o: Linear;
  /** Norm of the attention output before the residual add (gemma2), or null. */
  postAttnNorm: Norm | null;
  /** Before the feed-forward block (dim). */
  ffnNorm: Norm;
  /** hiddenDim × dim; null for a plain (ungated) MLP such as GPT-2's. */
  gate: Linear | null;
  /** hiddenDim × dim. */
  up: Linear;
  /** dim × hiddenDim. */
  down: Linear;
  /** Norm of the FFN output before the residual add (gemma2), or null. */
  postFfnNorm: Norm | null;
}

export interface Weights {
  /** vocab × dim; rows are read with dequantizeRow. */
  tokenEmbedding: WeightMatrix;
  /** Learned absolute positions (gpt2's wpe), maxPositions × dim, or null. */
  positionEmbedding: Float32Array | null;
  layers: LayerWeights[];
  finalNorm: Norm;
  /** vocab × dim; its weight is the token embedding's when they are tied. */
  classifier: Linear;
}

export const linear = (weight: WeightMatrix, bias: Float32Array | null = null): Linear => ({ weight, bias });
export const norm = (weight: Float32Array, bias: Float32Array | null = null): Norm => ({ weight, bias });

/** Parameters in `w` (a tied classifier counted once). */
export function parameterCount(w: Weights): number {
  const m = (x: WeightMatrix): number => x.rows * x.cols;
  const lin = (x: Linear | null): number => (x ? m(x.weight) + (x.bias?.length ?? 0) : 0);
  const nrm = (x: Norm | null): number => (x ? x.weight.length + (x.bias?.length ?? 0) : 0);
  let n = m(w.tokenEmbedding) + (w.positionEmbedding?.length ?? 0) + nrm(w.finalNorm);
  n += w.classifier.weight === w.tokenEmbedding ? (w.classifier.bias?.length ?? 0) : lin(w.classifier);
  for (const L of w.layers) {
    n += nrm(L.attnNorm) + lin(L.q) + lin(L.k) + lin(L.v) + (L.qNorm?.length ?? 0) + (L.kNorm?.length ?? 0) + lin(L.o);
    n += nrm(L.postAttnNorm) + nrm(L.ffnNorm) + lin(L.gate) + lin(L.up) + lin(L.down) + nrm(L.postFfnNorm);
  }
  return n;
}
