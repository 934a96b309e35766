// The position convention, in ONE place. RoPE rotates adjacent pairs (2j, 2j+1) of each head by
// pos · theta^(-2j/headDim). Where `pos` comes from depends on the state's PositionMode:
//  - 'absolute' (TOVA's convention, default): a key is rotated once, at its token's original
//    position, before it is cached; the new query uses its true absolute position, even after
//    entries were dropped.
//  - 'reindex' (StreamingLLM's): keys are cached unrotated; at attention time each kept key is
//    rotated at its rank among the kept entries (0 = oldest) and the query at rank count-1.
// With nothing evicted both give the same numbers (ranks equal positions).
import type { HeadCache, PositionMode } from '@msrnn/msrnn';

export type { PositionMode } from '@msrnn/msrnn';

/**
 * Writes `nHeads` consecutive heads of src (from sOff) rotated by the given per-pair cos/sin to dst
 * (from dOff). dst may be src (in place): each pair is read before it is written.
 */
function rotateHeads(dst: Float32Array, dOff: number, src: Float32Array, sOff: number, nHeads: number, headDim: number,
  cos: Float32Array, sin: Float32Array, trigOff: number): void {
  for (let h = 0; h < nHeads; h++) {
    const from = sOff + h * headDim, to = dOff + h * headDim;
    for (let i = 0, j = trigOff; i < headDim; i += 2, j++) {
      const c = cos[j]!, s = sin[j]!;
      const a = src[from + i]!, b = src[from + i + 1]!;
      dst[to + i] = a * c - b * s;
      dst[to + i + 1] = a * s + b * c;
    }
  }
}

/**
 * RoPE plus the position convention for one model. Owns small scratch buffers (allocated through
 * the backend's allocator so re-indexed keys can be read by any backend's attention kernel).
 */
export class Positions {
  private readonly halfDim: number;
  private readonly invFreq: Float64Array;
  /** cos/sin for one position (the current token's). */
  private readonly cos1: Float32Array;
  private readonly sin1: Float32Array;
  private cos1Position = -1;
  /** cos/sin tables for ranks 0..tableRows-1 ('reindex' only, grown on demand). */
  private cosTable = new Float32Array(0);
  private sinTable = new Float32Array(0);
  private tableRows = 0;
  /** Re-indexed keys of one KV head, and the sort scratch for ranking entries. */
  private rotatedKeys: Float32Array;
  private order = new Float64Array(0);

  constructor(readonly headDim: number, theta: number, private readonly alloc: (n: number) => Float32Array) {
    this.halfDim = headDim / 2;
    this.invFreq = new Float64Array(this.halfDim);
    for (let j = 0; j < this.halfDim; j++) this.invFreq[j] = Math.pow(theta, (-2 * j) / headDim);
    this.cos1 = new Float32Array(this.halfDim);
    this.sin1 = new Float32Array(this.halfDim);
    this.rotatedKeys = alloc(0);
  }

  private trigFor(position: number): void {
    if (position === this.cos1Position) return;
    for (let j = 0; j < this.halfDim; j++) {
      const angle = position * this.invFreq[j]!;
      this.cos1[j] = Math.cos(angle);
      this.sin1[j] = Math.sin(angle);
    }
    this.cos1Position = position;
  }

  /** Rotates `nHeads` heads of `vec` at `position` (plain RoPE). */
  rotate(vec: Float32Array, off: number, nHeads: number, position: number): void {
    this.trigFor(position);
    rotateHeads(vec, off, vec, off, nHeads, this.headDim, this.cos1, this.sin1, 0);
  }

  /** Prepares the new token's keys (all KV heads at `off`) for caching. */
  encodeNewKeys(mode: PositionMode, k: Float32Array, off: number, nKvHeads: number, position: number): void {
    if (mode === 'absolute') this.rotate(k, off, nKvHeads, position);
    // 'reindex': cached unrotated; rotated by rank in attentionKeys.
  }

  /** Rotates one query head for attention against `head` (which already holds the new entry). */
  encodeQuery(mode: PositionMode, q: Float32Array, off: number, position: number, head: HeadCache): void {
    this.rotate(q, off, 1, mode === 'absolute' ? position : head.count - 1);
  }

  /** The keys a query attends to: the cache itself, or (reindex) a copy rotated at each entry's rank. */
  attentionKeys(mode: PositionMode, head: HeadCache): Float32Array {
    if (mode === 'absolute') return head.keys;
    const n = head.count, hd = this.headDim;
    if (n > 1048576) throw new RangeError(`reindex position mode supports at most 1048576 cached entries per head, got ${n}`);
    this.ensureTable(n);
    if (this.rotatedKeys.length < n * hd) this.rotatedKeys = this.alloc(Math.max(n * hd, 2 * this.rotatedKeys.length));
    if (this.order.length < n) this.order = new Float64Array(Math.max(n, 2 * this.order.length));
    // Rank entries by position without a comparator: encode (position, slot) in one exact double.
    // Sort the whole scratch (unused tail = +Infinity) rather than a fresh subarray view.
    const order = this.order;
    for (let i = 0; i < n; i++) order[i] = head.positions[i]! * 1048576 + i;
    order.fill(Infinity, n);
    order.sort();
    const out = this.rotatedKeys;
    for (let rank = 0; rank < n; rank++) {
      const slot = order[rank]! % 1048576;
      rotateHeads(out, slot * hd, head.keys, slot * hd, 1, hd, this.cosTable, this.sinTable, rank * this.halfDim);
    }
    return out;
  }

  private ensureTable(rows: number): void {
    if (rows <= this.tableRows) return;
    const n = Math.max(rows, 2 * this.tableRows, 64);
    this.cosTable = new Float32Array(n * this.halfDim);
    this.sinTable = new Float32Array(n * this.halfDim);
    for (let p = 0; p < n; p++) {
      for (let j = 0; j < this.halfDim; j++) {
        const angle = p * this.invFreq[j]!;
        this.cosTable[p * this.halfDim + j] = Math.cos(angle);
        this.sinTable[p * this.halfDim + j] = Math.sin(angle);
      }
    }
    this.tableRows = n;
  }
}
