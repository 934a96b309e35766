// The arrays one owner (a model: its weights and working buffers) took from a backend, so they
// can be given back together. It allocates like the backend (same methods, so loaders take it
// where they took the backend for storage) and remembers each array; on the js backend freeing is
// the garbage collector's job and releasing only forgets.
import type { Backend } from './backend.js';
import type { QuantAlloc } from './quant/weights.js';

/** What Allocations draws from: a backend's allocators (the wasm one adds 16/8-bit arrays and free). */
export type AllocatingBackend = Pick<Backend, 'alloc' | 'free'> & QuantAlloc;

export class Allocations implements QuantAlloc {
  private readonly live = new Set<ArrayBufferView>();
  readonly allocU16?: (n: number) => Uint16Array;
  readonly allocI8?: (n: number) => Int8Array;
  readonly allocU8?: (n: number) => Uint8Array;
  readonly findNonFiniteGgml?: QuantAlloc['findNonFiniteGgml'];
  readonly rows4Types?: readonly number[];

  constructor(private readonly backend: AllocatingBackend) {
    // Present only where the backend has them: loaders read `allocU8` being there as "copy into
    // backend memory" (wasm) and its absence as "use views of the file" (js).
    const { allocU16, allocI8, allocU8 } = backend;
    if (allocU16) this.allocU16 = (n) => this.keep(allocU16.call(backend, n));
    if (allocI8) this.allocI8 = (n) => this.keep(allocI8.call(backend, n));
    if (allocU8) this.allocU8 = (n) => this.keep(allocU8.call(backend, n));
    if (backend.findNonFiniteGgml) this.findNonFiniteGgml = backend.findNonFiniteGgml.bind(backend);
    if (backend.rows4Types) this.rows4Types = backend.rows4Types;
  }

  alloc(n: number): Float32Array { return this.keep(this.backend.alloc(n)); }

  /** Arrays held. */
  get count(): number { return this.live.size; }

  /** Whether `view` is one of the arrays held (the whole array, not a subarray). */
  has(view: ArrayBufferView): boolean { return this.live.has(view); }

  /** Gives back one array early (a buffer replaced by a larger one, a weight replaced by its quantized copy). */
  release(view: ArrayBufferView): void {
    if (!this.live.delete(view)) throw new Error('Allocations.release: the array is not one of this owner\'s allocations (released twice?)');
    this.backend.free?.(view);
  }

  /** Gives back the `n` arrays taken last (a step that failed part-way: see `count` before it). */
  releaseNewest(n: number): void {
    const views = [...this.live];
    for (const view of views.slice(views.length - n)) this.release(view);
  }

  /** Gives back every array held. */
  releaseAll(): void {
    for (const view of this.live) this.backend.free?.(view);
    this.live.clear();
  }

  private keep<T extends ArrayBufferView>(view: T): T {
    this.live.add(view);
    return view;
  }
}
