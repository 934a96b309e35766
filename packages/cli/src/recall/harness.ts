// Accuracy of a model on the recall tasks under a policy: an example counts as solved when every
// answer token is the argmax given the exact prefix (teacher-forced greedy, as tools/train/recall.py
// measures it), with the state bounded by the policy all along (exact per-token eviction).
import type { Policy } from '@msrnn/msrnn';
import { getPolicy } from '@msrnn/policies';
import type { KvType } from '@msrnn/tensor';
import { argmax, createState, prefill, type Model, type Tokenizer } from '@msrnn/transformer';
import { encodeExample, type EncodedExample } from './encode.js';
import { assocExample, needleExample, passkeyExample, TaskRng, type RecallExample, type RecallTaskName } from './tasks.js';

export interface RecallCase { task: RecallTaskName; length: number; depth: number; example: number; encoded: EncodedExample }

/** A grid of examples: each task at each size and depth, `perCell` examples per cell, from one seed. */
export function makeCases(tokenizer: Tokenizer, opts: { tasks: RecallTaskName[]; sizes: number[]; depths: number[]; perCell: number; seed: number; haystack: string; maxTokens: number }): RecallCase[] {
  const rng = new TaskRng(opts.seed);
  const cases: RecallCase[] = [];
  for (const task of opts.tasks) {
    for (const size of opts.sizes) {
      for (const depth of opts.depths) {
        for (let e = 0; e < opts.perCell; e++) {
          // size = target tokens: ~8 per pair, ~26 per filler paragraph, ~3 characters per token of book text
          const ex: RecallExample = task === 'assoc' ? assocExample(rng, { pairs: Math.max(1, Math.round(size / 8)), depth })
            : task === 'passkey' ? passkeyExample(rng, { fillers: Math.max(0, Math.round(size / 26) - 1), depth })
            : needleExample(rng, opts.haystack, { chars: Math.max(0, size * 3 - 100), depth });
          const encoded = encodeExample(tokenizer, ex);
          if (encoded.ids.length > opts.maxTokens) {
            throw new Error(`${task} example of size ${size} has ${encoded.ids.length} tokens, more than the model's context ${opts.maxTokens}`);
          }
          cases.push({ task, length: size, depth, example: e, encoded });
        }
      }
    }
  }
  return cases;
}

/** True when the model, under `policy`, predicts every answer token of the case. */
export function solves(model: Model, policy: Policy, c: RecallCase, kv: KvType = 'f32'): boolean {
  const { ids, answerFrom } = c.encoded;
  const state = createState(model, { policy, kv });
  let ok = true;
  prefill(model, state, ids.slice(0, ids.length - 1), {
    onLogits(position, logits) {
      if (position + 1 >= answerFrom && argmax(logits, model.config.vocabSize) !== ids[position + 1]) ok = false;
    },
  });
  return ok;
}

export interface RecallResult { task: RecallTaskName; policy: string; capacity: number; length: number; depth: number; solved: number; total: number }

/** Every case under every policy × capacity (the full cache once), grouped by task, size and depth. */
export function runRecall(model: Model, cases: RecallCase[], policies: string[], capacities: number[], kv: KvType = 'f32'): RecallResult[] {
  const results = new Map<string, RecallResult>();
  const runs: [string, number][] = [];
  for (const p of policies) {
    if (p === 'full') runs.push(['full', Infinity]);
    else for (const k of capacities) runs.push([p, k]);
  }
  for (const [name, capacity] of runs) {
    const policy = name === 'full' ? getPolicy('full') : getPolicy(name, { capacity });
    for (const c of cases) {
      const key = `${c.task}|${name}|${capacity}|${c.length}|${c.depth}`;
      let r = results.get(key);
      if (!r) results.set(key, r = { task: c.task, policy: name, capacity, length: c.length, depth: c.depth, solved: 0, total: 0 });
      r.total++;
      if (solves(model, policy, c, kv)) r.solved++;
    }
  }
  return [...results.values()];
}
