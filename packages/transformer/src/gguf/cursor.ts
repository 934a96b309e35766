// A bounds-checked little-endian cursor over a GGUF file. Every read checks the bytes are there;
// every count is checked against the bytes left before the caller allocates for it, so a corrupt
// or hostile file fails with one GgufError naming the field and its byte offset. A cursor may hold
// only a prefix of the file (a streaming load reads the header first): counts are checked against
// the whole file, and a read past the prefix but inside the file throws PrefixTooShort, so the
// caller reads a longer prefix and parses again.

/** A malformed GGUF file: `field` is what was being read, `offset` the byte where it starts. */
export class GgufError extends Error {
  constructor(readonly source: string, readonly field: string, readonly offset: number, problem: string) {
    super(`${source}: bad GGUF file: ${field} at byte ${offset}: ${problem}`);
    this.name = 'GgufError';
  }
}

// ignoreBOM: a string that starts with U+FEFF keeps it (Llama-2's vocabulary has that piece); the default would drop it.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** A header that runs past the prefix read so far: read at least `needed` bytes and parse again. */
export class PrefixTooShort extends Error {
  constructor(readonly needed: number) {
    super(`the header runs past the first ${needed} bytes read`);
    this.name = 'PrefixTooShort';
  }
}

export class Cursor {
  private readonly view: DataView;
  at = 0;

  /** `bytes` is the file or its first bytes; `fileSize` the whole file's size. */
  constructor(readonly bytes: Uint8Array, readonly source: string, readonly fileSize = bytes.byteLength) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes of the file after the cursor. */
  get remaining(): number {
    return this.fileSize - this.at;
  }

  fail(field: string, problem: string, offset = this.at): never {
    throw new GgufError(this.source, field, offset, problem);
  }

  /** Throws unless `n` more bytes exist; returns the offset they start at. */
  need(n: number, field: string): number {
    if (n > this.remaining) {
      this.fail(field, `needs ${n} bytes but the file ends after ${this.remaining} (file is ${this.fileSize} bytes: truncated?)`);
    }
    if (this.at + n > this.bytes.byteLength) throw new PrefixTooShort(this.at + n);
    const start = this.at;
    this.at += n;
    return start;
  }

  u8(field: string): number { return this.view.getUint8(this.need(1, field)); }
  i8(field: string): number { return this.view.getInt8(this.need(1, field)); }
  u16(field: string): number { return this.view.getUint16(this.need(2, field), true); }
  i16(field: string): number { return this.view.getInt16(this.need(2, field), true); }
  u32(field: string): number { return this.view.getUint32(this.need(4, field), true); }
  i32(field: string): number { return this.view.getInt32(this.need(4, field), true); }
  f32(field: string): number { return this.view.getFloat32(this.need(4, field), true); }
  f64(field: string): number { return this.view.getFloat64(this.need(8, field), true); }
  u64(field: string): bigint { return this.view.getBigUint64(this.need(8, field), true); }
  i64(field: string): bigint { return this.view.getBigInt64(this.need(8, field), true); }

  /**
   * A u64 count or length of items of at least `minItemBytes` bytes each, checked against the
   * bytes left (so allocating `count` items can never exceed the file's size).
   */
  count(field: string, minItemBytes: number): number {
    const start = this.at;
    const n = this.u64(field);
    const most = Math.floor(this.remaining / minItemBytes);
    if (n > BigInt(most)) {
      this.fail(field, `${n} does not fit in the ${this.remaining} bytes left` + (minItemBytes > 1 ? ` (each takes at least ${minItemBytes} bytes)` : '') +
        ` of the ${this.fileSize}-byte file: a corrupt value, or the file is truncated`, start);
    }
    return Number(n);
  }

  /** A GGUF string: u64 byte length, then UTF-8 bytes (not NUL-terminated). */
  string(field: string): string {
    const n = this.count(`${field} length`, 1);
    const start = this.need(n, field);
    return decodeUtf8(this.bytes, start, start + n);
  }
}

/** UTF-8 decode with an ASCII fast path (a vocabulary is 30k–150k short strings). */
function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 32) {
    let s = '';
    for (let i = start; i < end; i++) {
      const b = bytes[i]!;
      if (b >= 0x80) return utf8.decode(bytes.subarray(start, end));
      s += String.fromCharCode(b);
    }
    return s;
  }
  return utf8.decode(bytes.subarray(start, end));
}
