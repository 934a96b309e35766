// Finding an Inf or NaN among the floats a ggml tensor stores: the f16 scales of its blocks (d,
// and m / dmin where the type has one) or, for F32/F16/BF16, the values themselves. Such a file is
// corrupt, and the kernels do not agree on it: the pure-TS decoders give Inf/NaN, while the wasm
// kernels' half conversion (halfAt's 2^112 rebias) maps an all-ones exponent to a large finite
// number, so a corrupt scale would give finite garbage there. Loaders run this on each tensor as
// it is read, ggmlWeights on the bytes it is given (and the transformer's modelFromWeights on every
// weight); it only tests the exponent bits (one byte per block scale), so it costs far less than
// the read.
import { GGML, ggmlTypeInfo } from './ggml-types.js';
import { float16Table } from '../fp16.js';

/** The first non-finite float in a tensor's bytes: which block (value, for the plain types), which field, and its value. */
export interface NonFiniteGgml {
  /** Block index counted from the bytes' start (value index for F32/F16/BF16). */
  block: number;
  /** The field: 'd', 'm', 'dmin', or 'value' for the plain types. */
  field: string;
  /** Its value: ±Infinity or NaN. */
  value: number;
}

/** Blocks (values) checked between tests of the accumulated exponent flags (the scan stays branch-free within). */
const RUN = 4096;

/** Byte offsets and names of the f16 scales inside one block, per quantized type (ggml-common.h). */
export const GGML_BLOCK_SCALES: Readonly<Record<number, readonly (readonly [offset: number, name: string])[]>> = {
  [GGML.Q4_0]: [[0, 'd']], [GGML.Q5_0]: [[0, 'd']], [GGML.Q8_0]: [[0, 'd']], [GGML.IQ4_NL]: [[0, 'd']],
  [GGML.Q4_1]: [[0, 'd'], [2, 'm']], [GGML.Q5_1]: [[0, 'd'], [2, 'm']],
  [GGML.Q4_K]: [[0, 'd'], [2, 'dmin']], [GGML.Q5_K]: [[0, 'd'], [2, 'dmin']],
  [GGML.Q6_K]: [[208, 'd']],
};

/** The Inf/NaN scan for bytes in memory `mem`: its own faster one where it has it (the wasm backend's SIMD scan), else findNonFiniteGgml. */
export function nonFiniteScanFor(mem?: { findNonFiniteGgml?(type: number, bytes: Uint8Array): NonFiniteGgml | null }): (type: number, bytes: Uint8Array) => NonFiniteGgml | null {
  return mem?.findNonFiniteGgml?.bind(mem) ?? findNonFiniteGgml;
}

/**
 * Throws a RangeError naming the first Inf/NaN float stored in `bytes` (rows of `cols` values of
 * ggml type `type`), worded as the loaders word it: "what: F32 value 5 (row 0, column 5) is
 * Infinity — weights must be finite". `scan` may be a memory's faster one (nonFiniteScanFor).
 */
export function refuseNonFiniteGgml(what: string, type: number, cols: number, bytes: Uint8Array, scan = findNonFiniteGgml): void {
  const bad = scan(type, bytes);
  if (bad) throw new RangeError(`${what}: ${ggmlTypeInfo(type).name} ${describeNonFiniteGgml(type, cols, bad)} — weights must be finite`);
}

/** Values [offset, offset + n) of `src` as the bytes refuseNonFiniteGgml scans (as GGML.F32). */
export const f32Bytes = (src: Float32Array, offset: number, n: number): Uint8Array => new Uint8Array(src.buffer, src.byteOffset + 4 * offset, 4 * n);

/**
 * The first Inf/NaN float stored in `bytes` (whole blocks of ggml type `type`), or null when all
 * are finite. Throws for a type it does not know the layout of.
 */
export function findNonFiniteGgml(type: number, bytes: Uint8Array): NonFiniteGgml | null {
  const info = ggmlTypeInfo(type);
  if (bytes.length % info.blockBytes !== 0) throw new RangeError(`findNonFiniteGgml: ${bytes.length} bytes are not whole ${info.name} blocks of ${info.blockBytes}`);
  if (type === GGML.F32) return plain(firstNonFinite32(bytes), bytes, type);
  if (type === GGML.F16 || type === GGML.BF16) return plain(firstNonFinite16(bytes, type === GGML.F16 ? 0x7c00 : 0x7f80), bytes, type);
  const scales = GGML_BLOCK_SCALES[type];
  if (!scales) throw new Error(`findNonFiniteGgml: ggml type ${info.name} has no known scale layout`);
  const [first, second] = scales as [readonly [number, string], (readonly [number, string])?];
  const k = firstBadBlock(bytes, info.blockBytes, first[0] + 1, second ? second[0] + 1 : -1);
  if (k < 0) return null;
  const at = k * info.blockBytes, [o, field] = (bytes[at + first[0] + 1]! & 0x7c) === 0x7c ? first : second!;
  return { block: k, field, value: float16Table()[bytes[at + o]! | (bytes[at + o + 1]! << 8)]! };
}

/**
 * Where `bad` lies in a matrix of rows of `cols` values, for an error: "block 37 (row 1, columns
 * 0–255) has scale dmin = NaN", or "value 5 (row 0, column 5) is Infinity" for the plain types.
 * `block0` counts the blocks (values) before the scanned bytes.
 */
