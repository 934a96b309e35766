// Runs a loaded model with fp16 or Q8 projection matrices: every Linear's weight (and the
// classifier) is quantized once, and the layer body then reads the quantized matrix in place
// through the one weight dispatch (matvecWeights / matmulWeights). The token embedding, norms and
// biases stay as they are (an embedding lookup reads one row; quantizing it saves no time).
import { quantize, type QuantAlloc, type WeightMatrix, type WeightType } from '@msrnn/tensor';
import type { Model } from './model.js';
import type { LayerWeights, Linear, Weights } from './weights.js';

/** A model sharing `model`'s config, scratch and positions, whose projection weights are `type`. */
export function quantizeModel(model: Model, type: WeightType): Model {
  if (type === 'f32') return model;
  const mem = model.backend as typeof model.backend & QuantAlloc;
  const done = new Map<WeightMatrix, WeightMatrix>(); // a matrix used twice is quantized once
  const q = (L: Linear): Linear => {
    let weight = done.get(L.weight);
    if (weight === undefined) {
      weight = L.weight.type === 'f32' ? quantize(type, L.weight.data, L.weight.offset, L.weight.rows, L.weight.cols, mem) : L.weight;
      done.set(L.weight, weight);
    }
    return { weight, bias: L.bias };
  };
  const qOpt = (L: Linear | null): Linear | null => (L === null ? null : q(L));
  const w = model.weights;
  const layers = w.layers.map((L): LayerWeights => ({
    ...L, q: q(L.q), k: q(L.k), v: q(L.v), o: q(L.o), gate: qOpt(L.gate), up: q(L.up), down: q(L.down),
  }));
  const weights: Weights = { ...w, layers, classifier: q(w.classifier) };
  return { ...model, weights, format: `${model.format}, ${type} weights` };
}
