// One WebAssembly.Memory with a bump allocator handing out typed-array views.
//
// Memory growth and views, by design:
// - Shared memory (the default where SharedArrayBuffer exists, e.g. Node): growing a shared
//   memory does NOT detach earlier SharedArrayBuffers — old views keep pointing at the same bytes.
//   So the heap grows on demand up to `maximumBytes` (default 4 GiB) and every view stays valid.
// - Non-shared memory (browsers without cross-origin isolation): growth would detach every view
//   the model holds, so the heap never grows; it reserves `initialBytes` (default 256 MiB) up front
//   and `alloc` fails with a clear error beyond that. Untouched pages cost no physical memory.
// Nothing is ever freed: an unbounded state that doubles leaves its old storage behind (at most
// as much again as it finally holds). Bounded states are allocated once.

const PAGE = 65536;
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
  private top = 64; // address 0..63 stays unused so a zero address is never a valid allocation

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

  /** Reserves `bytes` (aligned to `align`, default 16 for v128 loads) and returns its byte address. */
  allocBytes(bytes: number, align = 16): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`wasm heap: cannot allocate ${bytes} bytes`);
    const start = Math.ceil(this.top / align) * align;
    // 16 bytes of slack past every allocation so a vector load at the last element stays in memory.
    const end = start + bytes + 16;
    if (end > this.buffer.byteLength) this.grow(end);
    this.top = start + bytes;
    return start;
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
