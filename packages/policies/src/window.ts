// Recency scorers: an entry's score is its position, so the oldest unprotected entry leaves.
// window = keep the k most recent; sinks = Window+i: the first i positions stay; local (Ren et
// al.) = the same window with a budget that is a fraction of the tokens seen.
import type { AttentionStep } from '@msrnn/msrnn';
import type { Protection } from './evict.js';
import { intOption, type PolicyOptions } from './options.js';
import { scored, type Scorer } from './scored-policy.js';

export const recencyScorer: Scorer = {
  score(layer, _h, _step, out) {
    const head = layer.heads[0]!, positions = head.positions;
    for (let i = 0; i < head.count; i++) out[i] = positions[i]!;
  },
};

/** Window+i: positions 0..sinks-1 are never evicted (at most budget-1 of them, so the window keeps a slot). */
export function sinksScorer(sinks: number): Scorer {
  return {
    ...recencyScorer,
    protect(_step: AttentionStep, budget: number, out: Protection): void {
      out.sinkEnd = Math.min(sinks, budget - 1);
      out.recentFrom = Infinity;
    },
  };
}

/** The sink count of a request: `sinks` (default 4), below the capacity. */
export function sinkCount(opts: PolicyOptions, name: string): number {
  const sinks = intOption(name, 'sink count', opts.sinks, 4, 0);
  if (opts.capacity !== undefined && sinks >= opts.capacity) {
    throw new RangeError(`policy "${name}": sink count ${sinks} must be less than the capacity ${opts.capacity}`);
  }
  return sinks;
}

export function sinksPolicy(opts: PolicyOptions, name: string) {
  const sinks = sinkCount(opts, name);
  return scored(name, sinksScorer(sinks), opts, `sinks=${sinks}`);
}
