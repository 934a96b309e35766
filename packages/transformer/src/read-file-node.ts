// Reading a model or tokenizer from a path on Node (and Bun/Deno through their node: modules).
// Chosen by the package's "#read-file" import conditions, so browser bundles never see node:fs.
import { closeSync, fstatSync, openSync, readSync as readAt } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { ByteSource } from './byte-source.js';

/** Reads a whole file; a failure names the file and `what` it was meant to be. */
export async function readFileBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err: any) {
    const reason = err?.code === 'ERR_FS_FILE_TOO_LARGE' ? 'larger than 2 GiB, the most Node reads into one buffer' : err?.code ?? err?.message ?? err;
    throw new Error(`cannot read ${what} file ${path}: ${reason}`);
  }
}

/** Reads a file that may be absent: undefined when there is no such file, else as readFileBytes. */
export async function readOptionalFileBytes(path: string, what: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(path);
  } catch (err: any) {
    if (err?.code === 'ENOENT') return undefined;
    return readFileBytes(path, what); // the same failure, worded as readFileBytes words it
  }
}

/** A file opened for reads at offsets (see ../byte-source.ts); close() when done. */
export type FileByteSource = ByteSource & { close(): void };

/** Opens a file as a byte source; a failure (no such file, a folder: EISDIR) names the file and `what` it was meant to be. */
export async function openFileSource(path: string, what: string): Promise<FileByteSource> {
  let fd: number;
  let size: number;
  try {
    fd = openSync(path, 'r');
  } catch (err: any) {
    throw new Error(`cannot read ${what} file ${path}: ${err?.code ?? err?.message ?? err}`);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    size = stat.size;
  } catch (err: any) {
    closeSync(fd);
    throw new Error(`cannot read ${what} file ${path}: ${err?.code ?? err?.message ?? err}`);
  }
  // A failure (EIO, the file cut short) is named by the readChunked that called it: the file and what was read.
  const readSync = (offset: number, into: Uint8Array): void => {
    for (let done = 0; done < into.length;) {
      const n = readAt(fd, into, done, into.length - done, offset + done);
      if (n === 0) throw new Error(`the file ended at byte ${offset + done} of ${size} (did it change while loading?)`);
      done += n;
    }
  };
  return { name: path, size, readSync, read: async (offset, into) => readSync(offset, into), close: () => closeSync(fd) };
}
