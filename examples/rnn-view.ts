// The RNN view of a transformer, in three runs of the same text and one step taken apart:
//   (a) the ordinary parallel forward: every position at once, through matrix-matrix products;
//   (b) an unbounded multi-state RNN: one token at a time, state = every (key, value) so far —
//       the same logits as (a);
//   (c) a bounded multi-state RNN (keep the last k entries): constant state size however long
//       the text grows;
//   (d) one step of (c) by hand: step.ts's layer loop with its three RNN operations
//       append / attend / compress as separate calls, and what each did to layer 0's state.
// Run: node scripts/run-ts.mjs examples/rnn-view.ts [--model FILE --tokenizer FILE] [--tokens N]
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { getPolicy } from '@msrnn/policies';
import type { MultiState } from '@msrnn/msrnn';
import {
  append, argmax, attend, compress, createState, embed, linearRows, loadModel, loadTokenizer, logitsRows, normRows, prefill, step,
  type Model, type Tokenizer,
} from '@msrnn/transformer';

export interface RnnViewResult {
  tokens: number;
  /** Largest |logit difference| between (a) the parallel forward and (b) the token-by-token RNN. */
  maxAbsDiff: number;
  /** (tokens seen, bounded state bytes, unbounded state bytes) along the growing text. */
  sizes: { seen: number; bounded: number; unbounded: number; boundedEntries: number; unboundedEntries: number }[];
  window: number;
  /** (d): the hand-written step's largest |logit difference| from step() (0: the same code path). */
  byHandDiff: number;
  /** (d): layer 0's entry count after append and after compress. */
  layer0: { afterAppend: number; afterCompress: number; evicted: number[] };
}

/**
 * One step of `state` spelled out for a llama-shaped model: what step() does through step.ts's
 * `layer`, with the three multi-state RNN operations visible. Returns layer 0's story.
 */
export function stepByHand(model: Model, state: MultiState, token: number, logits: Float32Array): RnnViewResult['layer0'] {
  const c = model.config, B = model.backend, r = model.scratch.one, position = state.seen;
  let layer0: RnnViewResult['layer0'] = { afterAppend: 0, afterCompress: 0, evicted: [] };
  embed(model, r.x, 0, token, position);                           // x = embedding of the token
  for (let l = 0; l < c.nLayers; l++) {
    const L = model.weights.layers[l]!;
    normRows(model, r.xb, r.x, 1, L.attnNorm);                     // h = RMSNorm(x)
    linearRows(B, r.q, r.xb, 1, L.q);                              // q, k, v = projections of h
    linearRows(B, r.k, r.xb, 1, L.k);
    linearRows(B, r.v, r.xb, 1, L.v);
    const before = state.layers[l]!.heads[0]!.keptPositions();
    append(model, state, l, position, r.k, 0, r.v, 0);             // state ← append(state, k, v)
    const afterAppend = state.layers[l]!.maxCount;
    const attention = attend(model, state, l, position, r.q, 0, r.xb2, 0); // out ← attend(q, state)
    compress(state, l, attention);                                 // state ← compress(state, attention)
    const kept = new Set(state.layers[l]!.heads[0]!.keptPositions());
    if (l === 0) layer0 = { afterAppend, afterCompress: state.layers[l]!.maxCount, evicted: [...before, position].filter((p) => !kept.has(p)) };
    linearRows(B, r.xb, r.xb2, 1, L.o);                            // x += o(out)
    B.add(r.x, r.x, r.xb, c.dim);
    normRows(model, r.xb, r.x, 1, L.ffnNorm);                      // x += down(silu(gate(h)) · up(h)), h = RMSNorm(x)
    linearRows(B, r.hb, r.xb, 1, L.gate!);
    linearRows(B, r.hb2, r.xb, 1, L.up);
    B.swiglu(r.hb, r.hb, r.hb2, c.hiddenDim);
    linearRows(B, r.xb, r.hb, 1, L.down);
    B.add(r.x, r.x, r.xb, c.dim);
  }
  logitsRows(model, logits, r.x, 0, 1, r.xb);                      // logits = classifier(RMSNorm(x))
  state.seen = position + 1;
  return layer0;
}

const TEXT = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friend Ben.';

