// Builds a msrnn Policy from a scorer (kvpress style: a policy is a score function; eviction is
// generic): the scorer says how much each entry is worth, the shared step (evict.ts) evicts the
// lowest until the budget holds. Granularity: 'layer' scores one value per slot (slots are aligned
// across KV heads) and evicts from every head at once; 'head' scores and evicts each KV head on
// its own; 'pooled' (Ada-KV) scores each head but shares the layer's budget (k per head on
// average) across its heads: the lowest score of the whole layer leaves, so a head with sharp
// attention keeps fewer entries and one with spread attention more.
import type { AttentionStep, LayerCache, Policy, PositionMode } from '@msrnn/msrnn';
import { Budget, type BudgetOptions } from './budget.js';
import { lowestSlot, swapRemoveScore, type Protection } from './evict.js';

/** A policy as a score function; only `score` is required. */
export interface Scorer {
  /** 'layer' (default), 'head' or 'pooled' (per-head scores, one budget per layer; see above). */
  readonly granularity?: 'layer' | 'head' | 'pooled';
  /** Per-entry float64 slots this scorer keeps in HeadCache.stats; default 0. */
  readonly statsPerEntry?: number;
  /** Runs every step before any eviction (accumulate statistics, or drop entries outright). */
  observe?(layer: LayerCache, step: AttentionStep, budget: number): void;
  /**
   * Writes scores (lower = evicted first) of slots [0, count) into out. Head-wise and pooled: for
   * KV head `kvHead`; layer-wise: for the layer (kvHead is 0; slot i is the same position in every head).
   */
  score(layer: LayerCache, kvHead: number, step: AttentionStep, out: Float64Array): void;
  /** Entries never evicted at this step, given its (per-head) budget; default none. */
  protect?(step: AttentionStep, budget: number, out: Protection): void;
  /** A budget schedule over layers (PyramidKV): per-layer budgets summing to k * nLayers. Fixed capacity only. */
  layerBudgets?(k: number, nLayers: number): number[];
  /** How keys must be stored (StreamingLLM: 'reindex'); default: the state's choice. */
  readonly positionMode?: PositionMode;
}

/** Pooled granularity: each head keeps at least MIN_SHARE·k (Ada-KV's safeguard) and at most MAX_SHARE·k (its storage). */
export const POOLED_MIN_SHARE = 0.2;
export const POOLED_MAX_SHARE = 2;

