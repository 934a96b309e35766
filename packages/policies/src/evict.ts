// The generic eviction step shared by every scored policy (kvpress style: a policy is a scorer;
// this decides what leaves). Evict the unprotected entry with the lowest score, ties to the
// lowest original position, until the head (or layer) fits its budget.

/** Entries with position < sinkEnd or position >= recentFrom are never evicted. */
export interface Protection {
  sinkEnd: number;
  recentFrom: number;
}

/**
 * Slot with the lowest score among the first `count` entries, skipping protected positions;
 * ties go to the lowest position. -1 when every entry is protected.
 */
export function lowestSlot(scores: Float64Array, positions: Int32Array, count: number, keep: Protection): number {
  let best = -1;
  let bestScore = Infinity;
  let bestPos = 0;
  for (let i = 0; i < count; i++) {
    const p = positions[i]!;
    if (p < keep.sinkEnd || p >= keep.recentFrom) continue;
    const s = scores[i]!;
    if (best < 0 || s < bestScore || (s === bestScore && p < bestPos)) {
      best = i;
      bestScore = s;
      bestPos = p;
    }
  }
  return best;
}

/** Mirrors HeadCache.evict's swap-remove on a per-slot score array, so scores stay aligned for a next eviction. */
export function swapRemoveScore(scores: Float64Array, slot: number, count: number): void {
  scores[slot] = scores[count - 1]!;
}
