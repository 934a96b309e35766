// The interface a compression policy implements. A policy turns the unbounded multi-state
// (keep everything) into a bounded one by choosing, after each layer's attention, which
// entries to drop. Policies are stateless objects: anything per-sequence lives in the state
// (per-entry stats), so cloning a state branches everything. The policies themselves (window,
// TOVA, H2O, …) live in @msrnn/policies; this package keeps only `keepAll`, the state's default.
import type { LayerCache } from './cache.js';

/**
 * How cached keys relate to positions. 'absolute' (default, TOVA's convention): keys are stored
 * with their position encoding applied at the token's original position, and a new query uses its
 * true absolute position even after entries were dropped. 'reindex' (StreamingLLM's): keys are
 * stored without position encoding and the model encodes them at attention time at their rank
 * among the kept entries. The model (not the state) implements both; the state only records which.
 */
export type PositionMode = 'absolute' | 'reindex';

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
  /**
   * Entries each KV head may hold after a step: the state's capacity. A finite k makes the state
   * bounded (k+1 slots per head allocated once, never grown); Infinity lets storage grow (keep-all,
   * or a policy enforcing a budget that grows with the text, e.g. a ratio of the tokens seen).
   */
  readonly capacity: number;
  /** Per-layer capacity, when layers differ (a budget schedule); default `capacity` for every layer. */
  layerCapacity?(layer: number, nLayers: number): number;
  /** Per-entry statistic slots the state must keep for this policy; default 0. */
  readonly statsPerEntry?: number;
  /** How keys must be stored for this policy (StreamingLLM re-indexes); default: the state's option. */
  readonly positionMode?: PositionMode;
  /**
   * Called once per layer per token, after the new entry was appended and attended. Must evict
   * until every head holds at most the budget for this step (at most `layer.capacity`).
   */
  afterAttention(layer: LayerCache, step: AttentionStep): void;
  /** Human-readable parameters, for reports. */
  describe?(): string;
}

/** Never evicts: the ordinary (unbounded) transformer, and the state's default policy. */
export const keepAll: Policy = {
  name: 'full',
  capacity: Infinity,
  afterAttention(): void {},
  describe: () => 'unbounded',
};

/**
 * `inner` with its `afterAttention` replaced (to count, record or check around it); every other
 * field, getter and method — capacity, statsPerEntry, describe, a budget — is the inner policy's,
 * read through the prototype, so a wrapper can never drop one. `afterAttention` must call
 * `inner.afterAttention(layer, step)` itself.
 */
export function wrapPolicy<P extends Policy>(inner: P, afterAttention: (layer: LayerCache, step: AttentionStep) => void): P {
  const wrapped = Object.create(inner) as P;
  Object.defineProperty(wrapped, 'afterAttention', { value: afterAttention, enumerable: true });
  return wrapped;
}

/** Validates a capacity: a positive integer, or Infinity for an unbounded state. */
export function checkCapacity(capacity: number, what = 'capacity'): number {
  if (capacity === Infinity) return capacity;
  if (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity <= 0) {
    // JSON quotes a string ("5" from an unparsed flag), which String() would show as a valid 5.
    throw new RangeError(`${what} must be a positive integer or Infinity, got ${typeof capacity === 'string' ? JSON.stringify(capacity) : String(capacity)}`);
  }
  return capacity;
}
