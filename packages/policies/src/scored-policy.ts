// Builds a msrnn Policy from a scorer: the scorer says how much each entry is worth, the shared
// step (evict.ts) evicts the lowest until the budget holds. Layer-wise scorers give one score per
// slot (slots are aligned across KV heads) and evict from every head at once; head-wise scorers
// score and evict each KV head on its own.
import type { AttentionStep, LayerCache, Policy } from '@msrnn/msrnn';
import { Budget, type BudgetOptions } from './budget.js';
import { lowestSlot, swapRemoveScore, type Protection } from './evict.js';

export interface Scorer {
  readonly granularity: 'layer' | 'head';
  /** Per-entry float64 slots this scorer keeps in HeadCache.stats (0 for most). */
  readonly statsPerEntry: number;
  /** Runs every step before any eviction (accumulate statistics, or drop entries outright). */
  observe?(layer: LayerCache, step: AttentionStep, budget: number): void;
  /**
   * Writes scores (lower = evicted first) of slots [0, count) into out. Head-wise: for KV head
   * `kvHead`; layer-wise: for the layer (kvHead is 0; slot i is the same position in every head).
   */
  score(layer: LayerCache, kvHead: number, step: AttentionStep, out: Float64Array): void;
  /** Entries never evicted at this step, given its budget. */
  protect(step: AttentionStep, budget: number, out: Protection): void;
}

export const protectNothing = (_step: AttentionStep, _budget: number, out: Protection): void => {
  out.sinkEnd = 0;
  out.recentFrom = Infinity;
};

/** A policy that also tells the caller which state capacity to create (see budget.ts). */
export interface BudgetedPolicy extends Policy {
  readonly budget: Budget;
  /** Capacity to create the MultiState with: k for a fixed budget, Infinity when the policy enforces its own. */
  readonly stateCapacity: number;
}

export class ScoredPolicy implements BudgetedPolicy {
  readonly statsPerEntry: number;
  readonly budget: Budget;
  // Scratch reused across calls: a policy object serves one thread's states one call at a time.
  private scores = new Float64Array(64);
  private readonly keep: Protection = { sinkEnd: 0, recentFrom: Infinity };

  constructor(
    readonly name: string,
    private readonly scorer: Scorer,
    budget: BudgetOptions,
    private readonly details = '',
  ) {
    this.statsPerEntry = scorer.statsPerEntry;
    this.budget = new Budget(budget, name);
  }

  get stateCapacity(): number {
    return this.budget.stateCapacity;
  }

  afterAttention(layer: LayerCache, step: AttentionStep): void {
    const budget = this.budget.at(step.position, layer.capacity);
    this.scorer.observe?.(layer, step, budget);
    if (layer.maxCount <= budget) return;
    this.scorer.protect(step, budget, this.keep);
    if (this.scorer.granularity === 'layer') {
      this.evictDown(layer, 0, step, budget);
    } else {
      for (let h = 0; h < layer.heads.length; h++) this.evictDown(layer, h, step, budget);
    }
  }

  /** Evicts from KV head `kvHead` (layer-wise: head 0's slots, from every head) until it fits `budget`. */
  private evictDown(layer: LayerCache, kvHead: number, step: AttentionStep, budget: number): void {
    const head = layer.heads[kvHead]!;
    if (head.count <= budget) return;
    const layerWise = this.scorer.granularity === 'layer';
    if (this.scores.length < head.count) this.scores = new Float64Array(head.count * 2);
    const scores = this.scores;
    this.scorer.score(layer, kvHead, step, scores);
    while (head.count > budget) {
      const slot = lowestSlot(scores, head.positions, head.count, this.keep);
      if (slot < 0) throw new Error(`policy "${this.name}": layer ${layer.index} has ${head.count} entries, budget ${budget}, but all are protected`);
      swapRemoveScore(scores, slot, head.count);
      if (layerWise) layer.evictSlotAllHeads(slot);
      else head.evict(slot);
    }
  }

  describe(): string {
    return [this.budget.describe(), this.details].filter(Boolean).join(', ');
  }
}