/** A policy with a Budget (capacity, ratio, evictFrom, every); every policy of the registry but `full`. */
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
  readonly positionMode: PositionMode | undefined;
  readonly layerCapacity: ((layer: number, nLayers: number) => number) | undefined;
  private readonly granularity: 'layer' | 'head' | 'pooled';
  // Scratch reused across calls: a policy object serves one thread's states one call at a time.
  private scores = new Float64Array(64);
  private headScores: Float64Array[] = [];
  private readonly keep: Protection = { sinkEnd: 0, recentFrom: Infinity };
  private readonly schedules = new Map<number, number[]>();

  constructor(
    readonly name: string,
    private readonly scorer: Scorer,
    budget: BudgetOptions,
    private readonly details = '',
  ) {
    this.statsPerEntry = scorer.statsPerEntry ?? 0;
    this.granularity = scorer.granularity ?? 'layer';
    this.positionMode = scorer.positionMode;
    this.budget = new Budget(budget, name);
    if (this.granularity === 'pooled' && this.budget.every > 1) {
      throw new RangeError(`policy "${name}": a layer budget pooled across heads evicts every step (every must be 1, got ${this.budget.every})`);
    }
    if (scorer.layerBudgets) {
      if (!this.budget.fixed || this.budget.capacity === Infinity) {
        throw new RangeError(`policy "${name}": a layer schedule sizes a bounded state: give a fixed capacity (no ratio, no evictFrom)`);
      }
      this.layerCapacity = (layer, nLayers) => this.schedule(nLayers)[layer]! + this.budget.every - 1;
    }
  }

  /** The state's capacity: the budget's (see Budget.stateCapacity); pooled heads may hold up to MAX_SHARE·k. */
  get capacity(): number {
    const c = this.budget.stateCapacity;
    return this.granularity === 'pooled' && c !== Infinity ? Math.ceil(POOLED_MAX_SHARE * c) : c;
  }

  private schedule(nLayers: number): number[] {
    let s = this.schedules.get(nLayers);
    if (!s) {
      const k = this.budget.capacity;
      s = this.scorer.layerBudgets!(k, nLayers);
      const total = s.reduce((a, b) => a + b, 0);
      if (s.length !== nLayers || total !== k * nLayers || !s.every((b) => Number.isInteger(b) && b >= 1)) {
        throw new Error(`policy "${this.name}": layer schedule [${s.join(', ')}] must be ${nLayers} positive integers summing to ${k * nLayers}`);
      }
      this.schedules.set(nLayers, s);
    }
    return s;
  }

  afterAttention(layer: LayerCache, step: AttentionStep): void {
    if (this.granularity === 'pooled') {
      const average = this.budget.at(step.position, Infinity);
      this.scorer.observe?.(layer, step, average);
      this.evictPooled(layer, step, average);
      return;
    }
    const budget = this.budget.at(step.position, layer.capacity);
    this.scorer.observe?.(layer, step, budget);
    if (layer.maxCount <= budget) return;
    this.protect(step, budget);
    if (this.granularity === 'layer') {
      this.evictDown(layer, 0, step, budget);
    } else {
      for (let h = 0; h < layer.heads.length; h++) this.evictDown(layer, h, step, budget);
    }
  }

  private protect(step: AttentionStep, budget: number): void {
    const keep = this.keep;
    if (this.scorer.protect) this.scorer.protect(step, budget, keep);
    else { keep.sinkEnd = 0; keep.recentFrom = Infinity; }
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
      if (this.granularity === 'layer') layer.evictSlotAllHeads(slot);
      else head.evict(slot);
    }
  }

  /**
   * Pooled: first every head over its cap (2k) drops its own lowest; then, while
   * the layer holds more than `average` per head, the lowest (score, position, head) of the
   * layer leaves, among heads above the floor.
   */
  private evictPooled(layer: LayerCache, step: AttentionStep, average: number): void {
    // At most MAX_SHARE times the average per head: the storage of a bounded state, and the same
    // cap on an unbounded one (ratio budgets), so the rule does not depend on how the state was made.
    const heads = layer.heads, cap = Math.min(layer.capacity, average === Infinity ? Infinity : Math.ceil(POOLED_MAX_SHARE * average));
    let total = 0;
    for (const h of heads) total += h.count;
    const target = average * heads.length;
    if (total <= target && layer.maxCount <= cap) return;
    const perHead = Math.min(average, cap);
    this.protect(step, perHead);
    const floor = Math.floor(POOLED_MIN_SHARE * perHead);
    for (let h = 0; h < heads.length; h++) {
      const n = heads[h]!.count;
      if (!this.headScores[h] || this.headScores[h]!.length < n) this.headScores[h] = new Float64Array(Math.max(64, n * 2));
      this.scorer.score(layer, h, step, this.headScores[h]!);
    }
    for (let h = 0; h < heads.length; h++) {
      const head = heads[h]!, scores = this.headScores[h]!;
      while (head.count > cap) {
        const slot = lowestSlot(scores, head.positions, head.count, this.keep);
        if (slot < 0) throw new Error(`policy "${this.name}": layer ${layer.index} head ${h} is over its capacity ${cap}, but all entries are protected`);
        swapRemoveScore(scores, slot, head.count);
        head.evict(slot);
        total--;
      }
    }
    while (total > target) {
      let bestHead = -1, bestSlot = -1, bestScore = Infinity, bestPos = 0;
      for (let h = 0; h < heads.length; h++) {
        const head = heads[h]!;
        if (head.count <= floor) continue;
        const slot = lowestSlot(this.headScores[h]!, head.positions, head.count, this.keep);
        if (slot < 0) continue;
        const s = this.headScores[h]![slot]!, p = head.positions[slot]!;
        if (bestHead < 0 || s < bestScore || (s === bestScore && p < bestPos)) { bestHead = h; bestSlot = slot; bestScore = s; bestPos = p; }
      }
      if (bestHead < 0) throw new Error(`policy "${this.name}": layer ${layer.index} holds ${total} entries, budget ${target}, but none can leave`);
      const head = heads[bestHead]!;
      swapRemoveScore(this.headScores[bestHead]!, bestSlot, head.count);
      head.evict(bestSlot);
      total--;
    }
  }

  describe(): string {
    return [this.budget.describe(), this.details].filter(Boolean).join(', ');
  }
}

/** The budget options of `opts` (capacity, ratio, evictFrom, every): what a scored registry entry passes on. */
export function budgetOptions(opts: BudgetOptions): BudgetOptions {
  const { capacity, ratio, evictFrom, every } = opts;
  return { capacity, ratio, evictFrom, every };
}

/** A registry constructor's usual body: the scorer with the request's budget. */
export function scored(name: string, scorer: Scorer, opts: BudgetOptions, details = ''): ScoredPolicy {
  return new ScoredPolicy(name, scorer, budgetOptions(opts), details);
}
