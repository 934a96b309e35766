// The free ranges of a heap, sorted by address, adjacent ranges merged. Best fit: a model loaded
// again after one was disposed asks for the same sizes in the same order and lands in the same
// places, so repeated load/dispose cycles leave no fragments behind. A heap holds hundreds of
// allocations, not millions, so a sorted array (binary search, linear best-fit scan) is enough.

export class FreeList {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  /** Free ranges held. */
  get size(): number { return this.starts.length; }

  /** Bytes held in all free ranges. */
  get bytes(): number {
    let n = 0;
    for (let i = 0; i < this.starts.length; i++) n += this.ends[i]! - this.starts[i]!;
    return n;
  }

  /** End of the highest free range, or -1 when there is none. */
  get lastEnd(): number { return this.ends.length === 0 ? -1 : this.ends[this.ends.length - 1]!; }

  /** Removes and returns the start of the highest range (callers check lastEnd first). */
  popLast(): number {
    this.ends.pop();
    return this.starts.pop()!;
  }

  /** Adds [start, end), merging with its neighbours. Overlap with a free range is a double free. */
  add(start: number, end: number): void {
    const i = this.indexAfter(start); // first range starting after `start`
    const prevEnd = i > 0 ? this.ends[i - 1]! : -1;
    if (prevEnd > start || (i < this.starts.length && this.starts[i]! < end)) {
      throw new Error(`wasm heap: [${start}, ${end}) overlaps a free range (freed twice?)`);
    }
    const joinPrev = prevEnd === start, joinNext = i < this.starts.length && this.starts[i] === end;
    if (joinPrev && joinNext) { this.ends[i - 1] = this.ends[i]!; this.starts.splice(i, 1); this.ends.splice(i, 1); }
    else if (joinPrev) this.ends[i - 1] = end;
    else if (joinNext) this.starts[i] = start;
    else { this.starts.splice(i, 0, start); this.ends.splice(i, 0, end); }
  }

  /**
   * Takes `bytes` at an `align`-aligned address from the smallest range that fits; returns the
   * address, or -1 when none fits. The parts of the range before and after stay free.
   */
  take(bytes: number, align: number): number {
    let best = -1, bestLength = Infinity;
    for (let i = 0; i < this.starts.length; i++) {
      const length = this.ends[i]! - this.starts[i]!;
      if (length < bytes || length >= bestLength) continue;
      if (alignUp(this.starts[i]!, align) + bytes <= this.ends[i]!) { best = i; bestLength = length; }
    }
    if (best < 0) return -1;
    const start = this.starts[best]!, end = this.ends[best]!, at = alignUp(start, align);
    this.starts.splice(best, 1);
    this.ends.splice(best, 1);
    if (at > start) this.add(start, at);
    if (at + bytes < end) this.add(at + bytes, end);
    return at;
  }

  private indexAfter(address: number): number {
    let lo = 0, hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! <= address) lo = mid + 1; else hi = mid;
    }
    return lo;
  }
}

export function alignUp(address: number, align: number): number {
  return Math.ceil(address / align) * align;
}
