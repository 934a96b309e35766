// "Four rows interleaved": a same-size layout of Q5_0 and Q8_0 matrices that the wasm decode
// kernels read faster (wasm/kernels/rows4.ts; 1.09–1.20× on the SmolLM2 shapes, bench/rows4-layout.bench.ts).
// Rows 4g .. 4g+3 form group g, stored where the plain rows were (4 × rowBytes bytes); per block of
// 32 values the group holds, in GROUP_BLOCK bytes:
//   the four rows' f16 scales d_0..d_3 (8 bytes), then 16 i16x8 weight vectors, vector v holding
//   values 2v and 2v+1 of each row k in lanes 2k and 2k+1 (row k's pair is one i32 lane):
//   Q8_0: vector v as 8 int8 (lane order) — 128 bytes;
//   Q5_0: 16 qh bytes (byte v: bit i = 5th bit of lane i of vector v), then 8 × 8 nibble bytes
//         (8 bytes per vector pair: byte i's low nibble is lane i of vector 2c, its high nibble of 2c + 1).
// A vector's dot product with the activation pair broadcast to all lanes is the four rows' sums,
// lane k = row k. Q6_K and Q4_K (super-blocks of 256 values) have layouts of their own: ./rows4-q6k.ts, ./rows4-q4k.ts. Only matrices of whole groups (rows a multiple of 4) take the layout. Repacking
// is in place, one group at a time (a scratch of one group), so loading never holds a second copy
// of a matrix.
import { GGML, ggmlRowBytes, ggmlTypeInfo } from './ggml-types.js';
import { packQ6KBlock, unpackQ6KBlock } from './rows4-q6k.js';
import { packQ4KBlock, unpackQ4KBlock } from './rows4-q4k.js';

/** The ggml types that have the layout (and wasm kernels for it). */
export const ROWS4_TYPES: readonly number[] = Object.freeze([GGML.Q5_0, GGML.Q8_0, GGML.Q6_K, GGML.Q4_K]);

/**
 * Widest rows worth the layout: its kernels read the activations widened to 16 bytes per value,
 * which must stay in L1 beside the weights streaming through. Measured against the plain kernels
 * (bench/rows4-layout.bench.ts): 1.08–1.24× at 576 and 896 columns, 1.02× at 1024, 0.53–0.83× at 1536–2048.
 */
export const ROWS4_MAX_COLS = 1024;

/**
 * Whether a loader repacks a rows × cols matrix of ggml type `type`, one that is multiplied (a
 * projection, or the classifier), into the layout: Q5_0, and Q8_0 only for the classifier
 * (`classifier`, tied to the token embedding or not): the opt-in `q8_0` prompt activations
 * (wasm/kernels/q8-activations.ts) widen the projections' Q8_0 rows from ggml's layout (on
 * repacked rows that product takes the exact path), and a prompt needs logits of its last row only.
 * Q6_K and Q4_K (./rows4-q4k.ts) at any width: their kernels read the plain split activations, not a widened copy.
 * A matrix that is only looked up (an untied token embedding) never suits: its rows would be
 * unpacked at every lookup (unpackRow4) and gain nothing.
 */
export const rows4Suits = (type: number, rows: number, cols: number, classifier = false): boolean =>
  rows % 4 === 0 && (type === GGML.Q6_K || type === GGML.Q4_K || ((type === GGML.Q5_0 || (classifier && type === GGML.Q8_0)) && cols <= ROWS4_MAX_COLS));

/** Set in a type id passed to the backend's ggml kernels: the rows are in this layout. */
export const ROWS4_FLAG = 0x100;

const blockBytes = (type: number): number => ggmlTypeInfo(type).blockBytes;
const blocksPerRow = (type: number, cols: number): number => cols / ggmlTypeInfo(type).blockSize;

let scratch = new Uint8Array(0);

/** Throws, naming fn, unless `type` is one of ROWS4_TYPES. */
function checkType(fn: string, type: number): void {
  if (!ROWS4_TYPES.includes(type)) throw new RangeError(`${fn}: ggml type ${ggmlTypeInfo(type).name} has no four-row layout (only ${ROWS4_TYPES.map((t) => ggmlTypeInfo(t).name).join(', ')})`);
}

/**
 * The checks of an unpacker of one group or row (`unit`) `index` of `data`, a matrix of `cols`
 * columns in the layout, into dst: the type has the layout, cols are whole blocks, the index is
 * inside the whole groups `data` holds, and dst holds the unit. Returns the plain row's bytes.
 */
