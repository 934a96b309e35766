// SnapKV (Li et al. 2024), as a bounded RNN: an entry's worth is the attention the last `window`
// queries paid it (an observation window), summed over the query heads of its KV head's group,
// then max-pooled over positions within kernel/2 (so a kept entry keeps its neighbours: clusters
// survive, not isolated spikes). The window's own entries (the most recent ones) are never
// evicted. SnapKV compresses once after the prompt: that is `evictFrom` (msrnn ppl --prefill
// fast); `every: n` compresses again every n steps, the state growing to k+n-1 in between.
// Per KV head. Statistics: one ring slot per window query (statsPerEntry = window); the slot of
// step t is t % window, written for every entry present at t, zero for steps before it entered.
import type { AttentionStep, LayerCache } from '@msrnn/msrnn';
import type { Protection } from './evict.js';
import { intOption, type PolicyOptions } from './options.js';
import { scored, type Scorer } from './scored-policy.js';

export interface SnapKvParams {
  window: number;
  kernel: number;
}

/** Window and kernel of a request, validated: window >= 1 (default 8), kernel odd >= 1 (default 5). */
export function snapKvParams(opts: PolicyOptions, name: string): SnapKvParams {
  const window = intOption(name, 'observation window', opts.window, 8, 1);
  const kernel = intOption(name, 'pooling kernel', opts.kernel, 5, 1);
  if (kernel % 2 === 0) throw new RangeError(`policy "${name}": pooling kernel must be odd, got ${kernel}`);
  if (window > 4096) throw new RangeError(`policy "${name}": observation window must be at most 4096, got ${window}`);
  return { window, kernel };
}

export function snapKvScorer({ window, kernel }: SnapKvParams): Scorer {
  const radius = (kernel - 1) >> 1;
  // Scratch per scorer (one per getPolicy): raw window sums and the slots in position order.
  let raw = new Float64Array(64);
  let order = new Int32Array(64);
  return {
    granularity: 'head',
    statsPerEntry: window,
    observe(layer: LayerCache, step: AttentionStep): void {
      const ring = step.position % window, g = step.groupSize, att = step.att, stride = step.attStride;
      for (let h = 0; h < layer.heads.length; h++) {
        const head = layer.heads[h]!, stats = head.stats, entryStride = head.statsPerEntry;
        for (let i = 0; i < head.count; i++) {
          let s = 0;
          for (let q = h * g; q < h * g + g; q++) s += att[q * stride + i]!;
          stats[i * entryStride + ring] = s;
        }
      }
    },
    score(layer, kvHead, step, out) {
      const head = layer.heads[kvHead]!, n = head.count, stats = head.stats, positions = head.positions, entryStride = head.statsPerEntry;
      if (raw.length < n) { raw = new Float64Array(n * 2); order = new Int32Array(n * 2); }
      // Sum of the observation window, oldest query first.
      const first = Math.max(0, step.position - window + 1);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let t = first; t <= step.position; t++) s += stats[i * entryStride + (t % window)]!;
        raw[i] = s;
      }
      // Slots by position (insertion sort: no allocation; n is a budget, small), then a max over
      // the entries within `radius` positions on each side.
      for (let i = 0; i < n; i++) {
        let j = i;
        while (j > 0 && positions[order[j - 1]!]! > positions[i]!) { order[j] = order[j - 1]!; j--; }
        order[j] = i;
      }
      for (let a = 0; a < n; a++) {
        const slot = order[a]!, p = positions[slot]!;
        let m = raw[slot]!;
        for (let b = a - 1; b >= 0 && positions[order[b]!]! >= p - radius; b--) m = Math.max(m, raw[order[b]!]!);
        for (let b = a + 1; b < n && positions[order[b]!]! <= p + radius; b++) m = Math.max(m, raw[order[b]!]!);
        out[slot] = m;
      }
    },
    protect(step: AttentionStep, budget: number, out: Protection): void {
      out.sinkEnd = 0;
      out.recentFrom = step.position - Math.min(window, budget) + 1;
    },
  };
}

export function snapKvPolicy(opts: PolicyOptions, name: string) {
  const p = snapKvParams(opts, name);
  return scored(name, snapKvScorer(p), opts, `window=${p.window}, kernel=${p.kernel}`);
}
