// The interface a compression policy implements. A policy turns the unbounded multi-state
// (keep everything) into a bounded one by choosing, after each layer's attention, which
// entries to drop. Policies are stateless objects: anything per-sequence lives in the state
// (per-entry stats), so cloning a state branches everything.
import type { LayerCache } from './cache.js';

/** What a policy sees after one layer attended for one new token. */
export interface AttentionStep {
  /** Layer index. */
  layer: number;
  /** Absolute position of the token just processed (0-based). */
  position: number;
  /**
   * Post-softmax attention weights of the new token's queries: for query head q, entry i of
   * KV head kvHead(q) = floor(q / groupSize) has weight att[q * attStride + i], i < that head's count.
   */
  att: Float32Array;
  attStride: number;
  nHeads: number;
  /** Query heads per KV head (GQA group size). */
  groupSize: number;
}

export interface Policy {
  /** Name as used on the command line (e.g. "tova"). */
  readonly name: string;
  /** Per-entry statistic slots the state must keep for this policy (0 for most). */
  readonly statsPerEntry: number;
  /**
   * Called once per layer per token, after the new entry was appended and attended. Must evict
   * until every head holds at most the budget for this step (normally `layer.capacity`).
   */
  afterAttention(layer: LayerCache, step: AttentionStep): void;
  /** Human-readable parameters, for reports. */
  describe?(): string;
}

/** Validates a capacity: a positive integer, or Infinity for an unbounded state. */
export function checkCapacity(capacity: number, what = 'capacity'): number {
  if (capacity === Infinity) return capacity;
  if (!Number.isInteger(capacity) || capacity <= 0) {
    // JSON quotes a string ("5" from an unparsed flag), which String() would show as a valid 5.
    throw new RangeError(`${what} must be a positive integer or Infinity, got ${typeof capacity === 'string' ? JSON.stringify(capacity) : String(capacity)}`);
  }
  return capacity;
}
