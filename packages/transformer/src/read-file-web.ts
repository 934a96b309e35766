// Reading a model or tokenizer from a path where there is no node:fs: Deno and Bun through their
// own file APIs; browsers and edge workers have no file paths, so the error says what to pass.
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
