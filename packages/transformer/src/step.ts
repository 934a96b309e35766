// The transformer as an RNN: one token in, logits out, the multi-state updated IN PLACE.
// Use state.clone() first to branch. `layer` below is THE layer body: step runs it on one row,
// prefill on a chunk of rows; an architecture change happens there and nowhere else.
import type { MultiState } from '@msrnn/msrnn';
import type { PromptActivations } from '@msrnn/tensor';
import { activation, gatedActivation } from './activation.js';
import { attendChunk } from './chunk-attention.js';
import { embed } from './embed.js';
import { linearRows, linearRowsShared } from './linear.js';
import { logitsRows } from './logits.js';
import { checkRunnable, checkToken, type Model } from './model.js';
import { headNorm, normRows } from './norm.js';
import type { RowBuffers } from './scratch.js';

/**
 * Consumes `token` at position state.seen: appends one entry per layer (per KV head), lets the
 * state's policy evict, increments state.seen, and returns the next-token logits (vocab floats).
 * The logits go to `logitsOut` when given, else to a model-owned buffer that the next call overwrites.
 */
export function step(model: Model, state: MultiState, token: number, logitsOut?: Float32Array): Float32Array {
  checkToken(model, token);
  checkRunnable(model, state, 'step');
  const c = model.config, r = model.scratch.one;
  const logits = logitsOut ?? model.scratch.logits;
  if (logits.length < c.vocabSize) throw new RangeError(`logitsOut holds ${logits.length} floats, needs ${c.vocabSize}`);

  embed(model, r.x, 0, token, state.seen);
  for (let l = 0; l < c.nLayers; l++) layer(model, state, l, r, 1);
  logitsRows(model, logits, r.x, 0, 1, r.xb);
  state.seen += 1;
  return logits;
}

/**
 * One transformer layer over t consecutive tokens (positions state.seen .. state.seen+t-1) whose
 * residual rows are r.x[0 .. t·dim): updates r.x and layer l's state in place. Projections run on
 * all t rows at once; the tokens enter the state one by one, in order, exactly as t steps would.
 * `activations`: how the projections treat their activations (prefill's option; step's row stays 'exact').
 */
export function layer(model: Model, state: MultiState, l: number, r: RowBuffers, t: number, activations: PromptActivations = 'exact'): void {
  const c = model.config, B = model.backend, L = model.weights.layers[l]!;
  const dim = c.dim;

  // Attention block: x += o(attention(norm(x))).
  normRows(model, r.xb, r.x, t, L.attnNorm);
  linearRowsShared(B, r.xb, t, r.q, L.q, r.k, L.k, r.v, L.v, activations);
  if (L.qNorm !== null) headNorm(model, r.q, 0, t * c.nHeads, L.qNorm);
  if (L.kNorm !== null) headNorm(model, r.k, 0, t * c.nKvHeads, L.kNorm);
  // Token by token: state ← append(state, k, v); out ← attend(q, state); state ← compress(state, attention)
  // (a chunk's queries attend at once while nothing can be evicted, see chunk-attention.ts).
  attendChunk(model, state, l, r, t);
  linearRows(B, r.xb, r.xb2, t, L.o, activations);
  if (L.postAttnNorm !== null) normRows(model, r.xb, r.xb, t, L.postAttnNorm);
  B.add(r.x, r.x, r.xb, t * dim);

  // Feed-forward block: x += down(act(gate(h)) · up(h)), h = norm(x); no gate: down(act(up(h))).
  normRows(model, r.xb, r.x, t, L.ffnNorm);
  const hidden = t * c.hiddenDim, act = c.arch.activation;
  if (L.gate !== null) {
    linearRowsShared(B, r.xb, t, r.hb, L.gate, r.hb2, L.up, null, null, activations);
    gatedActivation(B, act, r.hb, r.hb, r.hb2, hidden);
  } else {
    linearRows(B, r.hb, r.xb, t, L.up, activations);
    activation(act, r.hb, hidden);
  }
  linearRows(B, r.xb, r.hb, t, L.down, activations);
  if (L.postFfnNorm !== null) normRows(model, r.xb, r.xb, t, L.postFfnNorm);
  B.add(r.x, r.x, r.xb, t * dim);
}