function checkUnpack(fn: string, type: number, data: Uint8Array, cols: number, unit: 'group' | 'row', index: number, dst: Uint8Array): number {
  checkType(fn, type);
  const rowBytes = ggmlRowBytes(type, cols), rows = 4 * Math.floor(data.length / (4 * rowBytes));
  const count = unit === 'group' ? rows / 4 : rows, unitBytes = unit === 'group' ? 4 * rowBytes : rowBytes;
  const name = ggmlTypeInfo(type).name;
  if (!(Number.isInteger(index) && index >= 0 && index < count)) {
    throw new RangeError(`${fn}: ${unit} ${index} is not among the ${count} ${unit}s that ${data.length} bytes hold (whole groups of four ${cols}-column ${name} rows)`);
  }
  if (dst.length < unitBytes) throw new RangeError(`${fn}: dst holds ${dst.length} bytes, a ${unit} of ${cols}-column ${name} rows needs ${unitBytes}`);
  return rowBytes;
}

/** Rewrites `rows` plain rows at data[0 ..] (a type of ROWS4_TYPES) into the layout, in place. */
export function packRows4(type: number, data: Uint8Array, rows: number, cols: number): void {
  checkType('packRows4', type);
  const rowBytes = ggmlRowBytes(type, cols), groupBytes = 4 * rowBytes;
  if (!(rows > 0 && rows % 4 === 0)) throw new RangeError(`packRows4: rows must be a positive multiple of 4, got ${rows}`);
  if (data.length < rows * rowBytes) throw new RangeError(`packRows4: ${rows}×${cols} needs ${rows * rowBytes} bytes, got ${data.length}`);
  if (scratch.length < groupBytes) scratch = new Uint8Array(groupBytes);
  const bb = blockBytes(type), blocks = blocksPerRow(type, cols);
  for (let g = 0; g < rows; g += 4) {
    const plain = scratch.subarray(0, groupBytes);
    plain.set(data.subarray(g * rowBytes, g * rowBytes + groupBytes));
    const out = data.subarray(g * rowBytes, g * rowBytes + groupBytes);
    out.fill(0);
    for (let b = 0; b < blocks; b++) for (let k = 0; k < 4; k++) packBlock(type, plain, k * rowBytes + b * bb, out, 4 * bb * b, k);
  }
}

/** Row k's plain block at src[s ..] into its group block at out[o ..]. */
function packBlock(type: number, src: Uint8Array, s: number, out: Uint8Array, o: number, k: number): void {
  if (type === GGML.Q6_K) { packQ6KBlock(src, s, out, o, k); return; }
  if (type === GGML.Q4_K) { packQ4KBlock(src, s, out, o, k); return; }
  out[o + 2 * k] = src[s]!; out[o + 2 * k + 1] = src[s + 1]!;
  if (type === GGML.Q8_0) {
    for (let j = 0; j < 32; j++) out[o + 8 + 8 * (j >> 1) + 2 * k + (j & 1)] = src[s + 2 + j]!;
    return;
  }
  const qh = (src[s + 2]! | (src[s + 3]! << 8) | (src[s + 4]! << 16) | (src[s + 5]! << 24)) >>> 0;
  for (let j = 0; j < 32; j++) {
    const v = j >> 1, lane = 2 * k + (j & 1);
    const nibble = j < 16 ? src[s + 6 + j]! & 15 : src[s + 6 + j - 16]! >> 4;
    out[o + 8 + v]! |= ((qh >>> j) & 1) << lane;
    out[o + 24 + 8 * (v >> 1) + lane]! |= v & 1 ? nibble << 4 : nibble;
  }
}

/**
 * Group g's four rows (rows 4g .. 4g+3) in the plain layout, into dst[0 .. 4·rowBytes): the file's
 * bytes of those rows, in order, from `data` in the layout. A whole group at once, one group
 * block after another through the type's GROUP_UNPACK (Q5_0, Q8_0: each stored byte read once;
 * WASM.md's "The fingerprint's cost" has the measured fingerprint): what hashes and scans all
 * the rows (the state fingerprint, checkWeights) take.
 */
export function unpackGroup4(type: number, data: Uint8Array, cols: number, g: number, dst: Uint8Array): void {
  const rowBytes = checkUnpack('unpackGroup4', type, data, cols, 'group', g, dst), unpack = GROUP_UNPACK[type]!;
  const bb = blockBytes(type), g0 = 4 * g * rowBytes;
  for (let b = 0; b < blocksPerRow(type, cols); b++) unpack(data, g0 + 4 * bb * b, dst, b * bb, rowBytes);
}

/**
 * Calls fn with each group g < rows / 4 of `data` (a `rows` × `cols` matrix of `type` in the
 * layout) unpacked by unpackGroup4 into the four plain rows (4·rowBytes bytes). The rows are a
 * scratch of this call's, rewritten for the next group: fn reads them before it returns.
 */
export function forEachGroup4(type: number, data: Uint8Array, rows: number, cols: number, fn: (plainRows: Uint8Array, group: number) => void): void {
  if (!(rows > 0)) return;
  const plain = new Uint8Array(4 * ggmlRowBytes(type, cols));
  for (let g = 0; g < rows / 4; g++) { unpackGroup4(type, data, cols, g, plain); fn(plain, g); }
}

