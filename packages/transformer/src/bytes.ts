// How model and tokenizer bytes come in: a path read whole (Node, Deno, Bun), or what browsers and
// fetch hand out: a Uint8Array (Node's Buffer is one) or an ArrayBuffer.

export type BytesLike = Uint8Array | ArrayBuffer;

/** A Uint8Array view of `input`, or a TypeError naming `what` was expected. */
export function asBytes(input: unknown, what: string): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  const got = input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input === 'object' ? (input.constructor?.name ?? 'an object') : typeof input;
  throw new TypeError(`${what}: expected a file path, a Uint8Array or an ArrayBuffer, got ${got}`);
}

/** Reads a whole file (Node, Deno, Bun); a failure names the file and `what` it was meant to be. */
export async function readFileBytes(path: string, what: string): Promise<Uint8Array> {
  const { readFile } = await import('node:fs/promises');
  try {
    return await readFile(path);
  } catch (err: any) {
    throw new Error(`cannot read ${what} file ${path}: ${err?.code ?? err?.message ?? err}`);
  }
}
