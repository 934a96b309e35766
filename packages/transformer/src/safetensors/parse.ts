// safetensors: u64 little-endian header length N, N bytes of JSON ({name: {dtype, shape,
// data_offsets: [begin, end]}, "__metadata__": {string: string}}), then the data buffer the
// offsets are relative to. Checked as strictly as the reference (Rust) reader: the header fits the
// file, offsets lie in the buffer, tensors tile it without overlaps or gaps, shape × dtype size
// equals the byte length. Tensors are views into the caller's bytes (F16/BF16 stay 16-bit).

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

export const SAFETENSORS_DTYPES: Readonly<Record<SafetensorsDtype, number>> = { F32: 4, F16: 2, BF16: 2 };
/** Dtypes of the format this reader does not load (named in the error, unlike a made-up dtype). */
const OTHER_DTYPES = ['BOOL', 'U8', 'I8', 'I16', 'U16', 'I32', 'U32', 'I64', 'U64', 'F64', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64'];

/** The Rust reader's limit: a longer header is refused before it is read. */
export const MAX_HEADER_BYTES = 100_000_000;

/** A tensor as the header describes it: where its bytes are, not the bytes. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly elements: number;
  /** Absolute byte offset of the tensor's data in the file. */
  readonly fileOffset: number;
  readonly byteLength: number;
}

export interface SafetensorsTensor extends SafetensorsEntry {
  /** The elements: Float32Array for F32, Uint16Array (raw bits) for F16 and BF16. */
  readonly data: Float32Array | Uint16Array;
  /** The same bytes, a view into the file. */
  readonly bytes: Uint8Array;
  /** False when the tensor's offset was not aligned to its element size and `data` had to be copied. */
  readonly zeroCopy: boolean;
}

/** A safetensors file's header: metadata and tensor entries, checked against the file's size. */
export interface SafetensorsIndex<T extends SafetensorsEntry = SafetensorsEntry> {
  readonly source: string;
  /** The header's __metadata__ (string values only), empty when absent. */
  readonly metadata: Readonly<Record<string, string>>;
  /** In the order of their data. */
  readonly tensors: readonly T[];
  readonly tensorsByName: ReadonlyMap<string, T>;
  /** Absolute byte offset of the data buffer (8 + header length). */
  readonly dataOffset: number;
}

/** A safetensors file in memory: each tensor with views of its bytes. */
export type SafetensorsFile = SafetensorsIndex<SafetensorsTensor>;

export class SafetensorsError extends Error {
  constructor(source: string, problem: string) {
    super(`${source}: bad safetensors file: ${problem}`);
    this.name = 'SafetensorsError';
  }
}

const littleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Parses a whole safetensors file; tensors are views into `bytes`. */
export function parseSafetensors(bytes: Uint8Array, source = '<safetensors>'): SafetensorsFile {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${source}: expected a Uint8Array of the file's bytes`);
  const index = parseSafetensorsIndex(bytes, bytes.byteLength, source);
  if (!littleEndianHost) throw new Error(`${source}: safetensors data is little-endian; this host is big-endian`);
  const tensors = index.tensors.map((e): SafetensorsTensor => {
    const start = bytes.byteOffset + e.fileOffset;
    const view = bytes.subarray(e.fileOffset, e.fileOffset + e.byteLength);
    const aligned = start % SAFETENSORS_DTYPES[e.dtype] === 0;
    // A typed view needs an aligned offset; an unaligned tensor is copied once (real files align theirs).
    const buffer = aligned ? bytes.buffer : view.slice().buffer;
    const offset = aligned ? start : 0;
    const data = e.dtype === 'F32' ? new Float32Array(buffer, offset, e.elements) : new Uint16Array(buffer, offset, e.elements);
    return Object.freeze({ ...e, data, bytes: view, zeroCopy: aligned });
  });
  return { ...index, tensors, tensorsByName: new Map(tensors.map((t) => [t.name, t])) };
}

/**
 * Bytes of a safetensors file of `fileSize` bytes that its header takes (8 + its length), from
 * its first 8 bytes (or all of a shorter file); a length that cannot be right is refused here.
 */
