// Prefill: many tokens through matmuls, chunk by chunk, with exactly step()'s semantics.
//
// Why chunking is exact even for a bounded state: a layer's cache depends only on that layer's
// inputs for the tokens so far. Within a chunk, the projections (QKV, output, FFN) are per-token
// and batched through matmulT; attention and the policy's eviction still run token by token, in
// order, inside each layer (attendNewToken), exactly as step() does. So the state and logits match
// stepping token by token (up to float summation order in the kernels) whatever the policy evicts.
import type { MultiState } from '@msrnn/msrnn';
import { attendNewToken, copy } from './attention.js';
import { kvDimOf } from './config.js';
import { checkStateFits, checkTokens, type Model } from './model.js';
import type { RowBuffers } from './scratch.js';
import type { LayerWeights } from './weights.js';

export interface PrefillOptions {
  /** Tokens per matmul chunk (default 64). */
  chunkSize?: number;
  /** Called with each position's logits (valid only during the call). Costs a classifier matmul per chunk. */
  onLogits?: (position: number, logits: Float32Array) => void;
  /** Called after each chunk with (tokens done, total). */
  onProgress?: (done: number, total: number) => void;
  /** Where the last position's logits go (default: the model's scratch logits buffer). */
  logitsOut?: Float32Array;
}

/**
 * Consumes `tokens` starting at position state.seen, updating the state IN PLACE, and returns the
 * logits after the last token (same as calling step() for each token). Empty `tokens` is an error.
 * The TOVA code's "fast" prefill (attend the whole prompt, then cut to k) is a policy budget, not
 * a mode here: getPolicy(name, { capacity, evictFrom: promptLength - 1 }) in @msrnn/policies.
 */
export function prefill(model: Model, state: MultiState, tokens: ArrayLike<number>, opts: PrefillOptions = {}): Float32Array {
  const n = tokens.length;
  if (n === 0) throw new RangeError('prefill: no tokens given');
  checkTokens(model, tokens, 'prefill');
  checkStateFits(model, state);
  const chunkSize = opts.chunkSize ?? 64;
  if (!Number.isInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`prefill: chunkSize must be a positive integer, got ${chunkSize}`);
  const c = model.config, w = model.weights, B = model.backend;
  const logits = opts.logitsOut ?? model.scratch.logits;
  if (logits.length < c.vocabSize) throw new RangeError(`prefill: logitsOut holds ${logits.length} floats, needs ${c.vocabSize}`);

  const rows = Math.min(chunkSize, n);
  const r = model.scratch.chunkBuffers(rows);
  const dim = c.dim;
  for (let start = 0; start < n; start += rows) {
    const t = Math.min(rows, n - start);
    runChunk(model, state, r, tokens, start, t);
    if (opts.onLogits) {
      for (let i = 0; i < t; i++) B.rmsnorm(r.xb, i * dim, r.x, i * dim, w.finalNorm, dim, c.normEps);
      const all = model.scratch.chunkLogitsBuffer(rows);
      B.matmulT(all, r.xb, w.classifier, 0, t, c.vocabSize, dim);
      const base = state.seen - t;
      for (let i = 0; i < t; i++) opts.onLogits(base + i, all.subarray(i * c.vocabSize, (i + 1) * c.vocabSize));
    }
    if (start + t === n) {
      const last = (t - 1) * dim;
      B.rmsnorm(r.xb, 0, r.x, last, w.finalNorm, dim, c.normEps);
      B.matvec(logits, 0, w.classifier, 0, r.xb, 0, c.vocabSize, dim);
    }
    opts.onProgress?.(start + t, n);
  }
  return logits;
}

/** Runs tokens[start, start+t) through every layer (t <= r.rows); leaves the final residual rows in r.x. */
function runChunk(model: Model, state: MultiState, r: RowBuffers, tokens: ArrayLike<number>, start: number, t: number): void {
  const c = model.config, w = model.weights, B = model.backend;
  const dim = c.dim, kvDim = kvDimOf(c), hidden = c.hiddenDim, eps = c.normEps;
  const position0 = state.seen;
  for (let i = 0; i < t; i++) {
    const token = tokens[start + i]!;
    copy(r.x, i * dim, w.tokenEmbedding, token * dim, dim);
  }
  for (let l = 0; l < c.nLayers; l++) {
    const L: LayerWeights = w.layers[l]!;
    for (let i = 0; i < t; i++) B.rmsnorm(r.xb, i * dim, r.x, i * dim, L.attNorm, dim, eps);
    B.matmulT(r.q, r.xb, L.wq, 0, t, dim, dim);
    B.matmulT(r.k, r.xb, L.wk, 0, t, kvDim, dim);
    B.matmulT(r.v, r.xb, L.wv, 0, t, kvDim, dim);
    for (let i = 0; i < t; i++) {
      attendNewToken(model, state, l, position0 + i, r.q, i * dim, r.k, i * kvDim, r.v, i * kvDim, r.xb2, i * dim);
    }
    B.matmulT(r.xb, r.xb2, L.wo, 0, t, dim, dim);
    B.add(r.x, r.x, r.xb, t * dim);

    for (let i = 0; i < t; i++) B.rmsnorm(r.xb, i * dim, r.x, i * dim, L.ffnNorm, dim, eps);
    B.matmulT(r.hb, r.xb, L.w1, 0, t, hidden, dim);
    B.matmulT(r.hb2, r.xb, L.w3, 0, t, hidden, dim);
    B.swiglu(r.hb, r.hb, r.hb2, t * hidden);
    B.matmulT(r.xb, r.hb, L.w2, 0, t, dim, hidden);
    B.add(r.x, r.x, r.xb, t * dim);
  }
  state.seen = position0 + t;
}
