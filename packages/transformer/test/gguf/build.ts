// Small GGUF files for the reader's tests, and where each field of a tensor info sits in them.
import { GgufValueType as T, parseGguf, writeGguf, type GgufWriteTensor, type GgufWriteValue } from '../../src/gguf/index.js';

export const sampleMetadata: GgufWriteValue[] = [
  ['general.architecture', T.STRING, 'llama'],
  ['general.alignment', T.UINT32, 32],
  ['u8', T.UINT8, 200], ['i8', T.INT8, -100], ['u16', T.UINT16, 60000], ['i16', T.INT16, -30000],
  ['u32', T.UINT32, 4000000000], ['i32', T.INT32, -2000000000], ['f32', T.FLOAT32, 0.5],
  ['bool', T.BOOL, true], ['utf8', T.STRING, 'héllo ▁wörld 🦙'], ['u64', T.UINT64, 2n ** 60n],
  ['i64', T.INT64, -12345n], ['f64', T.FLOAT64, Math.PI],
  ['tokens', T.ARRAY, { elementType: T.STRING, values: ['<unk>', '<s>', '▁a', ''] }],
  ['scores', T.ARRAY, { elementType: T.FLOAT32, values: Float32Array.of(0, -1.5, 2.25) }],
  ['types', T.ARRAY, { elementType: T.INT32, values: Int32Array.of(2, 3, 1) }],
  ['flags', T.ARRAY, { elementType: T.BOOL, values: [true, false] }],
  ['nested', T.ARRAY, { elementType: T.ARRAY, values: [
    { elementType: T.UINT16, values: Uint16Array.of(1, 2) },
    { elementType: T.STRING, values: ['x'] },
  ] }],
  ['empty', T.ARRAY, { elementType: T.UINT64, values: new BigUint64Array(0) }],
];

/** Counting bytes 0, 1, 2, … so every tensor's contents say where they came from. */
function pattern(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 255);
}

export const sampleTensors: GgufWriteTensor[] = [
  { name: 'token_embd.weight', type: 'F32', dims: [8, 3], data: pattern(8 * 3 * 4, 1) },
  { name: 'blk.0.attn_q.weight', type: 'Q8_0', dims: [32, 2], data: pattern(2 * 34, 2) },
  { name: 'blk.0.attn_norm.weight', type: 'F32', dims: [8], data: pattern(32, 3) },
  { name: 'blk.0.ffn_down.weight', type: 'Q4_K', dims: [256, 1], data: pattern(144, 4) },
  { name: 'output.weight', type: 'F16', dims: [8, 3, 1, 1], data: pattern(48, 5) },
];

export function sampleFile(version: 2 | 3 = 3): Uint8Array {
  return writeGguf(sampleMetadata, sampleTensors, version);
}

/** Byte offsets of the fields of tensor info `i` in a valid file. */
export function tensorFieldOffsets(file: Uint8Array, i: number): { name: number; nDims: number; dims: number; type: number; offset: number } {
  const info = parseGguf(file).tensors[i]!;
  const nameLength = new TextEncoder().encode(info.name).length;
  const nDims = info.infoOffset + 8 + nameLength;
  const type = nDims + 4 + 8 * info.dims.length;
  return { name: info.infoOffset, nDims, dims: nDims + 4, type, offset: type + 4 };
}

export function setU64(file: Uint8Array, at: number, v: bigint): Uint8Array {
  const out = file.slice();
  new DataView(out.buffer).setBigUint64(at, v, true);
  return out;
}

export function setU32(file: Uint8Array, at: number, v: number): Uint8Array {
  const out = file.slice();
  new DataView(out.buffer).setUint32(at, v, true);
  return out;
}
