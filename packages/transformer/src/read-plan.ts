// The reads a loader plans while it builds a model's weights. A loader first allocates every
// tensor where the model will keep it (the wasm heap, or plain arrays on the js backend) and notes
// which bytes of which file belong there; running the plan then reads them, in file order and in
// bounded chunks, straight into place. Tensors the loader converts (norms to f32, transposes) are
// read into one scratch array at a time, never into a copy of the whole file. The same plan runs
// synchronously on sources that can (bytes in memory, Node files) and asynchronously on any.
import { checkRange, type ByteSource } from './byte-source.js';
import { runReads, runReadsSync, type Reads } from './reads.js';

interface PlannedRead {
  source: ByteSource;
  offset: number;
  n: number;
  /** What the bytes are ("tensor blk.0.attn_q.weight"), for a read error. */
  what: string;
  /** Where the bytes go, or (when null) what converts them. */
  into: Uint8Array | null;
  use: ((bytes: Uint8Array) => void) | null;
}

export class ReadPlan {
  private readonly planned: PlannedRead[] = [];
  private readonly sources: ByteSource[] = [];
  private readonly checks: (() => void)[] = [];

  /** `into` holds bytes [offset, offset + into.length) of `source` (`what` they are) once the plan has run. */
  copy(source: ByteSource, offset: number, into: Uint8Array, what: string): void {
    this.add({ source, offset, n: into.length, what, into, use: null });
  }

  /**
   * Memory that holds bytes [offset, offset + n) of `source` once the plan has run: from `alloc`
   * (the wasm heap) when given; else a view of the source's bytes when they are in memory (nothing
   * copied; a copy when the view would not be `align`-aligned for a typed array), else a fresh array.
   */
  place(source: ByteSource, offset: number, n: number, what: string, alloc?: (n: number) => Uint8Array, align = 1): Uint8Array {
    checkRange(source, offset, n);
    if (!alloc && source.bytes) {
      const view = source.bytes.subarray(offset, offset + n);
      return view.byteOffset % align === 0 ? view : new Uint8Array(view);
    }
    const into = alloc ? alloc(n) : new Uint8Array(n);
    this.copy(source, offset, into, what);
    return into;
  }

  /**
   * `use` gets bytes [offset, offset + n) of `source` when the plan runs: a view when the source
   * is in memory, else a scratch array valid during the call only.
   */
  convert(source: ByteSource, offset: number, n: number, what: string, use: (bytes: Uint8Array) => void): void {
    this.add({ source, offset, n, what, into: null, use });
  }

  /** Runs `check` once every read is done (a pass over the loaded weights, e.g. for NaN). */
  after(check: () => void): void {
    this.checks.push(check);
  }

  /** Bytes the plan reads in all. */
  get bytes(): number {
    return this.planned.reduce((a, r) => a + r.n, 0);
  }

  /** Runs the reads (sources without readSync need this one). */
  run(): Promise<void> {
    return runReads(this.reads());
  }

  /** Runs the reads synchronously; every source must have readSync. */
  runSync(): void {
    runReadsSync(this.reads());
  }

  /**
   * The reads to make, in order (a conversion runs once its bytes were read: the caller reads
   * before it resumes this), then the checks: a loader's `yield* plan.reads()`.
   */
  *reads(): Reads<void> {
    let scratch = new Uint8Array(0);
    for (const r of this.ordered()) {
      if (r.into) { yield { source: r.source, offset: r.offset, into: r.into, what: r.what }; continue; }
      if (r.source.bytes) { r.use!(r.source.bytes.subarray(r.offset, r.offset + r.n)); continue; }
      if (scratch.length < r.n) scratch = new Uint8Array(r.n);
      const bytes = scratch.subarray(0, r.n);
      yield { source: r.source, offset: r.offset, into: bytes, what: r.what };
      r.use!(bytes);
    }
    for (const check of this.checks) check();
  }

  private add(r: PlannedRead): void {
    checkRange(r.source, r.offset, r.n);
    if (!this.sources.includes(r.source)) this.sources.push(r.source);
    this.planned.push(r);
  }

  /** Source by source (in the order first used), each in file order: reads run front to back. */
  private ordered(): PlannedRead[] {
    const rank = (r: PlannedRead) => this.sources.indexOf(r.source);
    return [...this.planned].sort((a, b) => rank(a) - rank(b) || a.offset - b.offset);
  }
}
