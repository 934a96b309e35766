// The recall model's training examples: a seeded mix of the three tasks at random lengths, written as
// <out>.bin (uint16 little-endian token ids, examples back to back) and <out>.json (the index:
// task, offset, length, answerFrom, depth per example). tools/train/recall.py reads exactly this.
import { writeFileSync } from 'node:fs';
import type { Tokenizer } from '@msrnn/transformer';
import { encodeExample, type EncodedExample } from './encode.js';
import { assocExample, needleExample, passkeyExample, recallTaskNames, TaskRng, type RecallExample, type RecallTaskName } from './tasks.js';

export const TRAINING_FORMAT = 'msrnn-recall-v1';

export interface TrainingDataOptions {
  count: number;
  seed: number;
  /** Longest example in tokens (BOS included); longer draws are drawn again. */
  maxTokens: number;
  /** Book text for the needle task's haystacks. */
  haystack: string;
}

export interface IndexEntry { task: RecallTaskName; offset: number; length: number; answerFrom: number; depth: number }

/** One training draw of `task`, at a random length that fits maxTokens about 9 times in 10. */
export function drawTrainingExample(rng: TaskRng, task: RecallTaskName, maxTokens: number, haystack: string): RecallExample {
  switch (task) {
    case 'assoc': {
      const pairs = rng.int(2, Math.max(2, Math.floor(maxTokens / 8)));
      return assocExample(rng, { pairs, queries: rng.int(1, Math.min(8, pairs)) });
    }
    case 'passkey':
      return passkeyExample(rng, { fillers: rng.int(0, Math.max(0, Math.floor(maxTokens / 26) - 1)) });
    case 'needle':
      return needleExample(rng, haystack, { chars: rng.int(0, Math.max(0, maxTokens * 3 - 100)) });
  }
}

export function makeTrainingData(tokenizer: Tokenizer, opts: TrainingDataOptions): { ids: Uint16Array; index: IndexEntry[] } {
  if (tokenizer.vocabSize > 65536) throw new Error(`the tokenizer has ${tokenizer.vocabSize} pieces; uint16 training files hold at most 65536`);
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new RangeError(`count must be a positive integer, got ${String(opts.count)}`);
  if (!Number.isInteger(opts.maxTokens) || opts.maxTokens < 32) throw new RangeError(`maxTokens must be an integer >= 32, got ${String(opts.maxTokens)}`);
  const rng = new TaskRng(opts.seed);
  const encoded: EncodedExample[] = [];
  const index: IndexEntry[] = [];
  let offset = 0;
  for (let i = 0; i < opts.count; i++) {
    const task = recallTaskNames[i % recallTaskNames.length]!;
    let e: EncodedExample;
    let ex: RecallExample;
    let tries = 0;
    do {
      if (++tries > 100) throw new Error(`${task}: no example of at most ${opts.maxTokens} tokens in 100 draws`);
      ex = drawTrainingExample(rng, task, opts.maxTokens, opts.haystack);
      e = encodeExample(tokenizer, ex);
    } while (e.ids.length > opts.maxTokens);
    encoded.push(e);
    index.push({ task, offset, length: e.ids.length, answerFrom: e.answerFrom, depth: Math.round(ex.depth * 1e4) / 1e4 });
    offset += e.ids.length;
  }
  const ids = new Uint16Array(offset);
  let at = 0;
  for (const e of encoded) { ids.set(e.ids, at); at += e.ids.length; }
  return { ids, index };
}

export function writeTrainingData(out: string, data: { ids: Uint16Array; index: IndexEntry[] }, info: Record<string, unknown>): void {
  const bytes = new Uint8Array(data.ids.length * 2);
  const dv = new DataView(bytes.buffer);
  data.ids.forEach((id, i) => dv.setUint16(2 * i, id, true));
  writeFileSync(`${out}.bin`, bytes);
  writeFileSync(`${out}.json`, JSON.stringify({ format: TRAINING_FORMAT, ...info, tokens: data.ids.length, examples: data.index }) + '\n');
}
