// Builds a msrnn Policy from a scorer (kvpress style: a policy is a score function; eviction is
// generic): the scorer says how much each entry is worth, the shared step (evict.ts) evicts the
// lowest until the budget holds. Layer-wise scorers give one score per slot (slots are aligned
// across KV heads) and evict from every head at once; head-wise scorers score and evict each KV
// head on its own.
import type { AttentionStep, LayerCache, Policy } from '@msrnn/msrnn';
import { Budget, type BudgetOptions } from './budget.js';
import { lowestSlot, swapRemoveScore, type Protection } from './evict.js';

/** A policy as a score function; only `score` is required. */
export interface Scorer {
  /** 'layer' (default): one score per slot, the same entry leaves every KV head; 'head': each KV head on its own. */
  readonly granularity?: 'layer' | 'head';
  /** Per-entry float64 slots this scorer keeps in HeadCache.stats; default 0. */
  readonly statsPerEntry?: number;
  /** Runs every step before any eviction (accumulate statistics, or drop entries outright). */
  observe?(layer: LayerCache, step: AttentionStep, budget: number): void;
  /**
   * Writes scores (lower = evicted first) of slots [0, count) into out. Head-wise: for KV head
   * `kvHead`; layer-wise: for the layer (kvHead is 0; slot i is the same position in every head).
   */
  score(layer: LayerCache, kvHead: number, step: AttentionStep, out: Float64Array): void;
  /** Entries never evicted at this step, given its budget; default none. */
  protect?(step: AttentionStep, budget: number, out: Protection): void;
}

/** A policy with a Budget (capacity, ratio, evictFrom); every policy of the registry but `full`. */
export interface BudgetedPolicy extends Policy {
  readonly budget: Budget;
}

/** The budget a policy enforces, if it has one (`full` and hand-written policies have none). */
export function budgetOf(policy: Policy): Budget | undefined {
  return (policy as Partial<BudgetedPolicy>).budget;
}

export class ScoredPolicy implements BudgetedPolicy {
  readonly statsPerEntry: number;
  readonly budget: Budget;
  private readonly layerWise: boolean;
  // Scratch reused across calls: a policy object serves one thread's states one call at a time.
  private scores = new Float64Array(64);
  private readonly keep: Protection = { sinkEnd: 0, recentFrom: Infinity };

  constructor(
    readonly name: string,
    private readonly scorer: Scorer,
    budget: BudgetOptions,
    private readonly details = '',
  ) {
    this.statsPerEntry = scorer.statsPerEntry ?? 0;
    this.layerWise = (scorer.granularity ?? 'layer') === 'layer';
    this.budget = new Budget(budget, name);
  }

  /** See Budget.stateCapacity: k for a fixed budget, Infinity when the policy enforces a growing one. */
  get capacity(): number {
    return this.budget.stateCapacity;
  }

  afterAttention(layer: LayerCache, step: AttentionStep): void {
    const budget = this.budget.at(step.position, layer.capacity);
    this.scorer.observe?.(layer, step, budget);
    if (layer.maxCount <= budget) return;
    const keep = this.keep;
    if (this.scorer.protect) this.scorer.protect(step, budget, keep);
    else { keep.sinkEnd = 0; keep.recentFrom = Infinity; }
    if (this.layerWise) {
      this.evictDown(layer, 0, step, budget);
    } else {
      for (let h = 0; h < layer.heads.length; h++) this.evictDown(layer, h, step, budget);
    }
  }

  /** Evicts from KV head `kvHead` (layer-wise: head 0's slots, from every head) until it fits `budget`. */
  private evictDown(layer: LayerCache, kvHead: number, step: AttentionStep, budget: number): void {
    const head = layer.heads[kvHead]!;
    if (head.count <= budget) return;
    if (this.scores.length < head.count) this.scores = new Float64Array(head.count * 2);
    const scores = this.scores;
    this.scorer.score(layer, kvHead, step, scores);
    while (head.count > budget) {
      const slot = lowestSlot(scores, head.positions, head.count, this.keep);
      if (slot < 0) throw new Error(`policy "${this.name}": layer ${layer.index} has ${head.count} entries, budget ${budget}, but all are protected`);
      swapRemoveScore(scores, slot, head.count);
      if (this.layerWise) layer.evictSlotAllHeads(slot);
      else head.evict(slot);
    }
  }

  describe(): string {
    return [this.budget.describe(), this.details].filter(Boolean).join(', ');
  }
}

/** The budget options of `opts` (capacity, ratio, evictFrom): what a scored registry entry passes on. */
export function budgetOptions(opts: BudgetOptions): BudgetOptions {
  const { capacity, ratio, evictFrom } = opts;
  return { capacity, ratio, evictFrom };
}

/** A registry constructor's usual body: the scorer with the request's budget. */
export function scored(name: string, scorer: Scorer, opts: BudgetOptions, details = ''): ScoredPolicy {
  return new ScoredPolicy(name, scorer, budgetOptions(opts), details);
}
