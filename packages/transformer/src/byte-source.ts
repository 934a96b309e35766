// Random access to a model file's bytes without holding the whole file, so a loader can read the
// header from a small prefix and then each tensor straight into the memory the model keeps (the
// wasm heap): loading then peaks near the file's size instead of twice it, and files over the 2 GiB
// a single read allows load too. The core sees only this interface: the Node source (fs reads at
// offsets) lives in read-file-node.ts, browsers read Blob slices (blobSource), and bytes already in
// memory are one more source (bytesSource).

export interface ByteSource {
  /** What the bytes are, for error messages (a path, a file name, "<bytes>"). */
  readonly name: string;
  /** Total bytes. */
  readonly size: number;
  /** Fills `into` with bytes [offset, offset + into.length); rejects when they are not all there. */
  read(offset: number, into: Uint8Array): Promise<void>;
  /** The same, synchronously, where the source can (memory, Node files); a source without it loads only asynchronously. */
  readSync?(offset: number, into: Uint8Array): void;
  /** The bytes themselves when the whole source is in memory: loaders on the js backend use views of them instead of copies. */
  readonly bytes?: Uint8Array;
}

/** Throws unless [offset, offset + n) lies inside the source. */
export function checkRange(source: ByteSource, offset: number, n: number): void {
  if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(n) && offset >= 0 && n >= 0 && offset + n <= source.size)) {
    throw new RangeError(`${source.name}: cannot read bytes [${offset}, ${offset + n}) of a ${source.size}-byte file`);
  }
}

/** Bytes in memory as a source (the whole-buffer API). */
export function bytesSource(bytes: Uint8Array, name = '<bytes>'): ByteSource {
  const readSync = (offset: number, into: Uint8Array): void => {
    checkRange(source, offset, into.length);
    into.set(bytes.subarray(offset, offset + into.length));
  };
  const source: ByteSource = { name, size: bytes.byteLength, bytes, readSync, read: async (offset, into) => readSync(offset, into) };
  return source;
}

/** A Blob (a browser's File from a picker or a drop) as a source: each read is one slice. */
export function blobSource(blob: Blob, name = (blob as { name?: string }).name || '<blob>'): ByteSource {
  const source: ByteSource = {
    name, size: blob.size,
    async read(offset, into) {
      checkRange(source, offset, into.length);
      const got = new Uint8Array(await blob.slice(offset, offset + into.length).arrayBuffer());
      // (the callers' readChunked names the file and what was read)
      if (got.length !== into.length) throw new Error(`read ${got.length} of ${into.length} bytes at ${offset} (the file changed while loading?)`);
      into.set(got);
    },
  };
  return source;
}

/** Whether `x` is a ByteSource (duck-typed: a size and a read method). */
export function isByteSource(x: unknown): x is ByteSource {
  return typeof x === 'object' && x !== null && typeof (x as ByteSource).read === 'function' && typeof (x as ByteSource).size === 'number';
}

/** Most bytes one read asks for: bounds a Blob slice's temporary copy and stays far below Node's 2 GiB per read. */
export const READ_CHUNK_BYTES = 16 << 20;

/**
 * A read that failed (an OS error such as EIO, a Blob that can no longer be read) as an error that
 * names the source, what was being read and its bytes; the original error is its cause.
 */
function readFailed(source: ByteSource, what: string, offset: number, n: number, err: unknown): Error {
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  // The OS's code (EIO) or a DOMException's name (NotReadableError) first: what a caller matches on.
  const kind = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' && e.name !== 'Error' ? e.name : '';
  const reason = kind ? `${kind}${message && message !== kind ? ` (${message})` : ''}` : message;
  return new Error(`${source.name}: cannot read ${what} (bytes [${offset}, ${offset + n})): ${reason}`, { cause: err });
}

/** Fills `into` from `offset` in chunks of at most `chunk` bytes; `what` (e.g. "tensor x") names them in an error. */
export async function readChunked(source: ByteSource, offset: number, into: Uint8Array, what: string, chunk = READ_CHUNK_BYTES): Promise<void> {
  checkRange(source, offset, into.length);
  try {
    for (let at = 0; at < into.length; at += chunk) await source.read(offset + at, into.subarray(at, Math.min(into.length, at + chunk)));
  } catch (err) {
    throw readFailed(source, what, offset, into.length, err);
  }
}

/** readChunked, synchronously (the source must have readSync). */
export function readChunkedSync(source: ByteSource, offset: number, into: Uint8Array, what: string, chunk = READ_CHUNK_BYTES): void {
  checkRange(source, offset, into.length);
  if (!source.readSync) throw new Error(`${source.name}: this source reads only asynchronously; load it with loadModel`);
  try {
    for (let at = 0; at < into.length; at += chunk) source.readSync(offset + at, into.subarray(at, Math.min(into.length, at + chunk)));
  } catch (err) {
    throw readFailed(source, what, offset, into.length, err);
  }
}

/** Bytes [offset, offset + n) of `source` (`what` they are): a view when it is in memory, else a fresh array read in chunks. */
export async function readBytes(source: ByteSource, offset: number, n: number, what: string): Promise<Uint8Array> {
  checkRange(source, offset, n);
  if (source.bytes) return source.bytes.subarray(offset, offset + n);
  const into = new Uint8Array(n);
  await readChunked(source, offset, into, what);
  return into;
}

/** `source` under another name (error messages name the model as the caller calls it). */
export function renamed(source: ByteSource, name: string): ByteSource {
  if (source.name === name) return source;
  return {
    name, size: source.size, ...(source.bytes ? { bytes: source.bytes } : {}),
    read: (offset, into) => source.read(offset, into),
    ...(source.readSync ? { readSync: (offset: number, into: Uint8Array) => source.readSync!(offset, into) } : {}),
  };
}
