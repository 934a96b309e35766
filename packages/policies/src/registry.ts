// Policies by name, as the command line and the experiments ask for them, with the checks that
// turn a bad request into one clear error.
import { keepAll, type AttentionStep, type LayerCache } from '@msrnn/msrnn';
import { Budget } from './budget.js';
import { h2oScorer } from './h2o.js';
import { knormScorer } from './knorm.js';
import { randomScorer, scatteredScorer } from './random.js';
import { ScoredPolicy, type BudgetedPolicy } from './scored-policy.js';
import { tovaHeadScorer, tovaScorer } from './tova.js';
import { recencyScorer, sinksScorer } from './window.js';

export interface PolicyOptions {
  /** Entries kept per layer (per KV head) after each step. */
  capacity?: number;
  /** Budget as a fraction of the tokens seen, in (0, 1] (for scattered: the keep rate). */
  ratio?: number;
  /** Window+i: positions never evicted (default 4). */
  sinks?: number;
  /** H2O: share of the budget that is the recent window (default 0.5). */
  recentFraction?: number;
  /** Random policies: seed (default 0). */
  seed?: number;
  /** No eviction before this position: fast prefill of a prompt of evictFrom+1 tokens (default 0). */
  evictFrom?: number;
}

export const policyDescriptions = {
  full: 'keep every entry (the ordinary transformer)',
  window: 'keep the k most recent entries',
  sinks: 'Window+i: keep the first i positions (default 4) and the k-i most recent',
  h2o: 'H2O per KV head: k/2 most recent + k/2 with the most accumulated attention (summed over the group)',
  h2o_layer: 'H2O layer-wise: accumulated attention summed over all query heads, same entry leaves every head',
  tova: 'TOVA: drop the lowest attention of the new query, averaged over all query heads (layer-wise)',
  tova_head: 'TOVA per KV head: attention averaged over the query heads of the group',
  random: 'evict a uniformly random entry (seeded, layer-wise)',
  knorm: 'drop the key with the largest L2 norm (per KV head)',
  local: 'Ren et al. local attention: window of ceil(ratio * tokens seen) (needs a ratio)',
  scattered: 'Ren et al. scattered attention: seeded random keep-mask at rate ratio (needs a ratio)',
} as const;

export type PolicyName = keyof typeof policyDescriptions;
export const policyNames = Object.keys(policyDescriptions) as PolicyName[];

export function isPolicyName(name: string): name is PolicyName {
  return Object.hasOwn(policyDescriptions, name);
}

/** The unbounded transformer, with the BudgetedPolicy fields so callers treat every policy alike. */
function fullPolicy(): BudgetedPolicy {
  return {
    name: keepAll.name,
    statsPerEntry: 0,
    budget: new Budget({ capacity: Infinity }, 'full'),
    stateCapacity: Infinity,
    afterAttention(_layer: LayerCache, _step: AttentionStep): void {},
    describe: () => 'unbounded',
  };
}

/**
 * A policy by name. Create the state with `policy.stateCapacity` as its capacity: k for a fixed
 * budget, Infinity when the policy enforces its own budget (ratio budgets, evictFrom).
 */
export function getPolicy(name: string, opts: PolicyOptions = {}): BudgetedPolicy {
  if (!isPolicyName(name)) throw new RangeError(`unknown policy "${name}"; valid policies: ${policyNames.join(', ')}`);
  if (name === 'full') return fullPolicy();
  const { capacity, ratio, evictFrom } = opts;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed)) throw new RangeError(`policy "${name}": seed must be an integer, got ${String(seed)}`);
  if ((name === 'local' || name === 'scattered') && ratio === undefined) {
    throw new RangeError(`policy "${name}" needs a ratio in (0, 1] (fraction of the tokens seen)`);
  }
  switch (name) {
    case 'window':
    case 'local':
      return new ScoredPolicy(name, recencyScorer, { capacity, ratio, evictFrom });
    case 'sinks': {
      const sinks = opts.sinks ?? 4;
      if (!Number.isInteger(sinks) || sinks < 0) throw new RangeError(`policy "sinks": sink count must be a non-negative integer, got ${String(sinks)}`);
      if (capacity !== undefined && sinks >= capacity) {
        throw new RangeError(`policy "sinks": sink count ${sinks} must be less than the capacity ${capacity}`);
      }
      return new ScoredPolicy(name, sinksScorer(sinks), { capacity, ratio, evictFrom }, `sinks=${sinks}`);
    }
    case 'h2o':
    case 'h2o_layer': {
      const f = opts.recentFraction ?? 0.5;
      if (!(f >= 0 && f < 1)) throw new RangeError(`policy "${name}": recent fraction must be in [0, 1), got ${String(f)}`);
      return new ScoredPolicy(name, h2oScorer(name === 'h2o_layer', f), { capacity, ratio, evictFrom }, `recent=${f} of budget`);
    }
    case 'tova':
      return new ScoredPolicy(name, tovaScorer, { capacity, ratio, evictFrom });
    case 'tova_head':
      return new ScoredPolicy(name, tovaHeadScorer, { capacity, ratio, evictFrom });
    case 'random':
      return new ScoredPolicy(name, randomScorer(seed), { capacity, ratio, evictFrom }, `seed=${seed}`);
    case 'knorm':
      return new ScoredPolicy(name, knormScorer, { capacity, ratio, evictFrom });
    case 'scattered': {
      // The ratio is the mask's keep rate, not a budget: validate it through Budget, cap only by capacity.
      new Budget({ ratio }, name);
      return new ScoredPolicy(name, scatteredScorer(seed, ratio!, evictFrom ?? 0), { capacity: capacity ?? Infinity, evictFrom }, `keep rate=${ratio}, seed=${seed}`);
    }
  }
}
