// The RNN view of a transformer, in three runs of the same text:
//   (a) the ordinary parallel forward: every position at once, through matrix-matrix products;
//   (b) an unbounded multi-state RNN: one token at a time, state = every (key, value) so far —
//       the same logits as (a);
//   (c) a bounded multi-state RNN (keep the last k entries): constant state size however long
//       the text grows.
// Run: node scripts/run-ts.mjs examples/rnn-view.ts [--model FILE --tokenizer FILE] [--tokens N]
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { getPolicy } from '@msrnn/policies';
import { argmax, createState, loadModel, loadTokenizer, prefill, step, type Model, type Tokenizer } from '@msrnn/transformer';

export interface RnnViewResult {
  tokens: number;
  /** Largest |logit difference| between (a) the parallel forward and (b) the token-by-token RNN. */
  maxAbsDiff: number;
  /** (tokens seen, bounded state bytes, unbounded state bytes) along the growing text. */
  sizes: { seen: number; bounded: number; unbounded: number; boundedEntries: number; unboundedEntries: number }[];
  window: number;
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
  return { tokens: n, maxAbsDiff, sizes, window: opts.window };
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