export function describeNonFiniteGgml(type: number, cols: number, bad: NonFiniteGgml, block0 = 0): string {
  const info = ggmlTypeInfo(type), perRow = cols / info.blockSize, k = block0 + bad.block;
  const row = Math.floor(k / perRow), col = (k % perRow) * info.blockSize;
  return info.blockSize === 1
    ? `value ${k} (row ${row}, column ${col}) is ${bad.value}`
    : `block ${k} (row ${row}, columns ${col}–${col + info.blockSize - 1}) has scale ${bad.field} = ${bad.value}`;
}

/**
 * The first block (of `step` bytes) whose f16 scale with high byte at `hi0` (or `hi1`, when not -1)
 * is Inf/NaN, or -1. An f16 is Inf/NaN exactly when its 5 exponent bits, bits 2–6 of its high byte,
 * are all ones, i.e. when (high | 0x83) + 1 carries into bit 8: OR-ing that over a run of blocks
 * leaves one branch per run (a branch per block ran about 2× slower).
 */
function firstBadBlock(bytes: Uint8Array, step: number, hi0: number, hi1: number): number {
  const blocks = bytes.length / step;
  for (let k0 = 0; k0 < blocks; k0 += RUN) {
    const start = k0 * step, end = Math.min(blocks, k0 + RUN) * step;
    let carry = 0;
    if (hi1 < 0) for (let o = start + hi0; o < end; o += step) carry |= (bytes[o]! | 0x83) + 1;
    else for (let o = start; o < end; o += step) carry |= ((bytes[o + hi0]! | 0x83) + 1) | ((bytes[o + hi1]! | 0x83) + 1);
    if ((carry & 0x100) === 0) continue;
    for (let o = start; o < end; o += step) {
      if ((bytes[o + hi0]! & 0x7c) === 0x7c || (hi1 >= 0 && (bytes[o + hi1]! & 0x7c) === 0x7c)) return o / step;
    }
  }
  return -1;
}

function plain(index: number, bytes: Uint8Array, type: number): NonFiniteGgml | null {
  if (index < 0) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const value = type === GGML.F32 ? dv.getFloat32(4 * index, true)
    : type === GGML.F16 ? float16Table()[dv.getUint16(2 * index, true)]!
      : new Float32Array(new Uint32Array([dv.getUint16(2 * index, true) << 16]).buffer)[0]!;
  return { block: index, field: 'value', value };
}

/**
 * Index of the first f32 (little-endian) in `bytes` with an all-ones exponent, or -1. Four bytes
 * at a time: ((x >>> 1) & exponent) + one-exponent-unit carries into bit 30 exactly for an all-ones
 * exponent, and OR-ing that over a run leaves one test per run.
 */
function firstNonFinite32(bytes: Uint8Array): number {
  const n = bytes.length >> 2;
  if (bytes.byteOffset % 4 !== 0) return firstNonFinite32Bytes(bytes, 0, n);
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, n);
  for (let r = 0; r < n; r += RUN) {
    const end = Math.min(n, r + RUN);
    let flags = 0;
    for (let i = r; i < end; i++) flags |= ((words[i]! >>> 1) & 0x3fc00000) + 0x00400000;
    if ((flags & 0x40000000) !== 0) return firstNonFinite32Bytes(bytes, r, end);
  }
  return -1;
}

function firstNonFinite32Bytes(bytes: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) if ((bytes[4 * i + 3]! & 0x7f) === 0x7f && (bytes[4 * i + 2]! & 0x80) !== 0) return i;
  return -1;
}

/**
 * Index of the first 16-bit float (little-endian) in `bytes` whose exponent bits (`mask`: 0x7c00
 * for f16, 0x7f80 for bf16) are all ones, or -1. Two values per 32-bit word, as firstNonFinite32:
 * shifted right by one, each value's exponent plus one unit carries into its own top bit (14 or 30).
 */
function firstNonFinite16(bytes: Uint8Array, mask: number): number {
  const n = bytes.length >> 1;
  const words = bytes.byteOffset % 4 === 0 ? new Int32Array(bytes.buffer, bytes.byteOffset, n >> 1) : null;
  const pair = (mask >>> 1) * 0x10001, unit = (mask & -mask) >>> 1, carry = unit * 0x10001;
  if (words) {
    for (let r = 0; r < words.length; r += RUN) {
      const end = Math.min(words.length, r + RUN);
      let flags = 0;
      for (let i = r; i < end; i++) flags |= ((words[i]! >>> 1) & pair) + carry;
      if ((flags & 0x40004000) !== 0) return firstNonFinite16Bytes(bytes, mask, 2 * r, 2 * end);
    }
    return firstNonFinite16Bytes(bytes, mask, 2 * words.length, n); // an odd last value
  }
  return firstNonFinite16Bytes(bytes, mask, 0, n);
}

function firstNonFinite16Bytes(bytes: Uint8Array, mask: number, from: number, to: number): number {
  for (let i = from; i < to; i++) if (((bytes[2 * i]! | (bytes[2 * i + 1]! << 8)) & mask) === mask) return i;
  return -1;
}
