// Where a bounded state loses the fact a recall task needs: under a policy, does each layer's KV head
// still hold the fact's tokens when the answer is predicted? The fact = what an induction head copies
// from: the earlier occurrence of the answer with the longest context before it (up to 8 tokens) that
// occurs exactly once: ` k17=3` for associative recall, `The pass key is 71234` for passkey.
import type { Policy } from '@msrnn/msrnn';
import type { Model } from '@msrnn/transformer';
import { recordTrace, keptAfter, type Trace } from '../trace/record.js';
import type { RecallCase } from './harness.js';

const MAX_CONTEXT = 8;

/** Positions of the fact in the example's ids (its earlier-unique context match and answer). */
export function factPositions(c: RecallCase): number[] {
  const { ids, answerFrom } = c.encoded;
  let best: number[] = [];
  for (let context = 1; context < answerFrom && context <= MAX_CONTEXT; context++) {
    const pattern = ids.slice(answerFrom - context);
    const starts: number[] = [];
    for (let s = 0; s + pattern.length <= answerFrom; s++) {
      if (pattern.every((id, i) => ids[s + i] === id)) starts.push(s);
    }
    if (starts.length === 0) break; // a longer context cannot match either
    if (starts.length === 1) best = Array.from({ length: pattern.length }, (_, i) => starts[0]! + i);
  }
  if (best.length === 0) throw new Error(`${c.task} example: its answer does not follow a context that occurs exactly once earlier`);
  return best;
}

export interface FactSurvival {
  trace: Trace;
  fact: number[];
  /** The step whose logits predict the first answer token. */
  asked: number;
  /** Per layer: KV heads holding every fact token at that step. */
  wholeFactHeads: number[];
  /** Fact tokens held at that step, summed over layers and KV heads. */
  keptTokens: number;
}

export function factSurvival(model: Model, policy: Policy, c: RecallCase): FactSurvival {
  const { ids, answerFrom } = c.encoded;
  const fact = factPositions(c);
  const asked = answerFrom - 1;
  const trace = recordTrace(model, policy, ids.slice(0, -1));
  let keptTokens = 0;
  const wholeFactHeads = trace.evictedAt.map((heads, l) => heads.filter((_, h) => {
    const here = fact.filter((p) => keptAfter(trace, l, h, p, asked)).length;
    keptTokens += here;
    return here === fact.length;
  }).length);
  return { trace, fact, asked, wholeFactHeads, keptTokens };
}
