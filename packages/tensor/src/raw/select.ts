// Selection over a contiguous vector (greedy decoding, top-k sampling). NaN entries are never
// selected: a NaN logit is a bug upstream, and picking it would hide that as a plausible token.

/** Index (relative to xOff) of the first maximum of x[xOff .. xOff+n), or -1 if n = 0 or all are NaN. */
export function argmax(x: Float32Array, xOff: number, n: number): number {
  let best = -1, bestValue = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[xOff + i]!;
    if (v > bestValue || (best < 0 && v === -Infinity)) { best = i; bestValue = v; }
  }
  return best;
}

/**
 * The k largest entries of x[xOff .. xOff+n), best first (ties: lower index first), written to
 * outIndex[0..k) (indices relative to xOff) and outValue[0..k). Returns how many were found,
 * min(k, non-NaN count); unused slots get index -1 and value NaN. O(n log k), no allocation:
 * the outputs themselves hold a min-heap of the best so far, heap-sorted at the end.
 */
export function topk(outIndex: Int32Array, outValue: Float32Array, x: Float32Array, xOff: number,
  n: number, k: number): number {
  let size = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOff + i]!;
    if (v !== v) continue; // NaN
    if (size < k) {
      // Sift the new entry up.
      let c = size++;
      while (c > 0) {
        const parent = (c - 1) >> 1;
        if (!worse(v, i, outValue[parent]!, outIndex[parent]!)) break;
        outValue[c] = outValue[parent]!; outIndex[c] = outIndex[parent]!;
        c = parent;
      }
      outValue[c] = v; outIndex[c] = i;
    } else if (k > 0 && worse(outValue[0]!, outIndex[0]!, v, i)) {
      siftDown(outIndex, outValue, v, i, size);
    }
  }
  // Heap sort: repeatedly move the worst to the end, leaving the best first.
  for (let end = size - 1; end > 0; end--) {
    const v = outValue[end]!, idx = outIndex[end]!;
    outValue[end] = outValue[0]!; outIndex[end] = outIndex[0]!;
    siftDown(outIndex, outValue, v, idx, end);
  }
  for (let s = size; s < k; s++) { outIndex[s] = -1; outValue[s] = NaN; }
  return size;
}

/** Whether (v1, i1) ranks below (v2, i2): smaller value, or equal value and later index. */
function worse(v1: number, i1: number, v2: number, i2: number): boolean {
  return v1 < v2 || (v1 === v2 && i1 > i2);
}

/** Places (v, idx) at the root of the min-heap [0, size) and sifts it down. */
function siftDown(outIndex: Int32Array, outValue: Float32Array, v: number, idx: number, size: number): void {
  let c = 0;
  for (;;) {
    let child = 2 * c + 1;
    if (child >= size) break;
    if (child + 1 < size && worse(outValue[child + 1]!, outIndex[child + 1]!, outValue[child]!, outIndex[child]!)) child++;
    if (!worse(outValue[child]!, outIndex[child]!, v, idx)) break;
    outValue[c] = outValue[child]!; outIndex[c] = outIndex[child]!;
    c = child;
  }
  outValue[c] = v; outIndex[c] = idx;
}
