// The reads a loader plans while it builds a model's weights. A loader first allocates every
// tensor where the model will keep it (the wasm heap, or plain arrays on the js backend) and notes
// which bytes of which file belong there; running the plan then reads them, in file order and in
// bounded chunks, straight into place. Tensors the loader converts (norms to f32, transposes) are
// read into one scratch array at a time, never into a copy of the whole file. The same plan runs
// synchronously on sources that can (bytes in memory, Node files) and asynchronously on any.
import { checkRange, type ByteSource } from './byte-source.js';
import { runReads, runReadsSync, type Reads } from './reads.js';

/**
 * A scan of placed bytes as they arrive (a loader's check for corrupt values): it runs on pieces
 * of whole `unit`s (a block of a quantized type), `at` bytes into the placed range, each right
 * after its read, while the bytes are still in cache.
 */
export interface ReadCheck {
  readonly unit: number;
  run(bytes: Uint8Array, at: number): void;
}

/** About the bytes read and checked at a time: well inside a core's cache, and few reads per tensor. */
const CHECK_PIECE_BYTES = 1 << 20;

interface PlannedRead {
  source: ByteSource;
  offset: number;
  n: number;
  /** What the bytes are ("tensor blk.0.attn_q.weight"), for a read error. */
  what: string;
  /** Where the bytes go, or (when null) what converts them. */
  into: Uint8Array | null;
  use: ((bytes: Uint8Array) => void) | null;
  /** What checks the bytes read into `into`. */
  check: ReadCheck | null;
}

export class ReadPlan {
  private readonly planned: PlannedRead[] = [];
  private readonly sources: ByteSource[] = [];
  private readonly finish: (() => void)[] = [];

  /** `into` holds bytes [offset, offset + into.length) of `source` (`what` they are) once the plan has run. */
  copy(source: ByteSource, offset: number, into: Uint8Array, what: string, check: ReadCheck | null = null): void {
    this.add({ source, offset, n: into.length, what, into, use: null, check });
  }

  /**
   * Memory that holds bytes [offset, offset + n) of `source` once the plan has run: from `alloc`
   * (the wasm heap) when given; else a view of the source's bytes when they are in memory (nothing
   * copied; a copy when the view would not be `align`-aligned for a typed array), else a fresh array.
   * `check` scans those bytes as they are read (a view: in file order with the reads).
   */
  place(source: ByteSource, offset: number, n: number, what: string, alloc?: (n: number) => Uint8Array, align = 1,
    check: ReadCheck | null = null): Uint8Array {
    checkRange(source, offset, n);
    if (!alloc && source.bytes) {
      const view = source.bytes.subarray(offset, offset + n);
      if (check) this.convert(source, offset, n, what, (bytes) => check.run(bytes, 0));
      return view.byteOffset % align === 0 ? view : new Uint8Array(view);
    }
    const into = alloc ? alloc(n) : new Uint8Array(n);
    this.copy(source, offset, into, what, check);
    return into;
  }

  /**
   * `use` gets bytes [offset, offset + n) of `source` when the plan runs: a view when the source
   * is in memory, else a scratch array valid during the call only.
   */
  convert(source: ByteSource, offset: number, n: number, what: string, use: (bytes: Uint8Array) => void): void {
    this.add({ source, offset, n, what, into: null, use, check: null });
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
   * before it resumes this): a loader's `yield* plan.reads()`.
   */
  *reads(): Reads<void> {
    let scratch = new Uint8Array(0);
    for (const r of this.ordered()) {
      if (r.into && r.check) { yield* checkedReads(r, r.into, r.check); continue; }
      if (r.into) { yield { source: r.source, offset: r.offset, into: r.into, what: r.what }; continue; }
      if (r.source.bytes) { r.use!(r.source.bytes.subarray(r.offset, r.offset + r.n)); continue; }
      if (scratch.length < r.n) scratch = new Uint8Array(r.n);
      const bytes = scratch.subarray(0, r.n);
      yield { source: r.source, offset: r.offset, into: bytes, what: r.what };
      r.use!(bytes);
    }
    for (const f of this.finish) f();
  }

  /** Runs `f` once every read is done and checked (the wasm loader's repacking of placed weights). */
  afterReads(f: () => void): void {
    this.finish.push(f);
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

/** A planned read in pieces of whole check units, each checked once read. */
function* checkedReads(r: PlannedRead, into: Uint8Array, check: ReadCheck): Reads<void> {
  const piece = Math.max(1, Math.floor(CHECK_PIECE_BYTES / check.unit)) * check.unit;
  for (let at = 0; at < r.n; at += piece) {
    const bytes = into.subarray(at, Math.min(r.n, at + piece));
    yield { source: r.source, offset: r.offset + at, into: bytes, what: r.what };
    check.run(bytes, at);
  }
}
