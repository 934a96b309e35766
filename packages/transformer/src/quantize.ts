// Runs a loaded model with fp16 or Q8 projection matrices: every Linear's weight (and the
// classifier) is quantized once, and the layer body then reads the quantized matrix in place
// through the one weight dispatch (matvecWeights / matmulWeights). The token embedding, norms and
// biases stay as they are (an embedding lookup reads one row; quantizing it saves no time).
import { quantize, type WeightMatrix, type WeightType } from '@msrnn/tensor';
import { LoadedModel } from './loaded-model.js';
import type { Model } from './model.js';
import { weightArrays } from './state-io.js';
import type { LayerWeights, Linear, Weights } from './weights.js';

/**
 * A model sharing `model`'s config, scratch and positions, whose projection weights are `type`.
 * It takes `model`'s memory over and gives back the float32 matrices it replaced, so `model`
 * itself can no longer run (a DisposedError says so): quantize a second copy to keep both.
 */
export function quantizeModel(model: Model, type: WeightType): Model {
  model.checkNotDisposed('quantizeModel');
  if (type === 'f32') return model;
  const allocations = model.allocations;
  const done = new Map<WeightMatrix, WeightMatrix>(); // a matrix used twice is quantized once
  const q = (L: Linear): Linear => {
    let weight = done.get(L.weight);
    if (weight === undefined) {
      weight = L.weight.type === 'f32' ? quantize(type, L.weight.data, L.weight.offset, L.weight.rows, L.weight.cols, allocations) : L.weight;
      done.set(L.weight, weight);
    }
    return { weight, bias: L.bias };
  };
  const qOpt = (L: Linear | null): Linear | null => (L === null ? null : q(L));
  const w = model.weights;
  let weights: Weights;
  const held = allocations.count;
  try {
    const layers = w.layers.map((L): LayerWeights => ({
      ...L, q: q(L.q), k: q(L.k), v: q(L.v), o: q(L.o), gate: qOpt(L.gate), up: q(L.up), down: q(L.down),
    }));
    weights = { ...w, layers, classifier: q(w.classifier) };
  } catch (err) {
    // Refused part-way (a weight too large for f16): the model keeps its float32 matrices, so the
    // quantized ones made so far go back rather than sit in its memory until it is disposed.
    allocations.releaseNewest(allocations.count - held);
    throw err;
  }
  // The float32 originals nothing uses any more (a tied classifier's is still the embedding).
  const kept = new Set(weightArrays(weights));
  for (const original of done.keys()) {
    if (original.type === 'f32' && !kept.has(original.data) && allocations.has(original.data)) {
      allocations.release(original.data);
      kept.add(original.data); // a matrix sliced from a fused tensor shares its array: release it once
    }
  }
  const { config, backend, source, metadata, scratch, positions } = model;
  const quantized = new LoadedModel({ config, weights, backend, source, format: `${model.format}, ${type} weights`, metadata, allocations, scratch, positions });
  if (model instanceof LoadedModel) model.handOver(`was quantized to ${type} by quantizeModel, which took its memory over; use the model it returned`);
  return quantized;
}
