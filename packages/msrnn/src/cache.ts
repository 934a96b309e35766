// The multi-state of one layer: for each KV head, a set of (key, value, position, stats) entries.
// Storage is per KV head so head-wise policies can keep different positions in each head;
// layer-wise policies evict the same slot in every head, which keeps slot i = the same
// position in all heads of the layer. Keys and values are stored as f32, f16 or q8 (KvRows).
import { KvRows, type KvType } from '@msrnn/tensor';

/** Allocates n zeroed float32s. Backends that keep memory elsewhere (WebAssembly) supply their own. */
export type F32Alloc = (n: number) => Float32Array;
export const heapAlloc: F32Alloc = (n) => new Float32Array(n);
/** Gives an array from the matching F32Alloc back (the wasm heap's free list); absent for the GC'd heap. */
export type F32Free = (array: Float32Array) => void;

export class HeadCache {
  /** Entry i's key is row i, stored in the state's KV type (f32, f16 or q8); attention reads it as stored. */
  readonly keyRows: KvRows;
  readonly valueRows: KvRows;
  /** Original absolute position of each entry. */
  positions: Int32Array;
  /** Per-entry statistics kept by the policy (e.g. H2O's accumulated attention), statsPerEntry per entry. */
  stats: Float64Array;
  /** Live entries: slots [0, count) are valid. Order is NOT by position (evictions swap-remove). */
  count = 0;

  constructor(
    readonly headDim: number,
    readonly statsPerEntry: number,
    slots: number,
    alloc: F32Alloc,
    free?: F32Free,
    /** How keys and values are stored. */
    readonly kv: KvType = 'f32',
  ) {
    this.keyRows = new KvRows(kv, headDim, slots, alloc, free);
    this.valueRows = new KvRows(kv, headDim, slots, alloc, free);
    this.positions = new Int32Array(slots);
    this.stats = new Float64Array(slots * statsPerEntry);
  }

  /** Entry i's key is keys[i*headDim .. (i+1)*headDim) — f32 states only; any state: readKey. */
  get keys(): Float32Array {
    return this.f32Rows(this.keyRows, 'keys', 'readKey');
  }

  get values(): Float32Array {
    return this.f32Rows(this.valueRows, 'values', 'readValue');
  }

  private f32Rows(rows: KvRows, what: string, reader: string): Float32Array {
    if (rows.type !== 'f32') throw new TypeError(`HeadCache.${what}: this state stores ${rows.type} entries, not float32; read one entry with ${reader}(slot, out, offset)`);
    return rows.f32;
  }

  /** out[off .. off+headDim) = entry `slot`'s key as float32 (dequantized: what attention sees). */
  readKey(slot: number, out: Float32Array, off: number): void {
    this.keyRows.read(slot, out, off);
  }

  readValue(slot: number, out: Float32Array, off: number): void {
    this.valueRows.read(slot, out, off);
  }

  /** Stores the new entry's key and value (headDim floats each) in slot `slot`, rounded to the state's KV type. */
  writeEntry(slot: number, k: Float32Array, kOff: number, v: Float32Array, vOff: number): void {
    this.keyRows.write(slot, k, kOff);
    this.valueRows.write(slot, v, vOff);
  }

  /** Grows storage to at least `slots` entries, copying live entries. Never called on a bounded state after creation. */
  private reserve(slots: number): void {
    if (slots <= this.slots) return;
    this.keyRows.grow(slots, this.count);
    this.valueRows.grow(slots, this.count);
    const positions = new Int32Array(slots);
    positions.set(this.positions.subarray(0, this.count));
    const stats = new Float64Array(slots * this.statsPerEntry);
    stats.set(this.stats.subarray(0, this.count * this.statsPerEntry));
    this.positions = positions; this.stats = stats;
  }

  /** Allocated entries (every per-entry array is sized for this many). */
  get slots(): number {
    return this.positions.length;
  }

