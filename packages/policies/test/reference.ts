// Plain list-based reference policies: a head is a sorted array of positions (plus scores), and
// every rule is written out directly from the fixtures README, independent of the slot machinery.
import { geometry, groupSize, nHeads, softmaxOver } from './synthetic.js';

type Evict = (entries: number[], scores: Map<number, number>, step: number, budget: number) => number;

/** Lowest score (ties: lowest position) among positions passing `eligible`. */
function argminPos(entries: number[], score: (p: number) => number, eligible: (p: number) => boolean): number {
  let best = -1, bestS = Infinity;
  for (const p of entries) {
    if (!eligible(p)) continue;
    const s = score(p);
    if (best < 0 || s < bestS || (s === bestS && p < best)) { best = p; bestS = s; }
  }
  return best;
}

/** Attention each entry of KV head h (or of the layer when h < 0) gets this step, summed over the query heads. */
function attentionSums(layer: number, step: number, entries: number[], h: number): Map<number, number> {
  const sums = new Map<number, number>(entries.map((p) => [p, 0]));
  const w = new Float64Array(entries.length);
  const qs = h < 0 ? [...Array(nHeads).keys()] : [...Array(groupSize).keys()].map((j) => h * groupSize + j);
  for (const q of qs) {
    softmaxOver(layer, step, q, entries, entries.length, w);
    entries.forEach((p, i) => sums.set(p, sums.get(p)! + Math.fround(w[i]!)));
  }
  return sums;
}

export const referenceNames = ['tova', 'tova_head', 'h2o', 'h2o_layer', 'window', 'sinks'] as const;
export type RefName = (typeof referenceNames)[number];
export const hasReference = (name: string): name is RefName => (referenceNames as readonly string[]).includes(name);

/**
 * Kept positions [layer][kvHead] after `steps` tokens under the named policy. `budget` is a
 * capacity k, or a function of the step (ratio budgets, fast prefill) — then several entries may
 * leave in one step, each chosen by the same rule on the scores of that step.
 */
export function reference(name: RefName, budget: number | ((t: number) => number), steps: number, sinks = 4): number[][][] {
  const budgetAt = typeof budget === 'number' ? () => budget : budget;
  const headWise = name === 'tova_head' || name === 'h2o';
  const nGroups = headWise ? geometry.nKvHeads : 1;
  const out: number[][][] = [];
  for (let l = 0; l < geometry.nLayers; l++) {
    const groups: number[][] = [];
    for (let g = 0; g < nGroups; g++) {
      let entries: number[] = [];
      const acc = new Map<number, number>();
      for (let t = 0; t < steps; t++) {
        entries.push(t);
        const h = headWise ? g : -1;
        const sums = attentionSums(l, t, entries, h);
        const nq = h < 0 ? nHeads : groupSize;
        for (const [p, s] of sums) acc.set(p, (acc.get(p) ?? 0) + s);
        const k = budgetAt(t);
        while (entries.length > k) {
          let victim: number;
          if (name === 'tova' || name === 'tova_head') victim = argminPos(entries, (p) => sums.get(p)! / nq, () => true);
          else if (name === 'window') victim = Math.min(...entries);
          else if (name === 'sinks') victim = argminPos(entries, (p) => p, (p) => p >= Math.min(sinks, k - 1));
          else victim = argminPos(entries, (p) => acc.get(p)!, (p) => p <= t - Math.floor(k / 2));
          entries = entries.filter((p) => p !== victim);
        }
      }
      groups.push(entries.sort((a, b) => a - b));
    }
    out.push(headWise ? groups : Array.from({ length: geometry.nKvHeads }, () => groups[0]!));
  }
  return out;
}
