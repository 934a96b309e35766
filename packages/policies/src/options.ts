// What getPolicy accepts: the budget (any policy but `full`) and each policy's own knobs. A knob
// only the policies that read it look at; a key that is no option at all is an error.
import { shown, type BudgetOptions } from './budget.js';

export interface PolicyOptions extends BudgetOptions {
  /** Window+i, StreamingLLM: positions never evicted (default 4). */
  sinks?: number;
  /** H2O: share of the budget that is the recent window (default 0.5). */
  recentFraction?: number;
  /** Random policies: seed (default 0). */
  seed?: number;
  /** SnapKV: observation window, the last w queries whose attention scores an entry (default 8). */
  window?: number;
  /** SnapKV: max-pool kernel over positions, odd (default 5). */
  kernel?: number;
}

export const optionNames: readonly (keyof PolicyOptions)[] = ['capacity', 'ratio', 'evictFrom', 'sinks', 'recentFraction', 'seed', 'window', 'kernel', 'every'];

/** An integer knob in [min, ∞) or its default; a clear error naming the policy and the knob otherwise. */
export function intOption(policy: string, what: string, value: number | undefined, fallback: number, min: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new RangeError(`policy "${policy}": ${what} must be an integer >= ${min}, got ${shown(v)}`);
  return v;
}
