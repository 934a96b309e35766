// Parses a GGUF file (v2 or v3): header, metadata, tensor infos, aligned tensor data.
// Layout (little-endian): "GGUF", u32 version, u64 tensor count, u64 metadata count, the metadata
// pairs (string key, u32 type, value), the tensor infos (string name, u32 n_dims, u64 dims fastest
// first, u32 ggml type, u64 offset relative to the data section), padding to `general.alignment`
// (default 32), then the data. Everything is checked against the file before it is trusted;
// parseGguf's tensors are views into the caller's bytes, never copies; parseGgufIndex reads the
// header alone (from a prefix of the file, for a streaming load).
import { Cursor, GgufError, PrefixTooShort } from './cursor.js';
import { GGML_TYPES, type GgmlTypeInfo } from '@msrnn/tensor';
import { GgufMetadata, GgufValueType, describeType, readValue, readValueType, type GgufEntry } from './metadata.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;
const typesById = new Map(GGML_TYPES.map((t) => [t.id, t]));
/** ggml's GGML_MAX_DIMS. */
const MAX_DIMS = 4;

/** A tensor as the header describes it: where its bytes are, not the bytes. */
export interface GgufTensorEntry {
  readonly name: string;
  readonly type: GgmlTypeInfo;
  /** Dimensions fastest first: dims[0] is the row length (input features of a weight matrix). */
  readonly dims: readonly number[];
  readonly elements: number;
  /** Offset relative to the data section. */
  readonly offset: number;
  /** Absolute byte offset of the tensor's data in the file. */
  readonly fileOffset: number;
  readonly byteLength: number;
  /** Byte offset of this tensor's info record, for error messages. */
  readonly infoOffset: number;
}

export interface GgufTensor extends GgufTensorEntry {
  /** The tensor's bytes: a view into the bytes given to parseGguf. */
  readonly data: Uint8Array;
}

/** A GGUF file's header: metadata and tensor entries, checked against the file's size. */
export interface GgufIndex<T extends GgufTensorEntry = GgufTensorEntry> {
  readonly source: string;
  readonly version: 2 | 3;
  readonly metadata: GgufMetadata;
  readonly tensors: readonly T[];
  readonly tensorsByName: ReadonlyMap<string, T>;
  readonly alignment: number;
  /** Absolute byte offset of the tensor data section. */
  readonly dataOffset: number;
  /** The whole file's size. */
  readonly byteLength: number;
}

/** A GGUF file in memory: the header, each tensor with a view of its bytes. */
export type GgufFile = GgufIndex<GgufTensor>;

/** True when the bytes start with the GGUF magic. */
export function isGguf(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 4 && bytes[0] === 0x47 && bytes[1] === 0x47 && bytes[2] === 0x55 && bytes[3] === 0x46;
}

/** Parses a whole GGUF file; tensors are views into `bytes`. */
export function parseGguf(bytes: Uint8Array, source = '<bytes>'): GgufFile {
  const index = parseGgufIndex(bytes, bytes.byteLength, source);
  const tensors: GgufTensor[] = index.tensors.map((t) => ({ ...t, data: bytes.subarray(t.fileOffset, t.fileOffset + t.byteLength) }));
  return { ...index, tensors, tensorsByName: new Map(tensors.map((t) => [t.name, t])) };
}

/**
 * Parses the header of a GGUF file of `fileSize` bytes from `bytes`, the whole file or a prefix
 * of it: every offset and size is checked against `fileSize`. A header longer than the prefix
 * throws PrefixTooShort (./cursor.ts) with the length to read.
 */
