// Reading a model or tokenizer from a path where there is no node:fs: Deno and Bun through their
// own file APIs; browsers and edge workers have no file paths, so the error says what to pass.
import { blobSource, bytesSource, checkRange, type ByteSource } from './byte-source.js';

interface DenoFs { readFile(path: string): Promise<Uint8Array> }
interface BunFs { file(path: string): { arrayBuffer(): Promise<ArrayBuffer> } }

/** Reads a whole file; a failure names the file and `what` it was meant to be. */
export async function readFileBytes(path: string, what: string): Promise<Uint8Array> {
  const g = globalThis as { Deno?: DenoFs; Bun?: BunFs };
  const read = g.Deno ? () => g.Deno!.readFile(path)
    : g.Bun ? async () => new Uint8Array(await g.Bun!.file(path).arrayBuffer())
      : null;
  if (!read) {
    throw new Error(`cannot read ${what} file ${path}: this runtime has no file system; pass the bytes instead `
      + '(a Uint8Array or ArrayBuffer, e.g. from fetch(url).then((r) => r.arrayBuffer()))');
  }
  try {
    return await read();
  } catch (err: any) {
    throw new Error(`cannot read ${what} file ${path}: ${err?.code ?? err?.name ?? err?.message ?? err}`);
  }
}

/** Reads a file that may be absent: undefined when there is no such file, else as readFileBytes. */
export async function readOptionalFileBytes(path: string, what: string): Promise<Uint8Array | undefined> {
  try {
    return await readFileBytes(path, what);
  } catch (err: any) {
    if (/\b(NotFound|ENOENT)\b/.test(err?.message ?? '')) return undefined;
    throw err;
  }
}

/** A file opened for reads at offsets (see ../byte-source.ts); close() when done. */
export type FileByteSource = ByteSource & { close(): void };

/** What Deno's file handles offer (Deno.openSync). */
interface DenoFile {
  seekSync(offset: number, whence: number): number;
  readSync(into: Uint8Array): number | null;
  statSync(): { isDirectory: boolean; size: number };
  close(): void;
}
interface DenoFiles { openSync(path: string, opts: { read: true }): DenoFile; SeekMode: { Start: number } }

/**
 * Opens a file as a byte source: Bun's file is a Blob (read by slices); Deno's is a file handle
 * read at offsets (seek, then read), so a model is never read whole there either. No file system:
 * the same error as readFileBytes.
 */
export async function openFileSource(path: string, what: string): Promise<FileByteSource> {
  const g = globalThis as { Bun?: { file(path: string): Blob }; Deno?: DenoFiles };
  const fail = (err: any): never => { throw new Error(`cannot read ${what} file ${path}: ${err?.code ?? err?.name ?? err?.message ?? err}`); };
  if (g.Bun) {
    const blob = g.Bun.file(path);
    try {
      await blob.slice(0, 1).arrayBuffer(); // a missing file (an empty Blob until read) or a folder fails here, by its code
    } catch (err: any) {
      fail(err);
    }
    return { ...blobSource(blob, path), close: () => {} };
  }
  if (g.Deno) return openDenoFile(g.Deno, path, what, fail);
  return { ...bytesSource(await readFileBytes(path, what), path), close: () => {} };
}

function openDenoFile(deno: DenoFiles, path: string, what: string, fail: (err: unknown) => never): FileByteSource {
  let file: DenoFile;
  try {
    file = deno.openSync(path, { read: true });
  } catch (err) {
    return fail(err);
  }
  let size = 0;
  try {
    const stat = file.statSync();
    if (stat.isDirectory) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    size = stat.size;
  } catch (err) {
    file.close();
    return fail(err);
  }
  // Seek and read in one synchronous call: no other read can move the position in between. A
  // failure is named by the readChunked that called it: the file and what was read.
  const readSync = (offset: number, into: Uint8Array): void => {
    checkRange(source, offset, into.length);
    file.seekSync(offset, deno.SeekMode.Start);
    for (let done = 0; done < into.length;) {
      const n = file.readSync(into.subarray(done));
      if (!n) throw new Error(`the file ended at byte ${offset + done} of ${size} (did it change while loading?)`);
      done += n;
    }
  };
  const source: FileByteSource = { name: path, size, readSync, read: async (offset, into) => readSync(offset, into), close: () => file.close() };
  return source;
}
