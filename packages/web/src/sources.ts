// The picked or dropped files as the byte sources the library loads from (a File is read slice by
// slice, as the loader asks: never whole), each read counted for the progress bar. A loader may
// read a byte twice (a header peeked at, then parsed), so the bar counts the distinct bytes read.
import { blobSource, type ByteSource } from '@msrnn/transformer';

/** Bytes covered by a set of [start, end) ranges, merged as they come (a file's reads: a few hundred). */
export class Coverage {
  private ranges: [number, number][] = [];
  covered = 0;

  /** Adds [start, end); returns how many of its bytes were not covered before. */
  add(start: number, end: number): number {
    const before = this.covered;
    const kept: [number, number][] = [];
    for (const r of this.ranges) {
      if (r[1] < start || r[0] > end) { kept.push(r); continue; }
      start = Math.min(start, r[0]); end = Math.max(end, r[1]); // overlapping or touching: merged into [start, end)
      this.covered -= r[1] - r[0];
    }
    kept.push([start, end]);
    this.ranges = kept;
    this.covered += end - start;
    return this.covered - before;
  }
}

/** `onProgress(file, loaded, total)`: distinct bytes read so far of all the files, out of their total size. */
export type OnProgress = (file: string, loaded: number, total: number) => void;

/** `sources` (file name → source) whose reads report progress over all of them together. */
export function countedSources(sources: ReadonlyMap<string, ByteSource>, onProgress: OnProgress): Map<string, ByteSource> {
  const total = [...sources.values()].reduce((n, s) => n + s.size, 0);
  let loaded = 0;
  const out = new Map<string, ByteSource>();
  for (const [name, s] of sources) {
    const coverage = new Coverage();
    const read = async (offset: number, into: Uint8Array): Promise<void> => {
      await s.read(offset, into);
      loaded += coverage.add(offset, offset + into.length);
      onProgress(name, loaded, total);
    };
    out.set(name, { name: s.name, size: s.size, read });
  }
  return out;
}

/**
 * The picked files as sources, keyed by file name, named `folder/name` in error messages when they
 * came as a folder (the file's own name otherwise).
 */
export function pickedSources(files: readonly File[], folder: string | undefined, onProgress: OnProgress): Map<string, ByteSource> {
  return countedSources(new Map(files.map((f) => [f.name, blobSource(f, folder ? `${folder}/${f.name}` : f.name)])), onProgress);
}
