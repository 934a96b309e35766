// Prefill: many tokens through matmuls, chunk by chunk, with exactly step()'s semantics.
//
// Why chunking is exact even for a bounded state: a layer's cache depends only on that layer's
// inputs for the tokens so far. Within a chunk, the projections (QKV, output, FFN) are per-token
// and batched as matrix-matrix products; append / attend / compress still run token by token, in
// order, inside each layer — it is step()'s own layer body (step.ts `layer`) run on t rows. So the
// state and logits match stepping token by token (up to float summation order in the kernels)
// whatever the policy evicts.
import type { MultiState } from '@msrnn/msrnn';
import { checkPromptActivations, type PromptActivations } from '@msrnn/tensor';
import { embed } from './embed.js';
import { logitsRows } from './logits.js';
import { checkRunnable, checkTokens, type Model } from './model.js';
import type { RowBuffers } from './scratch.js';
import { layer } from './step.js';

export interface PrefillOptions {
  /**
   * Tokens per matmul chunk (default 128). A block-quantized matrix is converted to f32 once per
   * chunk for the f32 matmul, so longer chunks spread that cost: SmolLM2-135M-shaped Q4_K_M, 512-token
   * prompt, 1 thread, by CPU time: 138 tok/s at 64, 166 at 128, 186 at 512 (Q8_0: ~200 at each).
   */
  chunkSize?: number;
  /** Called with each position's logits (valid only during the call). Costs a classifier matmul per chunk. */
  onLogits?: (position: number, logits: Float32Array) => void;
  /** Called after each chunk with (tokens done, total). */
  onProgress?: (done: number, total: number) => void;
  /** Where the last position's logits go (default: the model's scratch logits buffer). */
  logitsOut?: Float32Array;
  /**
   * How the chunk's projections treat their activations (default 'exact'). 'q8_0': for Q8_0 and
   * Q4_0 weights on the wasm backend, each row's activations are rounded to int8 per block of 32 (d =
   * max|x|/127) and the products run on integers, as ggml's CPU backend does: faster, but the
   * logits then differ from stepping token by token by that rounding (SmolLM2-135M shape, 512
   * tokens, 1 thread: see packages/tensor/WASM.md). Other weight types, the classifier and the
   * js backend stay exact; decode (step) is unchanged. The policy sees the tokens one by one as
   * in 'exact'.
   */
  activations?: PromptActivations;
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
  checkRunnable(model, state, 'prefill');
  const chunkSize = opts.chunkSize ?? 128;
  const activations = checkPromptActivations(opts.activations ?? 'exact', 'prefill: activations');
  if (!Number.isInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`prefill: chunkSize must be a positive integer, got ${chunkSize}`);
  const c = model.config;
  const logits = opts.logitsOut ?? model.scratch.logits;
  if (logits.length < c.vocabSize) throw new RangeError(`prefill: logitsOut holds ${logits.length} floats, needs ${c.vocabSize}`);

  const rows = Math.min(chunkSize, n);
  const r = model.scratch.chunkBuffers(rows), dim = c.dim;
  // The chunks in order: each through every layer, then the logits asked for.
  for (let start = 0; start < n; start += rows) {
    const t = Math.min(rows, n - start);
    runChunk(model, state, r, tokens, start, t, activations);
    if (opts.onLogits) {
      const all = model.scratch.chunkLogitsBuffer(rows);
      logitsRows(model, all, r.x, 0, t, r.xb);
      const base = state.seen - t;
      for (let i = 0; i < t; i++) opts.onLogits(base + i, all.subarray(i * c.vocabSize, (i + 1) * c.vocabSize));
    }
    if (start + t === n) logitsRows(model, logits, r.x, (t - 1) * dim, 1, r.xb);
    opts.onProgress?.(start + t, n);
  }
  return logits;
}

/** Runs tokens[start, start+t) through every layer (t <= r.rows); leaves the final residual rows in r.x. */
function runChunk(model: Model, state: MultiState, r: RowBuffers, tokens: ArrayLike<number>, start: number, t: number, activations: PromptActivations): void {
  const dim = model.config.dim, position0 = state.seen;
  for (let i = 0; i < t; i++) embed(model, r.x, i * dim, tokens[start + i]!, position0 + i);
  for (let l = 0; l < model.config.nLayers; l++) layer(model, state, l, r, t, activations);
  state.seen = position0 + t;
}
