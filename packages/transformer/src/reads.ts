// A loader written once for synchronous and asynchronous sources: it is a generator that yields
// each read it needs (a ReadStep) and resumes once the bytes are there. runReadsSync performs the
// reads with readSync (bytes in memory, Node files: modelFromBytes), runReads with read (any
// source: modelFromSource), so the two entry points share one body instead of two parallel ones.
import { checkRange, readChunked, readChunkedSync, type ByteSource } from './byte-source.js';

/** Fill `into` with bytes [offset, offset + into.length) of `source`; `what` names them in an error. */
export interface ReadStep { source: ByteSource; offset: number; into: Uint8Array; what: string }

/** A loader's reads, ending in its result. */
export type Reads<T> = Generator<ReadStep, T, void>;

/** Bytes [offset, offset + n) of `source`: a view when it is in memory (no read), else read into a fresh array. */
export function* readBytesStep(source: ByteSource, offset: number, n: number, what: string): Reads<Uint8Array> {
  checkRange(source, offset, n);
  if (source.bytes) return source.bytes.subarray(offset, offset + n);
  const into = new Uint8Array(n);
  yield { source, offset, into, what };
  return into;
}

/** Runs `reads` with each source's readSync. A failed read is thrown into the loader (its cleanup runs) and on. */
export function runReadsSync<T>(reads: Reads<T>): T {
  for (let next = reads.next(); ;) {
    if (next.done) return next.value;
    const r = next.value;
    let ok = true, failed: unknown;
    try { readChunkedSync(r.source, r.offset, r.into, r.what); } catch (err) { ok = false; failed = err; }
    next = ok ? reads.next() : reads.throw(failed);
  }
}

/** runReadsSync with each source's asynchronous read. */
export async function runReads<T>(reads: Reads<T>): Promise<T> {
  for (let next = reads.next(); ;) {
    if (next.done) return next.value;
    const r = next.value;
    let ok = true, failed: unknown;
    try { await readChunked(r.source, r.offset, r.into, r.what); } catch (err) { ok = false; failed = err; }
    next = ok ? reads.next() : reads.throw(failed);
  }
}
