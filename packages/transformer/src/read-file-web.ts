// Reading a model or tokenizer from a path where there is no node:fs: Deno and Bun through their
// own file APIs; browsers and edge workers have no file paths, so the error says what to pass.
import { blobSource, bytesSource, type ByteSource } from './byte-source.js';

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

/**
 * Opens a file as a byte source: Bun's file is a Blob (read by slices); Deno's is read whole
 * (then it is a source in memory). No file system: the same error as readFileBytes.
 */
export async function openFileSource(path: string, what: string): Promise<FileByteSource> {
  const g = globalThis as { Bun?: { file(path: string): Blob } };
  if (g.Bun) {
    const blob = g.Bun.file(path);
    try {
      await blob.slice(0, 1).arrayBuffer(); // a missing file (an empty Blob until read) or a folder fails here, by its code
    } catch (err: any) {
      throw new Error(`cannot read ${what} file ${path}: ${err?.code ?? err?.name ?? err?.message ?? err}`);
    }
    return { ...blobSource(blob, path), close: () => {} };
  }
  return { ...bytesSource(await readFileBytes(path, what), path), close: () => {} };
}