export function parseGgufIndex(bytes: Uint8Array, fileSize: number, source = '<bytes>'): GgufIndex {
  const c: Cursor = new Cursor(bytes, source, fileSize);
  if (fileSize < 4) c.fail('magic', `file is only ${fileSize} bytes`);
  if (bytes.byteLength < 4) throw new PrefixTooShort(4);
  if (!isGguf(bytes)) c.fail('magic', `expected "GGUF", got ${JSON.stringify(String.fromCharCode(...bytes.subarray(0, 4)))}`);
  c.at = 4;
  const version = c.u32('version');
  if (version === 1) c.fail('version', 'GGUF version 1 (32-bit counts) is not supported; re-convert the model with a current llama.cpp', 4);
  if (version !== 2 && version !== 3) {
    const swapped = ((version & 0xff) << 24 | (version & 0xff00) << 8 | (version >>> 8) & 0xff00 | version >>> 24) >>> 0;
    const hint = swapped === 2 || swapped === 3 ? ' (a big-endian GGUF file; only little-endian files are supported)' : '';
    c.fail('version', `unsupported GGUF version ${version}${hint}; versions 2 and 3 are supported`, 4);
  }
  // Smallest tensor info: 8 (name length) + 4 (n_dims) + 8 (one dim) + 4 (type) + 8 (offset).
  const tensorCount = c.count('tensor count', 32);
  // Smallest metadata pair: 8 (key length) + 4 (type) + 1 (a u8 value).
  const kvCount = c.count('metadata count', 13);

  const entries = new Map<string, GgufEntry>();
  for (let i = 0; i < kvCount; i++) {
    const keyAt = c.at;
    const key = c.string(`metadata key #${i}`);
    if (entries.has(key)) c.fail(`metadata key #${i}`, `duplicate key ${JSON.stringify(key)}`, keyAt);
    const field = `metadata ${JSON.stringify(key)}`;
    const type = readValueType(c, field);
    const offset = c.at;
    entries.set(key, { type, value: readValue(c, type, field), offset });
  }
  const metadata = new GgufMetadata(entries, source);
  const alignment = readAlignment(c, entries);

  interface Info { name: string; type: GgmlTypeInfo; dims: number[]; elements: number; offset: number; byteLength: number; infoOffset: number }
  const infos: Info[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < tensorCount; i++) {
    const infoOffset = c.at;
    const name = c.string(`tensor #${i} name`);
    const what = `tensor ${JSON.stringify(name)}`;
    const previous = seen.get(name);
    if (previous !== undefined) c.fail(`${what} name`, `duplicate tensor name (first defined at byte ${previous})`, infoOffset);
    seen.set(name, infoOffset);
    const nDimsAt = c.at;
    const nDims = c.u32(`${what} n_dims`);
    if (nDims < 1 || nDims > MAX_DIMS) c.fail(`${what} n_dims`, `must be 1–${MAX_DIMS}, got ${nDims}`, nDimsAt);
    const dims: number[] = [];
    let elements = 1;
    for (let d = 0; d < nDims; d++) {
      const dimAt = c.at;
      const n = c.u64(`${what} dims[${d}]`);
      if (n === 0n) c.fail(`${what} dims[${d}]`, 'a dimension of 0', dimAt);
      // A tensor's bytes must fit in the file, and every type takes more than 1/64 byte per element.
      if (n > BigInt(fileSize) * 64n) c.fail(`${what} dims[${d}]`, `${n} elements cannot fit in a ${fileSize}-byte file`, dimAt);
      dims.push(Number(n));
      elements *= Number(n);
      if (elements > fileSize * 64) c.fail(`${what} dims`, `${dims.join(' × ')}… elements cannot fit in a ${fileSize}-byte file`, dimAt);
    }
    const typeAt = c.at;
    const typeId = c.u32(`${what} type`);
    const type = typesById.get(typeId);
    if (!type) c.fail(`${what} type`, `unknown ggml tensor type ${typeId}`, typeAt);
    if (dims[0]! % type.blockSize !== 0) {
      c.fail(`${what} dims[0]`, `row length ${dims[0]} is not a multiple of ${type.name}'s block size ${type.blockSize}`, nDimsAt + 4);
    }
    const byteLength = (elements / type.blockSize) * type.blockBytes;
    const offsetAt = c.at;
    const rel = c.u64(`${what} offset`);
    if (rel > BigInt(fileSize)) c.fail(`${what} offset`, `${rel} is past the end of the ${fileSize}-byte file`, offsetAt);
    const offset = Number(rel);
    if (offset % alignment !== 0) c.fail(`${what} offset`, `${offset} is not a multiple of the alignment ${alignment}`, offsetAt);
    infos.push({ name, type, dims, elements, offset, byteLength, infoOffset });
  }

  const dataOffset = Math.ceil(c.at / alignment) * alignment;
  if (tensorCount > 0 && dataOffset > fileSize) c.fail('tensor data', `the data section (aligned to ${alignment}) would start past the end of the file`, dataOffset);
  const dataBytes = fileSize - dataOffset;
  for (const t of infos) {
    if (t.offset + t.byteLength > dataBytes) {
      c.fail(`tensor ${JSON.stringify(t.name)} data`, `${t.byteLength} bytes (${t.type.name} ${t.dims.join(' × ')}) at data offset ${t.offset} run past the end of the file ` +
        `(the data section holds ${Math.max(0, dataBytes)} bytes: truncated?)`, dataOffset + t.offset);
    }
  }
  const byOffset = [...infos].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1]!, cur = byOffset[i]!;
    if (cur.offset < prev.offset + prev.byteLength) {
      c.fail(`tensor ${JSON.stringify(cur.name)} offset`, `its data [${cur.offset}, ${cur.offset + cur.byteLength}) overlaps tensor ${JSON.stringify(prev.name)} ` +
        `[${prev.offset}, ${prev.offset + prev.byteLength})`, cur.infoOffset);
    }
  }

  const tensors: GgufTensorEntry[] = infos.map((t) => ({ ...t, fileOffset: dataOffset + t.offset }));
  return {
    source, version: version as 2 | 3, metadata, tensors, tensorsByName: new Map(tensors.map((t) => [t.name, t])),
    alignment, dataOffset, byteLength: fileSize,
  };
}

function readAlignment(c: Cursor, entries: Map<string, GgufEntry>): number {
  const e = entries.get('general.alignment');
  if (!e) return GGUF_DEFAULT_ALIGNMENT;
  const field = 'metadata "general.alignment"';
  if (e.type !== GgufValueType.UINT32) throw new GgufError(c.source, field, e.offset, `must be a UINT32, got ${describeType(e)}`);
  const a = e.value as number;
  if (a === 0 || (a & (a - 1)) !== 0) throw new GgufError(c.source, field, e.offset, `must be a power of two, got ${a}`);
  return a;
}
