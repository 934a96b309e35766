// Rows of cached key or value entries stored in fewer bits: f32, f16 (IEEE half bits) or q8
// (int8 per block of 32 with one f32 scale per block, the Q8 weight layout of ../quant). A state
// keeps one KvRows for its keys and one for its values per KV head; attention reads them as they
// are stored (./attention.ts), policies read one entry back as float32 through `read`.
import { float16Bits, float16Table } from '../fp16.js';
import { Q8_BLOCK, quantizeQ8Row } from '../quant/weights.js';

export type KvType = 'f32' | 'f16' | 'q8';
export const KV_TYPES: readonly KvType[] = ['f32', 'f16', 'q8'];

/** Validates a KV storage type; `what` names it in the error. */
export function checkKvType(value: unknown, what = 'kv type'): KvType {
  if ((KV_TYPES as readonly unknown[]).includes(value)) return value as KvType;
  throw new RangeError(`${what} must be one of ${KV_TYPES.join(', ')}, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
}

/** Bytes one stored row of `width` values takes: f32 4·w, f16 2·w, q8 w int8 plus a 4-byte scale per block of 32. */
export function kvRowBytes(type: KvType, width: number): number {
  return type === 'f32' ? 4 * width : type === 'f16' ? 2 * width : width + 4 * Math.ceil(width / Q8_BLOCK);
}

/** Largest finite half: larger magnitudes are stored as ±65504 rather than ±Infinity (which would turn attention into NaN). */
const F16_MAX = 65504;

/** Allocates n zeroed float32s (a backend's memory for the wasm backend). Other element types are views of such storage. */
export type KvAlloc = (n: number) => Float32Array;
/** Gives back an array KvAlloc returned (the wasm heap's free list); absent for garbage-collected storage. */
export type KvFree = (array: Float32Array) => void;

export class KvRows {
  /** Row r is f32[r·width ..] (type f32 only; empty otherwise). */
  f32: Float32Array = new Float32Array(0);
  /** Row r is bits[r·width ..] (type f16 only). */
  bits: Uint16Array = new Uint16Array(0);
  /** Row r is q[r·width ..] with block b's scale at scales[r·blocks + b] (type q8 only). */
  q: Int8Array = new Int8Array(0);
  scales: Float32Array = new Float32Array(0);
  /** Scale blocks per row (q8). */
  readonly blocks: number;
  private allocated = 0;
  /** What `alloc` returned for the current storage (the f16/q8 arrays are views of it), given back to `free`. */
  private storage: Float32Array[] = [];

  constructor(readonly type: KvType, readonly width: number, rows: number, private readonly alloc: KvAlloc, private readonly free?: KvFree) {
    checkKvType(type);
    this.blocks = Math.ceil(width / Q8_BLOCK);
    this.allocate(rows);
  }

  /** Rows the storage holds. */
  get rows(): number {
    return this.allocated;
  }

  /** Replaces the storage with room for `rows` rows, copying the first `keep`. */
  grow(rows: number, keep: number): void {
    const old = { f32: this.f32, bits: this.bits, q: this.q, scales: this.scales, storage: this.storage };
    this.allocate(rows);
    const n = keep * this.width;
    this.f32.set(old.f32.subarray(0, this.type === 'f32' ? n : 0));
    this.bits.set(old.bits.subarray(0, this.type === 'f16' ? n : 0));
    this.q.set(old.q.subarray(0, this.type === 'q8' ? n : 0));
    this.scales.set(old.scales.subarray(0, this.type === 'q8' ? keep * this.blocks : 0));
    for (const a of old.storage) this.free?.(a);
  }

  /** Gives the storage back (to `free`) and leaves no rows. */
  release(): void {
    for (const a of this.storage) this.free?.(a);
    this.storage = [];
    this.f32 = new Float32Array(0); this.bits = new Uint16Array(0); this.q = new Int8Array(0); this.scales = new Float32Array(0);
    this.allocated = 0;
  }

  private allocate(rows: number): void {
    const n = rows * this.width, a = this.alloc;
    // Half and int8 storage are views of float32 storage, so one allocator serves every type.
    if (this.type === 'f32') { this.f32 = a(n); this.storage = [this.f32]; }
    else if (this.type === 'f16') {
      const f = a(Math.ceil(n / 2));
      this.bits = new Uint16Array(f.buffer, f.byteOffset, n);
      this.storage = [f];
    } else {
      const f = a(Math.ceil(n / 4));
      this.q = new Int8Array(f.buffer, f.byteOffset, n);
      this.scales = a(rows * this.blocks);
      this.storage = [f, this.scales];
    }
    this.allocated = rows;
  }

  /** Stores src[sOff .. sOff + width) as row `row`, rounded to the storage type. */
  write(row: number, src: Float32Array, sOff: number): void {
    const w = this.width, o = row * w;
    if (this.type === 'f32') { for (let d = 0; d < w; d++) this.f32[o + d] = src[sOff + d]!; return; }
    if (this.type === 'f16') {
      for (let d = 0; d < w; d++) this.bits[o + d] = float16Bits(Math.max(-F16_MAX, Math.min(F16_MAX, src[sOff + d]!)));
      return;
    }
    quantizeQ8Row(this.q, o, this.scales, row * this.blocks, src, sOff, w);
  }

  /** dst[dOff .. dOff + width) = row `row` as float32 (dequantized). */
  read(row: number, dst: Float32Array, dOff: number): void {
    const w = this.width, o = row * w;
    if (this.type === 'f32') { for (let d = 0; d < w; d++) dst[dOff + d] = this.f32[o + d]!; return; }
    if (this.type === 'f16') {
      const t = float16Table();
      for (let d = 0; d < w; d++) dst[dOff + d] = t[this.bits[o + d]!]!;
      return;
    }
    for (let b = 0; b < this.blocks; b++) {
      const s = this.scales[row * this.blocks + b]!, c0 = b * Q8_BLOCK, c1 = Math.min(w, c0 + Q8_BLOCK);
      for (let c = c0; c < c1; c++) dst[dOff + c] = this.q[o + c]! * s;
    }
  }

  /** Row `to` ← row `from` (as stored: no rounding again). */
  move(to: number, from: number): void {
    const w = this.width;
    if (this.type === 'f32') this.f32.copyWithin(to * w, from * w, from * w + w);
    else if (this.type === 'f16') this.bits.copyWithin(to * w, from * w, from * w + w);
    else {
      this.q.copyWithin(to * w, from * w, from * w + w);
      this.scales.copyWithin(to * this.blocks, from * this.blocks, (from + 1) * this.blocks);
    }
  }

  /** The stored bytes of rows [0, n), in a fixed order: what a saved state writes, and `storedBytes(n)[i].set(...)` restores. */
  storedBytes(n: number): Uint8Array[] {
    const bytesOf = (a: Float32Array | Uint16Array | Int8Array, len: number) => new Uint8Array(a.buffer, a.byteOffset, len * a.BYTES_PER_ELEMENT);
    const e = n * this.width;
    if (this.type === 'f32') return [bytesOf(this.f32, e)];
    if (this.type === 'f16') return [bytesOf(this.bits, e)];
    return [bytesOf(this.q, e), bytesOf(this.scales, n * this.blocks)];
  }

  /** Copies rows [0, n) of `src` (same type and width), growing if needed. */
  copyFrom(src: KvRows, n: number): void {
    if (src.type !== this.type || src.width !== this.width) throw new RangeError(`KvRows.copyFrom: ${src.type}×${src.width} rows into ${this.type}×${this.width}`);
    if (n > this.rows) this.grow(n, 0);
    const to = this.storedBytes(n);
    src.storedBytes(n).forEach((b, i) => to[i]!.set(b));
  }

  /** Bytes of storage held (allocated rows, not only live ones). */
  get byteLength(): number {
    return this.allocated * kvRowBytes(this.type, this.width);
  }
}
