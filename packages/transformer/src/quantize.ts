// Runs a loaded model with fp16 or Q8 weight matrices (token embedding lookups and norms stay f32).
// The model code is unchanged: its backend is wrapped so matvecs on weight views use quantized copies.
import { quantizedBackend, type WeightType } from '@msrnn/tensor';
import { kvDimOf } from './config.js';
import type { Model } from './model.js';

/** A model sharing `model`'s weights, scratch and positions, whose projections run in `type`. */
export function quantizeModel(model: Model, type: WeightType): Model {
  if (type === 'f32') return model;
  const c = model.config, kv = kvDimOf(c);
  const matrices = model.weights.layers.flatMap((L) => [
    { view: L.wq, rows: c.dim, cols: c.dim }, { view: L.wk, rows: kv, cols: c.dim }, { view: L.wv, rows: kv, cols: c.dim },
    { view: L.wo, rows: c.dim, cols: c.dim }, { view: L.w1, rows: c.hiddenDim, cols: c.dim },
    { view: L.w2, rows: c.dim, cols: c.hiddenDim }, { view: L.w3, rows: c.hiddenDim, cols: c.dim },
  ]);
  matrices.push({ view: model.weights.classifier, rows: c.vocabSize, cols: c.dim });
  return { ...model, backend: quantizedBackend(model.backend, matrices, type), format: `${model.format}, ${type} weights` };
}
