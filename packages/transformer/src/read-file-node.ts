// Reading a model or tokenizer from a path on Node (and Bun/Deno through their node: modules).
// Chosen by the package's "#read-file" import conditions, so browser bundles never see node:fs.
import { readFile } from 'node:fs/promises';

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
