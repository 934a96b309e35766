// The four-rows layout of Q6_K (see ./rows4.ts for the layout family): per group of four rows and
// super-block of 256 values, the four rows' 210-byte blocks become Q6K_GROUP_BLOCK bytes:
//   [0, 8)     the four f16 d (row k at 2k),
//   [8, 72)    the int8 scales, sub-block u's four side by side (byte 8 + 4u + k = row k's sc[u]),
//   [72, 840)  16 units of 48 bytes, unit u = values 16u .. 16u+15 of the four rows, as eight i16x8
//              weight vectors W_p (p = 0..7: values 16u + 2p, 16u + 2p + 1 of row k in lanes 2k, 2k+1)
//              packed into three vectors S_0..S_2 of 8 i16 lanes.
// Each value is stored as e = (q − 32) & 63, the 6-bit two's complement of what the kernel multiplies,
// so an arithmetic shift both places and sign-extends it:
//   S_j lane = e(top_j) << 10 | e(mid_j) << 4 | low_j, with (top, mid) = (W0, W4), (W2, W6), (W1, W5) for
//   j = 0, 1, 2; W3's e is split as S_0's low 4 bits (e >> 2) and S_1's bits 0..1 (e & 3), W7's as
//   S_2's low 4 bits and S_1's bits 2..3.
// Decoding: top = S >> 10, mid = (S << 6) >> 10, W3 = ((S_0 << 12) >> 10) | (S_1 & 3),
// W7 = ((S_2 << 12) >> 10) | ((S_1 >> 2) & 3) (arithmetic shifts): 18 vector operations per 64 values,
// where the plain block needs 25 before widening the bytes to i16 lanes (8 more).

/** Bytes of one group super-block: four 210-byte blocks. */
export const Q6K_GROUP_BLOCK = 840;
/** Byte offsets in a group super-block: the f16 d, the scales, the units (48 bytes each). */
export const Q6K_D = 0, Q6K_SCALES = 8, Q6K_UNITS = 72, Q6K_UNIT_BYTES = 48;
/** The weight vector held in S_j's top and middle bits (j = 0..2); W3 and W7 are split. */
export const Q6K_TOP = [0, 2, 1] as const, Q6K_MID = [4, 6, 5] as const;

const QL = 0, QH = 128, SC = 192, D = 208;

/** One block's 256 values as e = (q − 32) & 63 = q ^ 32 (scratch of packQ6KBlock / unpackQ6KBlock). */
const values = new Uint8Array(256);

/** Sets `values` from the plain Q6_K block at b[o ..] (layout: quant/ggml-dequant.ts). */
function readPlain(b: Uint8Array, o: number): void {
  for (let n = 0; n < 2; n++) for (let l = 0; l < 32; l++) {
    const a = b[o + QL + 64 * n + l]!, c = b[o + QL + 64 * n + 32 + l]!, h = b[o + QH + 32 * n + l]!, v = 128 * n + l;
    values[v] = ((a & 15) | ((h & 3) << 4)) ^ 32;
    values[v + 32] = ((c & 15) | (((h >> 2) & 3) << 4)) ^ 32;
    values[v + 64] = ((a >> 4) | (((h >> 4) & 3) << 4)) ^ 32;
    values[v + 96] = ((c >> 4) | ((h >> 6) << 4)) ^ 32;
  }
}

/** Writes `values` as the plain block's ql and qh at b[o ..]. */
function writePlain(b: Uint8Array, o: number): void {
  for (let n = 0; n < 2; n++) for (let l = 0; l < 32; l++) {
    const v = 128 * n + l, q0 = values[v]! ^ 32, q1 = values[v + 32]! ^ 32, q2 = values[v + 64]! ^ 32, q3 = values[v + 96]! ^ 32;
    b[o + QL + 64 * n + l] = (q0 & 15) | ((q2 & 15) << 4);
    b[o + QL + 64 * n + 32 + l] = (q1 & 15) | ((q3 & 15) << 4);
    b[o + QH + 32 * n + l] = (q0 >> 4) | ((q1 >> 4) << 2) | ((q2 >> 4) << 4) | ((q3 >> 4) << 6);
  }
}

/** Address of S_j's lane `lane` (an i16, little-endian) in unit u, from a group super-block's start. */
const sLane = (u: number, j: number, lane: number): number => Q6K_UNITS + Q6K_UNIT_BYTES * u + 16 * j + 2 * lane;

/** Row k's plain block at src[s ..] into the group super-block at out[o ..]: its d, scales and lanes 2k, 2k + 1. */
export function packQ6KBlock(src: Uint8Array, s: number, out: Uint8Array, o: number, k: number): void {
  out[o + Q6K_D + 2 * k] = src[s + D]!; out[o + Q6K_D + 2 * k + 1] = src[s + D + 1]!;
  for (let u = 0; u < 16; u++) out[o + Q6K_SCALES + 4 * u + k] = src[s + SC + u]!;
  readPlain(src, s);
  for (let u = 0; u < 16; u++) for (let j = 0; j < 2; j++) {
    const v = 16 * u + j, a = o + sLane(u, 0, 2 * k + j); // S_1, S_2 lanes 16 and 32 bytes further
    const w0 = (values[v]! << 10) | (values[v + 8]! << 4) | (values[v + 6]! >> 2);
    const w1 = (values[v + 4]! << 10) | (values[v + 12]! << 4) | ((values[v + 14]! & 3) << 2) | (values[v + 6]! & 3);
    const w2 = (values[v + 2]! << 10) | (values[v + 10]! << 4) | (values[v + 14]! >> 2);
    out[a] = w0 & 255; out[a + 1] = w0 >> 8; out[a + 16] = w1 & 255; out[a + 17] = w1 >> 8; out[a + 32] = w2 & 255; out[a + 33] = w2 >> 8;
  }
}

/** Row k's plain block into dst[d ..] from the group super-block at b[o ..]. */
export function unpackQ6KBlock(b: Uint8Array, o: number, k: number, dst: Uint8Array, d: number): void {
  dst[d + D] = b[o + Q6K_D + 2 * k]!; dst[d + D + 1] = b[o + Q6K_D + 2 * k + 1]!;
  for (let u = 0; u < 16; u++) dst[d + SC + u] = b[o + Q6K_SCALES + 4 * u + k]!;
  for (let u = 0; u < 16; u++) for (let j = 0; j < 2; j++) {
    const v = 16 * u + j, a = o + sLane(u, 0, 2 * k + j);
    const w0 = b[a]! | (b[a + 1]! << 8), w1 = b[a + 16]! | (b[a + 17]! << 8), w2 = b[a + 32]! | (b[a + 33]! << 8);
    values[v] = w0 >> 10; values[v + 8] = (w0 >> 4) & 63; values[v + 6] = ((w0 & 15) << 2) | (w1 & 3);
    values[v + 4] = w1 >> 10; values[v + 12] = (w1 >> 4) & 63; values[v + 14] = ((w2 & 15) << 2) | ((w1 >> 2) & 3);
    values[v + 2] = w2 >> 10; values[v + 10] = (w2 >> 4) & 63;
  }
  writePlain(dst, d);
}