/**
 * Per type, one group block (the four rows' block b, at src[o ..]) back into the four plain rows'
 * blocks at dst[d + k·rowBytes ..], k < 4: the inverse of packBlock for all four rows at once.
 */
const GROUP_UNPACK: Readonly<Record<number, (src: Uint8Array, o: number, dst: Uint8Array, d: number, rowBytes: number) => void>> = {
  [GGML.Q8_0](src, o, dst, d, rowBytes) {
    for (let k = 0; k < 4; k++) {
      const r = d + k * rowBytes, s = o + 2 * k;
      dst[r] = src[s]!; dst[r + 1] = src[s + 1]!;
      // Row k's values 2v and 2v+1 are bytes 2k, 2k+1 of vector v.
      for (let v = 0; v < 16; v++) { dst[r + 2 + 2 * v] = src[s + 8 + 8 * v]!; dst[r + 3 + 2 * v] = src[s + 9 + 8 * v]!; }
    }
  },
  [GGML.Q5_0](src, o, dst, d, rowBytes) {
    for (let k = 0; k < 4; k++) {
      const r = d + k * rowBytes, lane = 2 * k;
      dst[r] = src[o + lane]!; dst[r + 1] = src[o + lane + 1]!;
      // Bits 2v and 2v+1 of row k's qh are bits 2k and 2k+1 of qh byte v.
      let qh = 0;
      for (let v = 0; v < 16; v++) qh |= ((src[o + 8 + v]! >> lane) & 3) << (2 * v);
      dst[r + 2] = qh & 255; dst[r + 3] = (qh >>> 8) & 255; dst[r + 4] = (qh >>> 16) & 255; dst[r + 5] = qh >>> 24;
      // Plain byte i = 4c + 2h + e holds values i (low nibble) and i + 16 (high): value 4c + 2h + e
      // is nibble h of byte 8c + 2k + e of the nibble bytes, value i + 16 the same of byte 8(c + 4) + 2k + e.
      for (let c = 0; c < 4; c++) {
        for (let e = 0; e < 2; e++) {
          const a = src[o + 24 + 8 * c + lane + e]!, b = src[o + 56 + 8 * c + lane + e]!, i = r + 6 + 4 * c + e;
          dst[i] = (a & 15) | ((b & 15) << 4);
          dst[i + 2] = (a >> 4) | (b & 0xf0);
        }
      }
    }
  },
  [GGML.Q6_K](src, o, dst, d, rowBytes) { for (let k = 0; k < 4; k++) unpackQ6KBlock(src, o, k, dst, d + k * rowBytes); },
  [GGML.Q4_K](src, o, dst, d, rowBytes) { for (let k = 0; k < 4; k++) unpackQ4KBlock(src, o, k, dst, d + k * rowBytes); },
};

/** Row `row`'s blocks in the plain layout, into dst[0 .. rowBytes), from `data` in the layout: what the plain readers (dequantizeGgmlRow) take. */
export function unpackRow4(type: number, data: Uint8Array, cols: number, row: number, dst: Uint8Array): void {
  const rowBytes = checkUnpack('unpackRow4', type, data, cols, 'row', row, dst), bb = blockBytes(type);
  const k = row & 3, g0 = (row - k) * rowBytes;
  for (let b = 0; b < blocksPerRow(type, cols); b++) {
    const o = g0 + 4 * bb * b, d = b * bb;
    if (type === GGML.Q6_K) { unpackQ6KBlock(data, o, k, dst, d); continue; }
    if (type === GGML.Q4_K) { unpackQ4KBlock(data, o, k, dst, d); continue; }
    dst[d] = data[o + 2 * k]!; dst[d + 1] = data[o + 2 * k + 1]!;
    if (type === GGML.Q8_0) {
      for (let j = 0; j < 32; j++) dst[d + 2 + j] = data[o + 8 + 8 * (j >> 1) + 2 * k + (j & 1)]!;
      continue;
    }
    let qh = 0;
    dst.fill(0, d + 6, d + 22);
    for (let j = 0; j < 32; j++) {
      const v = j >> 1, lane = 2 * k + (j & 1);
      qh |= ((data[o + 8 + v]! >> lane) & 1) << j;
      const byte = data[o + 24 + 8 * (v >> 1) + lane]!, nibble = v & 1 ? byte >> 4 : byte & 15;
      dst[d + 6 + (j & 15)]! |= j < 16 ? nibble : nibble << 4;
    }
    dst[d + 2] = qh & 255; dst[d + 3] = (qh >>> 8) & 255; dst[d + 4] = (qh >>> 16) & 255; dst[d + 5] = qh >>> 24;
  }
}
