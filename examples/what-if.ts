// "What if" prompts from one shared prefix: the prefix runs once through a bounded multi-state,
// then state.clone() branches it, and each branch continues with its own ending — an RNN state is
// a value you can copy. The prefix's state is also saved and restored (state.save() / restoreState)
// to show that a branch point can be kept on disk, its file size fixed by the budget.
// Run: node scripts/run-ts.mjs examples/what-if.ts [--model FILE --tokenizer FILE] [--capacity K]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { getPolicy } from '@msrnn/policies';
import type { MultiState } from '@msrnn/msrnn';
import { argmax, createState, loadModel, loadTokenizer, restoreState, step, type Model, type Tokenizer } from '@msrnn/transformer';

export interface Branch {
  ending: string;
  /** Greedy continuation token ids after the ending. */
  tokens: number[];
  text: string;
}

export interface WhatIfResult {
  prefix: string;
  branches: Branch[];
  /** Bytes of the saved prefix state. */
  savedBytes: number;
}

/** Feeds `tokens` one step at a time; returns the last step's logits (a copy). */
function feed(model: Model, state: MultiState, tokens: readonly number[]): Float32Array {
  let logits: Float32Array = new Float32Array(0);
  for (const t of tokens) logits = step(model, state, t);
  return logits.slice();
}

/** Greedy continuation of `n` tokens from `logits`, stepping `state`. */
function greedy(model: Model, state: MultiState, logits: Float32Array, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = argmax(logits, model.config.vocabSize);
    if (t < 0) throw new Error('what-if: the logits are all NaN');
    out.push(t);
    logits = step(model, state, t).slice();
  }
  return out;
}

/** Branches the prefix's state once per ending (clones), continuing each greedily for `steps` tokens. */
export function whatIf(model: Model, tokenizer: Tokenizer, prefix: string, endings: readonly string[], opts: { capacity?: number; steps?: number } = {}): WhatIfResult {
  const policy = getPolicy('tova', { capacity: opts.capacity ?? 32 });
  const shared = createState(model, { policy });
  feed(model, shared, tokenizer.encode(prefix));
  // The branch point, kept as bytes (it could be written to a file and continued elsewhere).
  const saved = shared.save();
  const branches = endings.map((ending) => {
    const branch = restoreState(model, saved).state.clone(); // restored, then cloned: either is a full copy
    const endingTokens = tokenizer.encode(ending, { bos: false });
    const logits = feed(model, branch, endingTokens);
    const tokens = greedy(model, branch, logits, opts.steps ?? 24);
    return { ending, tokens, text: tokenizer.decode(tokens) };
  });
  return { prefix, branches, savedBytes: saved.length };
}

async function main(): Promise<void> {
  const here = import.meta.dirname;
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: resolve(here, '../../shared/models/stories260K.bin') },
      tokenizer: { type: 'string', default: resolve(here, '../../shared/models/tok512.bin') },
      capacity: { type: 'string', default: '32' },
    },
  });
  const capacity = Number(values.capacity);
  if (!Number.isInteger(capacity) || capacity <= 0) throw new Error(`--capacity must be a positive integer, got ${values.capacity}`);
  const model = await loadModel(values.model!);
  const tokenizer = await loadTokenizer(values.tokenizer!);
  const r = whatIf(model, tokenizer, 'Once upon a time, there was a little', [' girl', ' dog', ' boy who'], { capacity });
  console.log(`prefix: "${r.prefix}" (its state saved: ${r.savedBytes} bytes, TOVA k=${capacity})`);
  for (const b of r.branches) console.log(`  what if "${b.ending}" →${b.text.replace(/\n/g, ' ')}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
