// Recency scorers: an entry's score is its position, so the oldest unprotected entry leaves.
// window = keep the k most recent; sinks = Window+i (StreamingLLM): the first i positions stay;
// local (Ren et al.) = the same window with a budget that is a fraction of the tokens seen.
import type { AttentionStep } from '@msrnn/msrnn';
import type { Protection } from './evict.js';
import { protectNothing, type Scorer } from './scored-policy.js';

function scorePositions(positions: Int32Array, count: number, out: Float64Array): void {
  for (let i = 0; i < count; i++) out[i] = positions[i]!;
}

export const recencyScorer: Scorer = {
  granularity: 'layer',
  statsPerEntry: 0,
  score: (layer, _h, _step, out) => scorePositions(layer.heads[0]!.positions, layer.heads[0]!.count, out),
  protect: protectNothing,
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
