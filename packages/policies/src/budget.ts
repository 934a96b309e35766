// How many entries a head may keep after a step. Two kinds of budget:
// - fixed capacity k (the paper's setting): the state itself is bounded (capacity k, k+1 slots);
// - ratio r of the tokens seen (Ren et al.'s local/scattered baselines): the budget grows with
//   the sequence, so the state must be created unbounded (capacity Infinity) and the policy
//   enforces ceil(r * tokensSeen) itself. `stateCapacity` says which one to create.
//   A layer schedule (PyramidKV) sizes each layer of a bounded state; its capacity is its budget.
// `evictFrom` postpones all eviction to a position: the TOVA code's fast prefill attends the
// whole prompt unbounded, then cuts to the budget at the prompt's last token. `every` evicts only
// every n steps (SnapKV's periodic compression): in between a head grows to k+n-1 entries.

import { checkCapacity } from '@msrnn/msrnn';

/** A bad value as the error shows it: a string stays quoted ("5" is not the number 5). */
export function shown(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** Validates a budget ratio: a fraction of the tokens seen, in (0, 1]; `what` names it in the error. */
export function checkRatio(ratio: unknown, what = 'ratio'): number {
  if (typeof ratio === 'number' && ratio > 0 && ratio <= 1) return ratio;
  throw new RangeError(`${what} must be in (0, 1], got ${typeof ratio === 'string' ? JSON.stringify(ratio) : String(ratio)}`);
}

export interface BudgetOptions {
  /** Entries kept per layer (per KV head) after each step. */
  capacity?: number;
  /** Fraction of tokens seen to keep, in (0, 1]. */
  ratio?: number;
  /** No eviction before this absolute position (fast prefill); default 0. */
  evictFrom?: number;
  /** Evict only at every n-th step from evictFrom on (default 1: every step). */
  every?: number;
}

export class Budget {
  readonly capacity: number;
  readonly ratio: number | undefined;
  readonly evictFrom: number;
  readonly every: number;

  constructor(opts: BudgetOptions, policy: string) {
    const { capacity, ratio } = opts;
    if (capacity === undefined && ratio === undefined) {
      throw new RangeError(`policy "${policy}": give a capacity (entries kept) or a ratio (fraction of tokens seen)`);
    }
    if (capacity !== undefined) checkCapacity(capacity, `policy "${policy}": capacity`);
    if (ratio !== undefined) checkRatio(ratio, `policy "${policy}": ratio`);
    const evictFrom = opts.evictFrom ?? 0;
    if (!Number.isInteger(evictFrom) || evictFrom < 0) {
      throw new RangeError(`policy "${policy}": evictFrom must be a non-negative integer, got ${shown(evictFrom)}`);
    }
    const every = opts.every ?? 1;
    if (!Number.isInteger(every) || every < 1 || every > 1 << 20) {
      throw new RangeError(`policy "${policy}": every must be a positive integer (evict every n steps), got ${shown(every)}`);
    }
    this.capacity = capacity ?? Infinity;
    this.ratio = ratio;
    this.evictFrom = evictFrom;
    this.every = every;
  }

  /** True when the budget is a fixed k from the first token: the state can be bounded. */
  get fixed(): boolean {
    return this.ratio === undefined && this.evictFrom === 0;
  }

  /**
   * Capacity the MultiState must be created with: k + every - 1 (the most a head holds between two
   * evictions) when the budget is a fixed k from the start, else Infinity.
   */
  get stateCapacity(): number {
    return this.fixed ? this.capacity + this.every - 1 : Infinity;
  }

  /** Whether the step at `position` evicts at all. */
  evictsAt(position: number): boolean {
    return position >= this.evictFrom && (position - this.evictFrom) % this.every === 0;
  }

  /**
   * Entries a head may keep after the step at `position` (0-based); Infinity = no eviction. A
   * bounded layer's capacity (k, or its share of a schedule, plus every-1) is its budget.
   */
  at(position: number, layerCapacity: number): number {
    if (!this.evictsAt(position)) return Infinity;
    if (layerCapacity !== Infinity) return layerCapacity - (this.every - 1);
    let b = this.capacity;
    if (this.ratio !== undefined) b = Math.min(b, Math.max(1, Math.ceil(this.ratio * (position + 1))));
    return b;
  }

  describe(): string {
    const parts: string[] = [];
    if (this.capacity !== Infinity) parts.push(`k=${this.capacity}`);
    if (this.ratio !== undefined) parts.push(`ratio=${this.ratio}`);
    if (this.evictFrom > 0) parts.push(`evicting from position ${this.evictFrom}`);
    if (this.every > 1) parts.push(`every ${this.every} steps`);
    return parts.join(', ');
  }
}