export function rnnView(model: Model, tokenizer: Tokenizer, opts: { totalTokens: number; window: number; log?: (s: string) => void }): RnnViewResult {
  const log = opts.log ?? (() => {});
  const tokens = tokenizer.encode(TEXT);
  const n = tokens.length, vocab = model.config.vocabSize;

  // (a) Parallel: one chunk holding the whole text; keep every position's logits.
  const parallel = new Float32Array(n * vocab);
  prefill(model, createState(model), tokens, { chunkSize: n, onLogits: (pos, l) => parallel.set(l, pos * vocab) });

  // (b) RNN: state_t = f(state_{t-1}, token_t); logits_t = g(state_t).
  const rnn = createState(model);
  let maxAbsDiff = 0;
  for (let t = 0; t < n; t++) {
    const logits = step(model, rnn, tokens[t]!);
    for (let i = 0; i < vocab; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(logits[i]! - parallel[t * vocab + i]!));
  }
  log(`(a) parallel forward and (b) token-by-token RNN over ${n} tokens: max |logit difference| = ${maxAbsDiff.toExponential(2)}`);

  // (c) Bounded RNN: keep the `window` most recent entries per layer. Continue the text greedily
  // far past the window and watch both states.
  const bounded = createState(model, { policy: getPolicy('window', { capacity: opts.window }) });
  const unbounded = createState(model);
  let nextBounded = argmax(prefill(model, bounded, tokens));
  let nextUnbounded = argmax(prefill(model, unbounded, tokens));
  const sizes: RnnViewResult['sizes'] = [];
  const record = () => sizes.push({
    seen: bounded.seen, bounded: bounded.bytes(), unbounded: unbounded.bytes(),
    boundedEntries: bounded.layers[0]!.maxCount, unboundedEntries: unbounded.layers[0]!.maxCount,
  });
  record();
  log(`(c) bounded RNN, window ${opts.window}, vs unbounded, as the text grows:`);
  log('    tokens | bounded: entries/layer  bytes | unbounded: entries/layer  bytes (allocated, doubling)');
  let nextReport = 2 * n;
  while (bounded.seen < opts.totalTokens) {
    nextBounded = argmax(step(model, bounded, nextBounded));
    nextUnbounded = argmax(step(model, unbounded, nextUnbounded));
    if (bounded.seen >= nextReport || bounded.seen === opts.totalTokens) { record(); nextReport *= 2; }
  }
  const col = (x: number, w: number) => String(x).padStart(w);
  for (const s of sizes) {
    log(`    ${col(s.seen, 6)} | ${col(s.boundedEntries, 24)} ${col(s.bounded, 6)} | ${col(s.unboundedEntries, 26)} ${col(s.unbounded, 8)}`);
  }

  // (d) One more step of the bounded state, by hand, beside step() on a copy of the state.
  const copy = bounded.clone();
  const viaStep = step(model, copy, nextBounded).slice();
  const byHand = new Float32Array(vocab);
  const layer0 = stepByHand(model, bounded, nextBounded, byHand);
  let byHandDiff = 0;
  for (let i = 0; i < vocab; i++) byHandDiff = Math.max(byHandDiff, Math.abs(byHand[i]! - viaStep[i]!));
  log(`(d) one step by hand at position ${bounded.seen - 1} (layer 0): append → ${layer0.afterAppend} entries; ` +
    `attend; compress (${bounded.policy.name}) → ${layer0.afterCompress} entries, evicted position ${layer0.evicted.join(', ')}; ` +
    `max |logit difference| from step() = ${byHandDiff.toExponential(2)}`);
  return { tokens: n, maxAbsDiff, sizes, window: opts.window, byHandDiff, layer0 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { model: { type: 'string' }, tokenizer: { type: 'string' }, tokens: { type: 'string', default: '1024' }, window: { type: 'string', default: '32' } },
  });
  const shared = resolve(import.meta.dirname, '../../shared/models');
  const modelPath = values.model ?? resolve(shared, 'stories260K.bin');
  const tokenizerPath = values.tokenizer ?? resolve(shared, 'tok512.bin');
  if (!existsSync(modelPath)) throw new Error(`model ${modelPath} not found; pass --model and --tokenizer`);
  const total = Number(values.tokens), window = Number(values.window);
  if (!Number.isInteger(total) || total <= 0) throw new RangeError(`--tokens must be a positive integer, got ${values.tokens}`);
  if (!Number.isInteger(window) || window <= 0) throw new RangeError(`--window must be a positive integer, got ${values.window}`);
  const model = await loadModel(modelPath);
  const tokenizer = await loadTokenizer(tokenizerPath, { vocabSize: model.config.vocabSize });
  console.log(`model ${modelPath}: ${model.config.nLayers} layers, ${model.config.nKvHeads} KV heads of ${model.config.dim / model.config.nHeads}`);
  rnnView(model, tokenizer, { totalTokens: total, window, log: console.log });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => { console.error(`rnn-view: ${err?.message ?? err}`); process.exit(1); });
}
