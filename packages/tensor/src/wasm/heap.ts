// One WebAssembly.Memory handing out typed-array views: a bump pointer for fresh memory plus a
// free list (./free-list.ts) of what models and states gave back, so loading and disposing models
// in a loop reuses the same bytes instead of growing the memory until it fails.
//
// Memory growth and views, by design:
// - Shared memory (the default where SharedArrayBuffer exists, e.g. Node): growing a shared
//   memory does NOT detach earlier SharedArrayBuffers — old views keep pointing at the same bytes.
//   So the heap grows on demand up to `maximumBytes` (default 4 GiB) and every view stays valid.
// - Non-shared memory (browsers without cross-origin isolation): growth would detach every view
//   the model holds, so the heap never grows; it reserves `initialBytes` (default 256 MiB) up front
//   and `alloc` fails with a clear error beyond that. Untouched pages cost no physical memory.
// A WebAssembly.Memory never shrinks: freed bytes are reused by later allocations, not returned
// to the operating system. Freed bytes are zeroed at once, so every allocation starts zeroed.

import { alignUp, FreeList } from './free-list.js';
import { RESERVED_LOW_BYTES } from './low-memory.js';

const PAGE = 65536;
/** Allocation granule: every size is rounded up to it (and v128 loads want 16-byte alignment). */
const GRANULE = 16;
const MAX_PAGES = 65536; // 4 GiB: the wasm32 limit

export interface WasmHeapOptions {
  /** Bytes committed at creation (rounded up to 64 KiB pages). Default 16 MiB shared, 256 MiB non-shared. */
  initialBytes?: number;
  /** Largest size a shared heap may grow to. Default 4 GiB. Ignored for non-shared heaps (fixed size). */
  maximumBytes?: number;
  /** Use a shared memory (needed for threads). Default: whenever SharedArrayBuffer is available. */
  shared?: boolean;
}

export function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return true;
  } catch {
    return false;
  }
}

function pagesFor(bytes: number, what: string): number {
  if (!Number.isFinite(bytes) || bytes <= 0) throw new RangeError(`wasm heap: ${what} must be a positive number of bytes, got ${bytes}`);
  const pages = Math.ceil(bytes / PAGE);
  if (pages > MAX_PAGES) throw new RangeError(`wasm heap: ${what} ${bytes} exceeds the 4 GiB wasm32 limit`);
  return pages;
}

