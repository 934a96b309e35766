// H2O (Zhang et al. 2023): half the budget is a window of the most recent entries, half "heavy
// hitters": the entries with the most attention accumulated since they entered the state. The sum
// includes the step an entry entered and the current step (fixtures README). Head-wise (default,
// summed over the query heads of each KV head's group) and layer-wise (summed over all query heads).
import type { AttentionStep, LayerCache } from '@msrnn/msrnn';
import { sumAttention } from './attention-scores.js';
import type { Protection } from './evict.js';
import type { PolicyOptions } from './options.js';
import { scored, type Scorer } from './scored-policy.js';

/**
 * A loop rather than out.set(stats.subarray(...)): runs per layer per token, so no view is allocated.
 * H2O's sum is the entry's first statistic; the stride is the state's (a wrapper may keep more).
 */
function copyStats(layer: LayerCache, kvHead: number, out: Float64Array): void {
  const head = layer.heads[kvHead]!, stats = head.stats, stride = head.statsPerEntry;
  for (let i = 0; i < head.count; i++) out[i] = stats[i * stride]!;
}

/** `recentFraction` of the budget (rounded down) is the protected recent window. */
export function h2oScorer(layerWise: boolean, recentFraction: number): Scorer {
  return {
    granularity: layerWise ? 'layer' : 'head',
    statsPerEntry: 1,
    observe(layer: LayerCache, step: AttentionStep): void {
      if (layerWise) {
        // Slots are aligned across heads, so head 0's stats stand for the layer.
        const head = layer.heads[0]!;
        sumAttention(step, 0, step.nHeads, head.count, head.stats, true, head.statsPerEntry);
        return;
      }
      const g = step.groupSize;
      for (let h = 0; h < layer.heads.length; h++) {
        const head = layer.heads[h]!;
        sumAttention(step, h * g, h * g + g, head.count, head.stats, true, head.statsPerEntry);
      }
    },
    score: (layer, kvHead, _step, out) => copyStats(layer, layerWise ? 0 : kvHead, out),
    protect(step: AttentionStep, budget: number, out: Protection): void {
      const recent = Math.floor(budget * recentFraction);
      out.sinkEnd = 0;
      out.recentFrom = step.position - recent + 1;
    },
  };
}

/** The H2O policy of a request: recent fraction (default 0.5) in [0, 1). */
export function h2oPolicy(layerWise: boolean) {
  return (opts: PolicyOptions, name: string) => {
    const f = opts.recentFraction ?? 0.5;
    if (!(typeof f === 'number' && f >= 0 && f < 1)) throw new RangeError(`policy "${name}": recent fraction must be in [0, 1), got ${String(f)}`);
    return scored(name, h2oScorer(layerWise, f), opts, `recent=${f} of budget`);
  };
}
