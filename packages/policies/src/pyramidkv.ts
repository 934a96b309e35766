// PyramidKV (Cai et al. 2024): the same total budget (k per layer on average) split unevenly,
// more entries in lower layers where attention is spread, fewer in upper ones where it is
// concentrated; within a layer, SnapKV's scores. The schedule is PyramidKV's arithmetic one:
// top layer k/beta, bottom layer 2k - k/beta (beta = 20), rounded to integers (largest
// remainders, at least 1 each) that sum to exactly k * nLayers. Fixed capacity only: the
// schedule sizes each layer of the bounded state.
import type { PolicyOptions } from './options.js';
import { scored } from './scored-policy.js';
import { snapKvParams, snapKvScorer } from './snapkv.js';

const BETA = 20;

/** Per-layer budgets, layer 0 (bottom) largest, summing to k * nLayers. */
export function pyramidBudgets(k: number, nLayers: number): number[] {
  if (nLayers === 1) return [k];
  const low = k / BETA, high = 2 * k - low, total = k * nLayers;
  const ideal = Array.from({ length: nLayers }, (_, l) => Math.max(1, high - (l * (high - low)) / (nLayers - 1)));
  const out = ideal.map((x) => Math.max(1, Math.floor(x)));
  let left = total - out.reduce((a, b) => a + b, 0);
  // Hand out what rounding down left (or take back what the floor of 1 added), largest remainder first.
  const byRemainder = ideal.map((x, l) => [x - Math.floor(x), l] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let i = 0; left > 0; i = (i + 1) % nLayers, left--) out[byRemainder[i]![1]]!++;
  for (let l = 0; left < 0; l = (l + 1) % nLayers) if (out[l]! > 1) { out[l]!--; left++; }
  return out;
}

export function pyramidKvPolicy(opts: PolicyOptions, name: string) {
  const p = snapKvParams(opts, name);
  return scored(name, { ...snapKvScorer(p), layerBudgets: pyramidBudgets }, opts, `window=${p.window}, kernel=${p.kernel}, layer budgets ${BETA}:1 pyramid`);
}
