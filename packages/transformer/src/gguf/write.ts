// Writes GGUF v3 files: used by the tests (small files with every value type and every kind of
// defect) and by anything that exports a model. The inverse of parse.ts, with the same layout.
import { GGML_TYPES, type GgmlTypeInfo } from '@msrnn/tensor';
import { GgufValueType, type GgufArray, type GgufValue } from './metadata.js';
import { GGUF_DEFAULT_ALIGNMENT } from './parse.js';

/** One metadata pair: key, value type, value (arrays as GgufArray). */
export type GgufWriteValue = readonly [key: string, type: GgufValueType, value: GgufValue];

export interface GgufWriteTensor {
  name: string;
  /** A ggml type name ('F32', 'Q8_0', …) or type. */
  type: string | GgmlTypeInfo;
  /** Dimensions fastest first. */
  dims: readonly number[];
  /** Exactly the tensor's bytes in ggml's layout. */
  data: Uint8Array;
}

class ByteSink {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;

  /** Room for n more bytes; may replace buf and view, so callers take the offset first. */
  private reserve(n: number): number {
    if (this.length + n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      bigger.set(this.buf.subarray(0, this.length));
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  u8(v: number): void { const at = this.reserve(1); this.view.setUint8(at, v); }
  i8(v: number): void { const at = this.reserve(1); this.view.setInt8(at, v); }
  u16(v: number): void { const at = this.reserve(2); this.view.setUint16(at, v, true); }
  i16(v: number): void { const at = this.reserve(2); this.view.setInt16(at, v, true); }
  u32(v: number): void { const at = this.reserve(4); this.view.setUint32(at, v, true); }
  i32(v: number): void { const at = this.reserve(4); this.view.setInt32(at, v, true); }
  f32(v: number): void { const at = this.reserve(4); this.view.setFloat32(at, v, true); }
  f64(v: number): void { const at = this.reserve(8); this.view.setFloat64(at, v, true); }
  u64(v: number | bigint): void { const at = this.reserve(8); this.view.setBigUint64(at, BigInt(v), true); }
  i64(v: number | bigint): void { const at = this.reserve(8); this.view.setBigInt64(at, BigInt(v), true); }
  bytes(b: Uint8Array): void { const at = this.reserve(b.length); this.buf.set(b, at); }
  string(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    this.reserve(pad); // fresh bytes are zero
  }
  result(): Uint8Array { return this.buf.slice(0, this.length); }
}

function writeValue(s: ByteSink, type: GgufValueType, v: GgufValue): void {
  switch (type) {
    case GgufValueType.UINT8: return s.u8(v as number);
    case GgufValueType.INT8: return s.i8(v as number);
    case GgufValueType.UINT16: return s.u16(v as number);
    case GgufValueType.INT16: return s.i16(v as number);
    case GgufValueType.UINT32: return s.u32(v as number);
    case GgufValueType.INT32: return s.i32(v as number);
    case GgufValueType.FLOAT32: return s.f32(v as number);
    case GgufValueType.FLOAT64: return s.f64(v as number);
    case GgufValueType.UINT64: return s.u64(v as number | bigint);
    case GgufValueType.INT64: return s.i64(v as number | bigint);
    case GgufValueType.BOOL: return s.u8(v ? 1 : 0);
    case GgufValueType.STRING: return s.string(v as string);
    case GgufValueType.ARRAY: {
      const a = v as GgufArray;
      s.u32(a.elementType);
      s.u64(a.values.length);
      const values = a.values as ArrayLike<GgufValue>;
      for (let i = 0; i < values.length; i++) writeValue(s, a.elementType, values[i]!);
      return;
    }
  }
}

/** A tensor's entry in the header: everything but its bytes. */
export type GgufTensorInfo = Omit<GgufWriteTensor, 'data'>;

export interface GgufHeader {
  /** Magic, version, metadata and tensor infos, padded to the alignment: the data starts right after. */
  bytes: Uint8Array;
  alignment: number;
  /** Exact byte size of each tensor's data, in order (each is then padded to the alignment). */
  dataBytes: number[];
}

/**
 * The part of a GGUF file before the tensor data, so that large files can be written piece by
 * piece (header, then each tensor's bytes padded to `alignment`) without holding them in memory.
 * `general.alignment`, if among the metadata, must be a UINT32 and is honoured.
 */
export function ggufHeader(metadata: readonly GgufWriteValue[], tensors: readonly GgufTensorInfo[], version: 2 | 3 = 3): GgufHeader {
  const alignEntry = metadata.find(([k]) => k === 'general.alignment');
  // (A malformed alignment entry is written as given, for tests, and the data uses the default.)
  const alignment = alignEntry && alignEntry[1] === GgufValueType.UINT32 && (alignEntry[2] as number) > 0 ? (alignEntry[2] as number) : GGUF_DEFAULT_ALIGNMENT;
  const s = new ByteSink();
  s.bytes(new TextEncoder().encode('GGUF'));
  s.u32(version);
  s.u64(tensors.length);
  s.u64(metadata.length);
  for (const [key, type, value] of metadata) {
    s.string(key);
    s.u32(type);
    writeValue(s, type, value);
  }
  let offset = 0;
  const dataBytes: number[] = [];
  for (const t of tensors) {
    const type = typeof t.type === 'string' ? GGML_TYPES.find((g) => g.name === t.type) : t.type;
    if (!type) throw new Error(`writeGguf: unknown ggml type ${String(t.type)} for tensor ${t.name}`);
    const elements = t.dims.reduce((a, b) => a * b, 1);
    const expected = (elements / type.blockSize) * type.blockBytes;
    s.string(t.name);
    s.u32(t.dims.length);
    for (const d of t.dims) s.u64(d);
    s.u32(type.id);
    s.u64(offset);
    dataBytes.push(expected);
    offset += Math.ceil(expected / alignment) * alignment;
  }
  s.padTo(alignment);
  return { bytes: s.result(), alignment, dataBytes };
}

/** Zero bytes that pad `n` bytes of data up to `alignment`. */
export function ggufPadding(n: number, alignment: number): Uint8Array {
  return new Uint8Array((alignment - (n % alignment)) % alignment);
}

/** A GGUF v3 file in memory; `general.alignment`, if among the metadata, must be a UINT32 and is honoured. */
export function writeGguf(metadata: readonly GgufWriteValue[], tensors: readonly GgufWriteTensor[], version: 2 | 3 = 3): Uint8Array {
  const header = ggufHeader(metadata, tensors, version);
  tensors.forEach((t, i) => {
    if (t.data.byteLength !== header.dataBytes[i]) throw new Error(`writeGguf: tensor ${t.name} (${typeof t.type === 'string' ? t.type : t.type.name} ${t.dims.join('×')}) needs ${header.dataBytes[i]} bytes, got ${t.data.byteLength}`);
  });
  const total = header.bytes.length + header.dataBytes.reduce((a, n) => a + Math.ceil(n / header.alignment) * header.alignment, 0);
  const out = new Uint8Array(total);
  out.set(header.bytes);
  let at = header.bytes.length;
  tensors.forEach((t) => {
    out.set(t.data, at);
    at += Math.ceil(t.data.byteLength / header.alignment) * header.alignment;
  });
  return out;
}
