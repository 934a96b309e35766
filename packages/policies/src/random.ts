// Random baselines, stateless (hash of seed, layer, positions) so clones and reruns agree.
// random: each step evicts an entry chosen uniformly (iid score per (step, entry)); layer-wise.
// scattered (Ren et al. 2023): a fixed random keep-mask at rate `keepRate`: entry p survives its
// own step only if u(seed, layer, p) < keepRate, so about keepRate of the tokens seen stay; a
// fixed capacity, if also given, is enforced by dropping the lowest mask values.
import type { AttentionStep, LayerCache } from '@msrnn/msrnn';
import { uniform } from './hash.js';
import { Budget } from './budget.js';
import type { PolicyOptions } from './options.js';
import { ScoredPolicy, scored, type Scorer } from './scored-policy.js';

export function randomScorer(seed: number): Scorer {
  return {
    score(layer, _h, step, out) {
      const head = layer.heads[0]!;
      for (let i = 0; i < head.count; i++) out[i] = uniform(seed, layer.index, step.position, head.positions[i]!);
    },
    };
}

export function scatteredScorer(seed: number, keepRate: number, evictFrom: number): Scorer {
  return {
    observe(layer: LayerCache, step: AttentionStep): void {
      if (step.position < evictFrom) return;
      const head = layer.heads[0]!;
      // An entry's mask value never changes, so once the kept entries were all checked (the first
      // masking step) only the one appended this step, in the last slot, can fail the mask.
      const from = step.position === evictFrom ? 0 : head.count - 1;
      // Scan downwards: a swap-remove moves the last slot (already checked) into the hole.
      for (let i = head.count - 1; i >= from; i--) {
        if (uniform(seed, layer.index, head.positions[i]!) >= keepRate) layer.evictSlotAllHeads(i);
      }
    },
    score(layer, _h, _step, out) {
      const head = layer.heads[0]!;
      for (let i = 0; i < head.count; i++) out[i] = uniform(seed, layer.index, head.positions[i]!);
    },
    };
}

function seedOf(opts: PolicyOptions, name: string): number {
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed)) throw new RangeError(`policy "${name}": seed must be an integer, got ${String(seed)}`);
  return seed;
}

export function randomPolicy(opts: PolicyOptions, name: string): ScoredPolicy {
  const seed = seedOf(opts, name);
  return scored(name, randomScorer(seed), opts, `seed=${seed}`);
}

/** The ratio is the mask's keep rate, not a budget: validated like one, the budget is only a capacity if given. */
export function scatteredPolicy(opts: PolicyOptions, name: string): ScoredPolicy {
  const seed = seedOf(opts, name);
  const ratio = new Budget({ ratio: opts.ratio }, name).ratio!;
  return new ScoredPolicy(name, scatteredScorer(seed, ratio, opts.evictFrom ?? 0), { capacity: opts.capacity ?? Infinity, evictFrom: opts.evictFrom, every: opts.every }, `keep rate=${ratio}, seed=${seed}`);
}