  /**
   * Opens a slot for a new entry at `position` and returns it; the caller writes key and value
   * at slot*headDim. Grows by doubling when full (only unbounded states ever fill up).
   */
  push(position: number): number {
    if (this.count === this.slots) this.reserve(Math.max(1, this.slots * 2));
    const slot = this.count++;
    this.positions[slot] = position;
    const s = this.statsPerEntry;
    if (s > 0) this.stats.fill(0, slot * s, slot * s + s);
    return slot;
  }

  /** Removes entry `slot` by moving the last entry into its place: O(headDim), no shifting. */
  evict(slot: number): void {
    const last = this.count - 1;
    if (slot < 0 || slot > last) throw new RangeError(`evict: slot ${slot} out of range [0, ${this.count})`);
    if (slot !== last) {
      this.keyRows.move(slot, last);
      this.valueRows.move(slot, last);
      this.positions[slot] = this.positions[last]!;
      const s = this.statsPerEntry;
      if (s > 0) this.stats.copyWithin(slot * s, last * s, last * s + s);
    }
    this.count = last;
  }

  /** Slot holding `position`, or -1. */
  slotOf(position: number): number {
    const p = this.positions;
    for (let i = 0; i < this.count; i++) if (p[i] === position) return i;
    return -1;
  }

  /** Sorted original positions of the live entries (for inspection and tests, not hot paths). */
  keptPositions(): number[] {
    return Array.from(this.positions.subarray(0, this.count)).sort((a, b) => a - b);
  }

  bytes(): number {
    return this.keyRows.byteLength + this.valueRows.byteLength + this.positions.byteLength + this.stats.byteLength;
  }

  /** Gives the storage back and leaves the head empty, with no slots (MultiState.dispose). */
  release(): void {
    this.keyRows.release(); this.valueRows.release();
    this.positions = new Int32Array(0); this.stats = new Float64Array(0);
    this.count = 0;
  }

  /**
   * Copies src's entries into this head. The statistics are copied when both keep the same number
   * per entry; a head whose policy keeps none (MultiState.cloneWithPolicy) copies none.
   */
  copyFrom(src: HeadCache): void {
    this.reserve(src.count);
    this.keyRows.copyFrom(src.keyRows, src.count);
    this.valueRows.copyFrom(src.valueRows, src.count);
    this.positions.set(src.positions.subarray(0, src.count));
    this.stats.set(src.stats.subarray(0, src.count * this.statsPerEntry));
    this.count = src.count;
  }
}

export class LayerCache {
  readonly heads: HeadCache[];

  constructor(
    readonly index: number,
    nKvHeads: number,
    readonly headDim: number,
    /** Entries kept per KV head after each step's eviction; Infinity = unbounded. */
    readonly capacity: number,
    statsPerEntry: number,
    initialSlots: number,
    alloc: F32Alloc,
    /** The model's sliding window on this layer (key j visible from query i when i − W < j ≤ i); Infinity = global. */
    readonly window = Infinity,
    free?: F32Free,
    /** How keys and values are stored. */
    readonly kv: KvType = 'f32',
  ) {
    this.heads = [];
    for (let h = 0; h < nKvHeads; h++) this.heads.push(new HeadCache(headDim, statsPerEntry, initialSlots, alloc, free, kv));
  }

  /** Most entries any head holds (equal in every head for layer-wise policies). */
  get maxCount(): number {
    let m = 0;
    for (const h of this.heads) if (h.count > m) m = h.count;
    return m;
  }

  /** Layer-wise eviction: removes the entry at `slot` from every head (slots are aligned under layer-wise policies). */
  evictSlotAllHeads(slot: number): void {
    for (const h of this.heads) h.evict(slot);
  }

  /**
   * After the step at `position`: drops the entries the next query (position + 1) cannot see
   * through this layer's window. Every head drops the same positions in the same order, so
   * layer-wise slot alignment holds.
   */
  slideWindow(position: number): void {
    const lastHidden = position + 1 - this.window;
    if (lastHidden < 0) return;
    for (const h of this.heads) {
      for (let s = h.count - 1; s >= 0; s--) if (h.positions[s]! <= lastHidden) h.evict(s);
    }
  }

  bytes(): number {
    let b = 0;
    for (const h of this.heads) b += h.bytes();
    return b;
  }
}
