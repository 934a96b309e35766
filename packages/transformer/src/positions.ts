// The position convention, in ONE place. RoPE rotates pairs of each head's first rotaryDim dims
// (interleaved or half layout, see @msrnn/tensor raw.rotateHeads) by pos · invFreq[pair]. Where
// `pos` comes from depends on the state's PositionMode:
//  - 'absolute' (TOVA's convention, default): a key is rotated once, at its token's original
//    position, before it is cached; the new query uses its true absolute position, even after
//    entries were dropped.
//  - 'reindex' (StreamingLLM's): keys are cached unrotated; at attention time each kept key is
//    rotated at its rank among the kept entries (0 = oldest) and the query at rank count-1.
// With nothing evicted both give the same numbers (ranks equal positions). Models with learned
// absolute positions (gpt2) add them to the input instead; their keys carry their own position
// and cannot be re-indexed.
import type { HeadCache, PositionMode } from '@msrnn/msrnn';
import { KvRows, raw } from '@msrnn/tensor';
import { headDimOf, rotaryDimOf, type ModelConfig } from './config.js';
import { ropeFrequencies } from './rope-frequencies.js';

export type { PositionMode } from '@msrnn/msrnn';

/** How a layer's attention sees positions: what append and attend call. */
export interface Positions {
  /** Prepares the new token's keys (all KV heads at `off`) for caching. */
  encodeNewKeys(mode: PositionMode, k: Float32Array, off: number, nKvHeads: number, position: number): void;
  /** Prepares one query head for attention against `head` (which already holds the new entry). */
  encodeQuery(mode: PositionMode, q: Float32Array, off: number, position: number, head: HeadCache): void;
  /** The keys a query attends to: the cache's own rows, or (reindex) f32 copies rotated at each entry's rank. */
  attentionKeys(mode: PositionMode, head: HeadCache): KvRows;
}

/** The Positions of a model's architecture (allocating through `alloc`). */
export function positionsFor(c: ModelConfig, alloc: (n: number) => Float32Array, free: (a: Float32Array) => void = () => {}): Positions {
  const p = c.arch.positions;
  if (p.kind === 'learned') return LEARNED;
  return new RopePositions(headDimOf(c), rotaryDimOf(c), p.layout, ropeFrequencies(rotaryDimOf(c), p.theta, p.scaling), alloc, free);
}

/** Learned absolute positions were added to the input (see embed.ts): q and k are used as they are. */
const LEARNED: Positions = {
  encodeNewKeys() {},
  encodeQuery() {},
  attentionKeys(mode, head) {
    if (mode === 'reindex') throw new Error('reindex position mode needs RoPE; this model has learned absolute positions');
    return head.keyRows;
  },
};

/**
 * RoPE plus the position convention for one model. Owns small scratch buffers (allocated through
 * the backend's allocator so re-indexed keys can be read by any backend's attention kernel).
 */
export class RopePositions implements Positions {
  private readonly pairs: number;
  /** cos/sin for one position (the current token's). */
  private readonly cos1: Float32Array;
  private readonly sin1: Float32Array;
  private cos1Position = -1;
  /** cos/sin tables for ranks 0..tableRows-1 ('reindex' only, grown on demand). */
  private cosTable = new Float32Array(0);
  private sinTable = new Float32Array(0);
  private tableRows = 0;
  /** Re-indexed keys of one KV head (f32, dequantized from the stored type), and the sort scratch for ranking entries. */
  private rotatedKeys: KvRows;
  private order = new Float64Array(0);

  constructor(readonly headDim: number, readonly rotaryDim: number, readonly layout: raw.RopeLayout,
    private readonly invFreq: Float64Array, private readonly alloc: (n: number) => Float32Array,
    private readonly free: (a: Float32Array) => void = () => {}) {
    this.pairs = rotaryDim / 2;
    if (invFreq.length !== this.pairs) throw new RangeError(`RopePositions: ${invFreq.length} frequencies for ${this.pairs} rotated pairs`);
    this.cos1 = new Float32Array(this.pairs);
    this.sin1 = new Float32Array(this.pairs);
    this.rotatedKeys = new KvRows('f32', headDim, 0, alloc, free);
  }

  /** Rotates `nHeads` heads of `vec` at `position` (plain RoPE). */
  rotate(vec: Float32Array, off: number, nHeads: number, position: number): void {
    if (position !== this.cos1Position) {
      raw.ropeAngles(this.cos1, this.sin1, 0, position, this.invFreq);
      this.cos1Position = position;
    }
    raw.rotateHeads(vec, off, vec, off, nHeads, this.headDim, this.rotaryDim, this.layout, this.cos1, this.sin1, 0);
  }

  encodeNewKeys(mode: PositionMode, k: Float32Array, off: number, nKvHeads: number, position: number): void {
    if (mode === 'absolute') this.rotate(k, off, nKvHeads, position);
    // 'reindex': cached unrotated; rotated by rank in attentionKeys.
  }

  encodeQuery(mode: PositionMode, q: Float32Array, off: number, position: number, head: HeadCache): void {
    this.rotate(q, off, 1, mode === 'absolute' ? position : head.count - 1);
  }

  attentionKeys(mode: PositionMode, head: HeadCache): KvRows {
    if (mode === 'absolute') return head.keyRows;
    const n = head.count, hd = this.headDim;
    if (n > 1048576) throw new RangeError(`reindex position mode supports at most 1048576 cached entries per head, got ${n}`);
    this.ensureTable(n);
    if (this.rotatedKeys.rows < n) this.rotatedKeys.grow(Math.max(n, 2 * this.rotatedKeys.rows), 0);
    if (this.order.length < n) this.order = new Float64Array(Math.max(n, 2 * this.order.length));
    // Rank entries by position without a comparator: encode (position, slot) in one exact double.
    // Sort the whole scratch (unused tail = +Infinity) rather than a fresh subarray view.
    const order = this.order;
    for (let i = 0; i < n; i++) order[i] = head.positions[i]! * 1048576 + i;
    order.fill(Infinity, n);
    order.sort();
    const out = this.rotatedKeys.f32;
    for (let rank = 0; rank < n; rank++) {
      const slot = order[rank]! % 1048576;
      // Stored keys of any type come back as f32 here, then rotate in place.
      head.readKey(slot, out, slot * hd);
      raw.rotateHeads(out, slot * hd, out, slot * hd, 1, hd, this.rotaryDim, this.layout, this.cosTable, this.sinTable, rank * this.pairs);
    }
    return this.rotatedKeys;
  }

  private ensureTable(rows: number): void {
    if (rows <= this.tableRows) return;
    const n = Math.max(rows, 2 * this.tableRows, 64);
    this.cosTable = new Float32Array(n * this.pairs);
    this.sinTable = new Float32Array(n * this.pairs);
    for (let p = 0; p < n; p++) raw.ropeAngles(this.cosTable, this.sinTable, p * this.pairs, p, this.invFreq);
    this.tableRows = n;
  }
}
