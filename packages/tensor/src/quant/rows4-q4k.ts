// Q4_K in the "four rows interleaved" layout (./rows4.ts): one 576-byte group block per
// super-block of 256 values holds the four rows' 144-byte blocks, arranged so the wasm kernel
// (wasm/kernels/rows4-q4k.ts) gets every scale and min as a vector with lane k = row k and every
// weight vector in the pair-lane order, without any per-row reduction:
//   0..7    d_0..d_3 (f16), 8..15 dmin_0..dmin_3 (f16)
//   16..31  byte 4j + k (j < 4): low 4 bits of row k's scale j (low nibble) and scale j + 4 (high nibble)
//   32..47  the same for the mins
//   48..63  byte 4j + k: the top 2 bits of scale j, scale j + 4, min j, min j + 4 (bits 0-1, 2-3, 4-5, 6-7)
//   64 + 64j + 8c + i (sub-block j, c < 8, lane i = 2k + e): low nibble = row k's value 32j + 4c + e,
//           high nibble = its value 32j + 4c + 2 + e (i16 vectors 2c and 2c + 1 of the sub-block after
//           a zero-extending 8-byte load: a mask, or a shift).
// The 6-bit scales and mins stay 6 bits (48 bytes for four rows, as in ggml's 12 bytes a row),
// so the layout is the plain size and packs in place.
import { kScaleMin } from './ggml-dequant.js';

/** Bytes of one super-block of four rows in the layout (4 × 144). */
export const Q4K_GROUP_BLOCK = 576;
/** Where the weight nibbles start in a group block. */
export const Q4K_NIBBLES = 64;
const SCALES = 16, MINS = 32, TOPS = 48, NIBBLES = Q4K_NIBBLES;

/** Row k's plain Q4_K block at src[s ..] into its group block at out[o ..] (zeroed before the first row). */
export function packQ4KBlock(src: Uint8Array, s: number, out: Uint8Array, o: number, k: number): void {
  out[o + 2 * k] = src[s]!; out[o + 2 * k + 1] = src[s + 1]!;
  out[o + 8 + 2 * k] = src[s + 2]!; out[o + 9 + 2 * k] = src[s + 3]!;
  for (let j = 0; j < 4; j++) {
    const sc = kScaleMin(src, s + 4, j, 0), sc4 = kScaleMin(src, s + 4, j + 4, 0);
    const m = kScaleMin(src, s + 4, j, 1), m4 = kScaleMin(src, s + 4, j + 4, 1), at = o + 4 * j + k;
    out[at + SCALES] = (sc & 15) | ((sc4 & 15) << 4);
    out[at + MINS] = (m & 15) | ((m4 & 15) << 4);
    out[at + TOPS] = (sc >> 4) | ((sc4 >> 4) << 2) | ((m >> 4) << 4) | ((m4 >> 4) << 6);
  }
  for (let v = 0; v < 256; v++) {
    const j = v >> 5, t = v & 31, byte = src[s + 16 + 32 * (j >> 1) + t]!, q = j & 1 ? byte >> 4 : byte & 15;
    out[o + NIBBLES + 64 * j + 8 * (t >> 2) + 2 * k + (t & 1)]! |= (t & 2) ? q << 4 : q;
  }
}

/** Row k's 8 scales, then its 8 mins (unpackQ4KBlock's scratch). */
const sixBits = new Uint8Array(16);

/** Row k's block from its group block at data[o ..], in the plain layout, into dst[d .. d + 144). */
export function unpackQ4KBlock(data: Uint8Array, o: number, k: number, dst: Uint8Array, d: number): void {
  dst[d] = data[o + 2 * k]!; dst[d + 1] = data[o + 2 * k + 1]!;
  dst[d + 2] = data[o + 8 + 2 * k]!; dst[d + 3] = data[o + 9 + 2 * k]!;
  const sc = sixBits, mn = sixBits.subarray(8);
  for (let j = 0; j < 4; j++) {
    const at = o + 4 * j + k, lo = data[at + SCALES]!, ml = data[at + MINS]!, top = data[at + TOPS]!;
    sc[j] = (lo & 15) | ((top & 3) << 4); sc[j + 4] = (lo >> 4) | (((top >> 2) & 3) << 4);
    mn[j] = (ml & 15) | (((top >> 4) & 3) << 4); mn[j + 4] = (ml >> 4) | ((top >> 6) << 4);
  }
  // ggml's 12 bytes (get_scale_min_k4 read backwards): 0..3 scales 0..3 and top bits of scales 4..7,
  // 4..7 mins 0..3 and top bits of mins 4..7, 8..11 low nibbles of scales / mins 4..7.
  for (let j = 0; j < 4; j++) {
    dst[d + 4 + j] = sc[j]! | ((sc[j + 4]! >> 4) << 6);
    dst[d + 8 + j] = mn[j]! | ((mn[j + 4]! >> 4) << 6);
    dst[d + 12 + j] = (sc[j + 4]! & 15) | ((mn[j + 4]! & 15) << 4);
  }
  // Plain byte 32p + t holds value t of sub-blocks 2p (low nibble) and 2p + 1 (high): each is
  // nibble (t & 2 ? high : low) of byte 8(t >> 2) + 2k + (t & 1) of its sub-block, 64 bytes apart.
  for (let p = 0; p < 4; p++) for (let t = 0; t < 32; t++) {
    const at = o + NIBBLES + 128 * p + 8 * (t >> 2) + 2 * k + (t & 1), shift = (t & 2) << 1;
    dst[d + 16 + 32 * p + t] = ((data[at]! >> shift) & 15) | (((data[at + 64]! >> shift) & 15) << 4);
  }
}
