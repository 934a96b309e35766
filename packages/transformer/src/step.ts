// The transformer as an RNN: one token in, logits out, the multi-state updated IN PLACE.
// Use state.clone() first to branch.
import type { MultiState } from '@msrnn/msrnn';
import { attendNewToken, copy } from './attention.js';
import { kvDimOf } from './config.js';
import { checkStateFits, checkToken, type Model } from './model.js';
import type { LayerWeights } from './weights.js';

/**
 * Consumes `token` at position state.seen: appends one entry per layer (per KV head), lets the
 * state's policy evict, increments state.seen, and returns the next-token logits (vocab floats).
 * The logits go to `logitsOut` when given, else to a model-owned buffer that the next call overwrites.
 */
export function step(model: Model, state: MultiState, token: number, logitsOut?: Float32Array): Float32Array {
  checkToken(model, token);
  checkStateFits(model, state);
  const c = model.config, w = model.weights, B = model.backend, r = model.scratch.one;
  const dim = c.dim, kvDim = kvDimOf(c), hidden = c.hiddenDim, eps = c.normEps;
  const position = state.seen;
  const logits = logitsOut ?? model.scratch.logits;
  if (logits.length < c.vocabSize) throw new RangeError(`logitsOut holds ${logits.length} floats, needs ${c.vocabSize}`);

  copy(r.x, 0, w.tokenEmbedding, token * dim, dim);
  for (let l = 0; l < c.nLayers; l++) {
    const L: LayerWeights = w.layers[l]!;
    B.rmsnorm(r.xb, 0, r.x, 0, L.attNorm, dim, eps);
    B.matvec(r.q, 0, L.wq, 0, r.xb, 0, dim, dim);
    B.matvec(r.k, 0, L.wk, 0, r.xb, 0, kvDim, dim);
    B.matvec(r.v, 0, L.wv, 0, r.xb, 0, kvDim, dim);
    attendNewToken(model, state, l, position, r.q, 0, r.k, 0, r.v, 0, r.xb2, 0);
    B.matvec(r.xb, 0, L.wo, 0, r.xb2, 0, dim, dim);
    B.add(r.x, r.x, r.xb, dim);

    B.rmsnorm(r.xb, 0, r.x, 0, L.ffnNorm, dim, eps);
    B.matvec(r.hb, 0, L.w1, 0, r.xb, 0, hidden, dim);
    B.matvec(r.hb2, 0, L.w3, 0, r.xb, 0, hidden, dim);
    B.swiglu(r.hb, r.hb, r.hb2, hidden);
    B.matvec(r.xb, 0, L.w2, 0, r.hb, 0, dim, hidden);
    B.add(r.x, r.x, r.xb, dim);
  }
  B.rmsnorm(r.x, 0, r.x, 0, w.finalNorm, dim, eps);
  B.matvec(logits, 0, w.classifier, 0, r.x, 0, c.vocabSize, dim);
  state.seen = position + 1;
  return logits;
}
