// The two policies that prove the abstraction; the paper's family lives in @msrnn/policies.
import type { LayerCache } from './cache.js';
import type { AttentionStep, Policy } from './policy.js';

/** Never evicts: the ordinary (unbounded) transformer. */
export const keepAll: Policy = {
  name: 'full',
  statsPerEntry: 0,
  afterAttention(): void {},
  describe: () => 'keep every entry',
};

/** Keeps the `capacity` most recent entries: evicts the lowest position while over budget. */
export const slidingWindow: Policy = {
  name: 'window',
  statsPerEntry: 0,
  afterAttention(layer: LayerCache, _step: AttentionStep): void {
    for (const head of layer.heads) {
      while (head.count > layer.capacity) head.evict(oldestSlot(head.positions, head.count));
    }
  },
  describe: () => 'keep the k most recent entries',
};

/** Slot of the lowest position among the first `count` entries. */
export function oldestSlot(positions: Int32Array, count: number): number {
  let best = 0;
  for (let i = 1; i < count; i++) if (positions[i]! < positions[best]!) best = i;
  return best;
}