export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  readonly maximumPages: number;
  /** Every buffer object this memory has exposed (a shared memory exposes a new one per growth). */
  private readonly buffers: ArrayBufferLike[] = [];
  private top = RESERVED_LOW_BYTES; // 0..63 unused (0 is never a valid allocation), then the kernels' tables (./low-memory.ts)
  /** Reserved bytes of every live allocation, by address. */
  private readonly live = new Map<number, number>();
  private readonly freeRanges = new FreeList();
  private liveBytes = 0;

  constructor(opts: WasmHeapOptions = {}) {
    this.shared = opts.shared ?? sharedMemoryAvailable();
    if (this.shared && !sharedMemoryAvailable()) {
      throw new Error('wasm heap: shared memory requested but SharedArrayBuffer is unavailable (browsers need cross-origin isolation)');
    }
    const initial = pagesFor(opts.initialBytes ?? (this.shared ? 16 : 256) * 1024 * 1024, 'initialBytes');
    this.maximumPages = this.shared ? Math.max(initial, pagesFor(opts.maximumBytes ?? MAX_PAGES * PAGE, 'maximumBytes')) : initial;
    this.memory = this.shared
      ? new WebAssembly.Memory({ initial, maximum: this.maximumPages, shared: true })
      : new WebAssembly.Memory({ initial, maximum: initial });
    this.buffers.push(this.memory.buffer);
  }

  /** Current buffer (the latest one after growth). */
  get buffer(): ArrayBufferLike { return this.buffers[this.buffers.length - 1]!; }

  get capacityBytes(): number { return this.buffer.byteLength; }

  /** Bytes held by live allocations (rounded up to 16 each). */
  get usedBytes(): number { return this.liveBytes; }

  /**
   * Bytes later allocations can still get: up to the largest size the memory may grow to (a
   * non-shared memory: its fixed size), less what live allocations hold. Loaders compare a model's
   * size with it before allocating anything.
   */
  get roomBytes(): number { return this.maximumPages * PAGE - this.liveBytes - RESERVED_LOW_BYTES; }

  /** End of the highest allocation ever made and not given back: the part of the memory in use. */
  get highWaterBytes(): number { return this.top; }

  /** Reserves `bytes` (aligned to `align`, default 16 for v128 loads) and returns its byte address. */
  allocBytes(bytes: number, align = GRANULE): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`wasm heap: cannot allocate ${bytes} bytes`);
    const size = Math.max(GRANULE, alignUp(bytes, GRANULE)); // never 0: each allocation has its own address
    let start = this.freeRanges.take(size, align);
    if (start < 0) {
      start = alignUp(this.top, align);
      // 16 bytes of slack past the top so a vector load at the last element stays in memory.
      const end = start + size + 16;
      if (end > this.buffer.byteLength) this.grow(end);
      if (start > this.top) this.freeRanges.add(this.top, start);
      this.top = start + size;
    }
    this.live.set(start, size);
    this.liveBytes += size;
    return start;
  }

  /**
   * Gives back the allocation starting at `address` (from allocBytes). Every view of it must no
   * longer be used: its bytes are zeroed and handed to later allocations.
   */
  freeBytes(address: number): void {
    const size = this.live.get(address);
    if (size === undefined) throw new Error(`wasm heap: no live allocation starts at byte ${address} (freed twice, or a view into the middle of one)`);
    this.live.delete(address);
    this.liveBytes -= size;
    // Eight bytes per store (allocations are 16-byte granules): on a shared memory V8 fills a typed
    // array element by element, so a byte view zeroed about 1 GB/s (a 100 MiB model's dispose
    // took ~30-95 ms), a Float64Array view 4-7x faster (bench/heap-free.bench.ts).
    new Float64Array(this.buffer, address, size / 8).fill(0);
    if (address + size === this.top) {
      this.top = address;
      while (this.freeRanges.lastEnd === this.top) this.top = this.freeRanges.popLast();
    } else {
      this.freeRanges.add(address, address + size);
    }
  }

  /** Gives back an array from f32/u16/i8/u8 (the whole array, not a subarray of it). */
  free(view: ArrayBufferView): void {
    if (!this.owns(view)) throw new Error('wasm heap: cannot free an array that is not in this heap');
    const size = this.live.get(view.byteOffset);
    if (size !== undefined && view.byteLength > size) throw new Error(`wasm heap: the array at byte ${view.byteOffset} is longer (${view.byteLength} bytes) than its allocation (${size})`);
    this.freeBytes(view.byteOffset);
  }

  // (allocate first: it may grow the memory, which changes this.buffer)
  f32(n: number): Float32Array { const at = this.allocBytes(n * 4); return new Float32Array(this.buffer, at, n); }
  i16(n: number): Int16Array { const at = this.allocBytes(n * 2); return new Int16Array(this.buffer, at, n); }
  u16(n: number): Uint16Array { const at = this.allocBytes(n * 2); return new Uint16Array(this.buffer, at, n); }
  i8(n: number): Int8Array { const at = this.allocBytes(n); return new Int8Array(this.buffer, at, n); }
  u8(n: number): Uint8Array { const at = this.allocBytes(n); return new Uint8Array(this.buffer, at, n); }

  /** Whether `view` lies in this heap's memory. */
  owns(view: ArrayBufferView): boolean {
    const b = view.buffer;
    if (b === this.buffer) return true;
    for (let i = this.buffers.length - 2; i >= 0; i--) if (this.buffers[i] === b) return true;
    // A shared memory's .buffer getter can return a fresh wrapper object; compare once more.
    if (this.memory.buffer !== this.buffer && this.memory.buffer === b) { this.buffers.push(b); return true; }
    return false;
  }

  private grow(endBytes: number): void {
    const need = Math.ceil(endBytes / PAGE);
    const have = this.buffer.byteLength / PAGE;
    if (!this.shared) {
      throw new Error(`wasm heap full: ${(have * PAGE / 2 ** 20).toFixed(0)} MiB reserved, ${((endBytes - this.top) / 2 ** 20).toFixed(1)} MiB more requested. `
        + 'A non-shared memory cannot grow without detaching the views the model holds; create the backend with a larger initialBytes.');
    }
    if (need > this.maximumPages) {
      throw new Error(`wasm heap full: ${(endBytes / 2 ** 20).toFixed(1)} MiB needed, maximum is ${(this.maximumPages * PAGE / 2 ** 20).toFixed(0)} MiB (maximumBytes)`);
    }
    // Grow geometrically so an unbounded state's doublings cost few grow calls.
    const pages = Math.min(this.maximumPages, Math.max(need, have * 2));
    this.memory.grow(pages - have);
    this.buffers.push(this.memory.buffer);
  }
}