export function safetensorsHeaderBytes(first: Uint8Array, fileSize: number, source: string): number {
  const fail = (problem: string): never => { throw new SafetensorsError(source, problem); };
  if (fileSize < 8) fail(`the file has ${fileSize} bytes, fewer than the 8-byte header length`);
  const headerLength = new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(fileSize - 8)) fail(`header length ${headerLength} runs past the end of the file (${fileSize} bytes)`);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLength} is over the ${MAX_HEADER_BYTES}-byte limit`);
  return 8 + Number(headerLength);
}

/**
 * Parses the header of a safetensors file of `fileSize` bytes from `bytes`, the whole file or
 * its first safetensorsHeaderBytes bytes: every offset is checked against `fileSize`.
 */
export function parseSafetensorsIndex(bytes: Uint8Array, fileSize: number, source = '<safetensors>'): SafetensorsIndex {
  const fail = (problem: string): never => { throw new SafetensorsError(source, problem); };
  const dataOffset = safetensorsHeaderBytes(bytes, fileSize, source);
  const n = dataOffset - 8;
  if (bytes.byteLength < dataOffset) throw new RangeError(`${source}: parseSafetensorsIndex needs the first ${dataOffset} bytes (the header), got ${bytes.byteLength}`);
  if (n < 2 || bytes[8] !== 0x7b) fail('the header does not start with "{" (not a JSON object)');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(`the header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('the header is not a JSON object');
  const dataLength = fileSize - dataOffset;

  const metadata: Record<string, string> = Object.create(null);
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; elements: number; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const what = `tensor ${JSON.stringify(name)}`;
    if (info === null || typeof info !== 'object' || Array.isArray(info)) fail(`${what}: its entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== 'string') fail(`${what}: dtype is missing or not a string`);
    if (!Object.hasOwn(SAFETENSORS_DTYPES, dtype as string)) {
      fail(`${what}: ${OTHER_DTYPES.includes(dtype as string) ? 'unsupported' : 'unknown'} dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(SAFETENSORS_DTYPES).join(', ')})`);
    }
    if (!Array.isArray(shape)) fail(`${what}: shape is missing or not a list`);
    let elements = 1;
    for (const d of shape as unknown[]) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) fail(`${what}: shape ${JSON.stringify(shape)} has a dimension that is not a non-negative integer`);
      elements *= d as number;
      // Stop before the product loses precision; such a tensor cannot fit the file anyway.
      if (elements > dataLength) fail(`${what}: shape ${JSON.stringify(shape)} has more elements than the file has bytes`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)) {
      fail(`${what}: data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
    }
    const [begin, end] = offsets as number[];
    if (begin! > end!) fail(`${what}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end! > dataLength) fail(`${what}: data_offsets [${begin}, ${end}] run past the data buffer (${dataLength} bytes)`);
    const expected = elements * SAFETENSORS_DTYPES[dtype as SafetensorsDtype];
    if (end! - begin! !== expected) {
      fail(`${what}: shape ${JSON.stringify(shape)} × ${dtype} is ${expected} bytes but data_offsets [${begin}, ${end}] hold ${end! - begin!}`);
    }
    entries.push({ name, dtype: dtype as SafetensorsDtype, shape: shape as number[], elements, begin: begin!, end: end! });
  }

  // The tensors must tile the buffer: no overlap (two tensors sharing bytes), no gap, nothing after.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of entries) {
    if (e.begin < at) fail(`tensor ${JSON.stringify(e.name)}: data_offsets [${e.begin}, ${e.end}] overlap the previous tensor (which ends at ${at})`);
    if (e.begin > at) fail(`tensor ${JSON.stringify(e.name)}: data_offsets begin at ${e.begin}, leaving a gap after byte ${at} of the data buffer`);
    at = e.end;
  }
  if (at !== dataLength) fail(`the tensors end at byte ${at} of the data buffer but it has ${dataLength} bytes`);

  const tensors = entries.map((e): SafetensorsEntry => Object.freeze({
    name: e.name, dtype: e.dtype, shape: Object.freeze([...e.shape]), elements: e.elements, fileOffset: dataOffset + e.begin, byteLength: e.end - e.begin,
  }));
  return { source, metadata, tensors, tensorsByName: new Map(tensors.map((t) => [t.name, t])), dataOffset };
}

/** True when the bytes look like a safetensors file (a plausible header length, then "{"). */
export function isSafetensors(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 10 || bytes[8] !== 0x7b) return false;
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return n >= 2n && n <= BigInt(bytes.byteLength - 8);
}

/** A tensor's values as float32 (F32 as is; F16 and BF16 widened exactly). */
export function safetensorToFloat32(t: SafetensorsTensor): Float32Array {
  if (t.dtype === 'F32') return t.data as Float32Array;
  const out = new Float32Array(t.elements);
  decodeSafetensorInto(t.dtype, t.bytes, out);
  return out;
}

/** Decodes a tensor's bytes (little-endian `dtype`) into `out` (its length = the elements), widening F16/BF16 exactly. */
export function decodeSafetensorInto(dtype: SafetensorsDtype, bytes: Uint8Array, out: Float32Array): void {
  const size = SAFETENSORS_DTYPES[dtype];
  // Typed views need aligned offsets: an unaligned tensor is copied first.
  const src = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  if (dtype === 'F32') { out.set(new Float32Array(src.buffer, src.byteOffset, out.length)); return; }
  const bits = new Uint16Array(src.buffer, src.byteOffset, out.length);
  if (dtype === 'BF16') {
    const u = new Uint32Array(out.buffer, out.byteOffset, out.length);
    for (let i = 0; i < bits.length; i++) u[i] = bits[i]! << 16; // bf16 is the top half of an f32
  } else {
    for (let i = 0; i < bits.length; i++) out[i] = halfToFloat(bits[i]!);
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
