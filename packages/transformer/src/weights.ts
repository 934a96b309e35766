// All of a model's parameters live in ONE backend allocation; every tensor is a subarray view
// into it, so a backend that keeps memory elsewhere (WebAssembly) holds the whole model.
import { kvDimOf, type ModelConfig } from './config.js';

export interface LayerWeights {
  /** RMSNorm weight before attention (dim). */
  attNorm: Float32Array;
  /** Query projection, dim rows × dim cols (row-major: out × in). */
  wq: Float32Array;
  /** Key projection, kvDim × dim. */
  wk: Float32Array;
  /** Value projection, kvDim × dim. */
  wv: Float32Array;
  /** Output projection, dim × dim. */
  wo: Float32Array;
  /** RMSNorm weight before the FFN (dim). */
  ffnNorm: Float32Array;
  /** Gate projection, hiddenDim × dim. */
  w1: Float32Array;
  /** Down projection, dim × hiddenDim. */
  w2: Float32Array;
  /** Up projection, hiddenDim × dim. */
  w3: Float32Array;
}

export interface Weights {
  /** The single allocation every view below points into. */
  storage: Float32Array;
  /** vocab × dim. */
  tokenEmbedding: Float32Array;
  layers: LayerWeights[];
  /** dim. */
  finalNorm: Float32Array;
  /** vocab × dim; the same view as tokenEmbedding when the classifier is tied. */
  classifier: Float32Array;
}

export type LayerTensorName = keyof LayerWeights;

/** Element counts of each per-layer tensor. */
export function layerTensorSizes(c: ModelConfig): Record<LayerTensorName, number> {
  const kv = kvDimOf(c);
  return {
    attNorm: c.dim, wq: c.dim * c.dim, wk: kv * c.dim, wv: kv * c.dim, wo: c.dim * c.dim,
    ffnNorm: c.dim, w1: c.hiddenDim * c.dim, w2: c.dim * c.hiddenDim, w3: c.hiddenDim * c.dim,
  };
}

/** Total float32 parameters (counting a tied classifier once). */
export function parameterCount(c: ModelConfig): number {
  const per = Object.values(layerTensorSizes(c)).reduce((a, b) => a + b, 0);
  return c.vocabSize * c.dim * (c.sharedClassifier ? 1 : 2) + c.nLayers * per + c.dim;
}

/** Allocates the storage once (through `alloc`) and carves out zeroed views for every tensor. */
export function allocateWeights(c: ModelConfig, alloc: (n: number) => Float32Array): Weights {
  const storage = alloc(parameterCount(c));
  let at = 0;
  const take = (n: number): Float32Array => {
    const v = storage.subarray(at, at + n);
    at += n;
    return v;
  };
  const sizes = layerTensorSizes(c);
  const tokenEmbedding = take(c.vocabSize * c.dim);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    layers.push({
      attNorm: take(sizes.attNorm), wq: take(sizes.wq), wk: take(sizes.wk), wv: take(sizes.wv), wo: take(sizes.wo),
      ffnNorm: take(sizes.ffnNorm), w1: take(sizes.w1), w2: take(sizes.w2), w3: take(sizes.w3),
    });
  }
  const finalNorm = take(c.dim);
  const classifier = c.sharedClassifier ? tokenEmbedding : take(c.vocabSize * c.dim);
  return { storage, tokenEmbedding, layers, finalNorm, classifier };
}
