// Dequantization of ggml's blocks, written from the block layouts (ggml-common.h) and the
// reference dequantizers' arithmetic (ggml-quants.c): every value is computed in float32 in the
// same order ggml computes it (Math.fround after each step), so the results equal ggml's own
// `to_float` bit for bit. Used by the pure-TS kernels and as the reference for the wasm ones.
import { float16Table } from '../fp16.js';
import { GGML, ggmlRowBytes, supportedGgmlType } from './ggml-types.js';

const fround = Math.fround;
/** Value of the little-endian IEEE half at bytes[o]. */
const half = (t: Float32Array, b: Uint8Array, o: number): number => t[b[o]! | (b[o + 1]! << 8)]!;

// Reinterpreting 32 bits as a float without a DataView (bytes may be unaligned).
const bits32 = new Uint32Array(1);
const asF32 = new Float32Array(bits32.buffer);

/** IQ4_NL's 16 levels (kvalues_iq4nl in ggml-common.h): a non-linear 4-bit code book. */
export const IQ4_NL_LEVELS: readonly number[] = Object.freeze([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]);
const iq4Levels = Int8Array.from(IQ4_NL_LEVELS);

/** The 6-bit scale (which = 0) or min (which = 1) of sub-block j of a Q4_K/Q5_K super-block (get_scale_min_k4). */
export function kScaleMin(b: Uint8Array, s: number, j: number, which: 0 | 1): number {
  if (j < 4) return b[s + j + 4 * which]! & 63;
  return which === 0
    ? (b[s + j + 4]! & 0x0f) | ((b[s + j - 4]! >> 6) << 4)
    : (b[s + j + 4]! >> 4) | ((b[s + j]! >> 6) << 4);
}

/** Writes the block at bytes[o] (type `type`, blockSize values) to out[p ..]. */
function dequantizeBlock(type: number, b: Uint8Array, o: number, out: Float32Array, p: number, t: Float32Array): void {
  switch (type) {
    case GGML.Q8_0: {
      const d = half(t, b, o);
      for (let j = 0; j < 32; j++) out[p + j] = ((b[o + 2 + j]! << 24) >> 24) * d;
      return;
    }
    case GGML.Q4_0: {
      const d = half(t, b, o);
      for (let j = 0; j < 16; j++) {
        const q = b[o + 2 + j]!;
        out[p + j] = ((q & 15) - 8) * d;
        out[p + j + 16] = ((q >> 4) - 8) * d;
      }
      return;
    }
    case GGML.Q4_1: {
      const d = half(t, b, o), m = half(t, b, o + 2);
      for (let j = 0; j < 16; j++) {
        const q = b[o + 4 + j]!;
        out[p + j] = fround((q & 15) * d) + m;
        out[p + j + 16] = fround((q >> 4) * d) + m;
      }
      return;
    }
    case GGML.Q5_0: {
      const d = half(t, b, o);
      const qh = (b[o + 2]! | (b[o + 3]! << 8) | (b[o + 4]! << 16) | (b[o + 5]! << 24)) >>> 0;
      for (let j = 0; j < 16; j++) {
        const q = b[o + 6 + j]!;
        out[p + j] = (((q & 15) | (((qh >>> j) & 1) << 4)) - 16) * d;
        out[p + j + 16] = (((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16) * d;
      }
      return;
    }
    case GGML.Q5_1: {
      const d = half(t, b, o), m = half(t, b, o + 2);
      const qh = (b[o + 4]! | (b[o + 5]! << 8) | (b[o + 6]! << 16) | (b[o + 7]! << 24)) >>> 0;
      for (let j = 0; j < 16; j++) {
        const q = b[o + 8 + j]!;
        out[p + j] = fround(((q & 15) | (((qh >>> j) & 1) << 4)) * d) + m;
        out[p + j + 16] = fround(((q >> 4) | (((qh >>> (j + 16)) & 1) << 4)) * d) + m;
      }
      return;
    }
    case GGML.IQ4_NL: {
      const d = half(t, b, o);
      for (let j = 0; j < 16; j++) {
        const q = b[o + 2 + j]!;
        out[p + j] = d * iq4Levels[q & 15]!;
        out[p + j + 16] = d * iq4Levels[q >> 4]!;
      }
      return;
    }
    case GGML.Q4_K:
    case GGML.Q5_K: {
      // d, dmin, scales[12], (Q5_K: qh[32]), qs[128]; sub-block pair (2i, 2i+1) shares 32 bytes of
      // qs: low nibbles then high nibbles; Q5_K's 5th bit of sub-block j is bit j of qh[l].
      const d = half(t, b, o), dmin = half(t, b, o + 2), s = o + 4;
      const five = type === GGML.Q5_K;
      const qh = o + 16, qs = five ? o + 48 : o + 16;
      for (let i = 0; i < 4; i++) {
        const d1 = fround(d * kScaleMin(b, s, 2 * i, 0)), m1 = fround(dmin * kScaleMin(b, s, 2 * i, 1));
        const d2 = fround(d * kScaleMin(b, s, 2 * i + 1, 0)), m2 = fround(dmin * kScaleMin(b, s, 2 * i + 1, 1));
        for (let l = 0; l < 32; l++) {
          const q = b[qs + 32 * i + l]!;
          const h = five ? b[qh + l]! : 0;
          const lo = (q & 15) + (((h >> (2 * i)) & 1) << 4), hi = (q >> 4) + (((h >> (2 * i + 1)) & 1) << 4);
          out[p + 64 * i + l] = fround(d1 * lo) - m1;
          out[p + 64 * i + 32 + l] = fround(d2 * hi) - m2;
        }
      }
      return;
    }
    case GGML.Q6_K: {
      // ql[128], qh[64], scales[16] (int8), d. Each half of 128 values: ql[l], ql[l+32] give the low
      // nibbles of values l, l+32 (low) and l+64, l+96 (high); qh[l] their top 2 bits, 2 bits each.
      const ql0 = o, qh0 = o + 128, sc0 = o + 192, d = half(t, b, o + 208);
      for (let n = 0; n < 2; n++) {
        const ql = ql0 + 64 * n, qh = qh0 + 32 * n, sc = sc0 + 8 * n, y = p + 128 * n;
        for (let l = 0; l < 32; l++) {
          const is = sc + (l >> 4), h = b[qh + l]!, a = b[ql + l]!, c = b[ql + l + 32]!;
          out[y + l] = fround(d * ((b[is]! << 24) >> 24)) * (((a & 15) | ((h & 3) << 4)) - 32);
          out[y + l + 32] = fround(d * ((b[is + 2]! << 24) >> 24)) * (((c & 15) | (((h >> 2) & 3) << 4)) - 32);
          out[y + l + 64] = fround(d * ((b[is + 4]! << 24) >> 24)) * (((a >> 4) | (((h >> 4) & 3) << 4)) - 32);
          out[y + l + 96] = fround(d * ((b[is + 6]! << 24) >> 24)) * (((c >> 4) | (((h >> 6) & 3) << 4)) - 32);
        }
      }
      return;
    }
    case GGML.F32: {
      bits32[0] = b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
      out[p] = asF32[0]!;
      return;
    }
    case GGML.F16: out[p] = half(t, b, o); return;
    case GGML.BF16: {
      bits32[0] = (b[o]! << 16) | (b[o + 1]! << 24);
      out[p] = asF32[0]!;
      return;
    }
  }
  throw new Error(`dequantize: ggml type id ${type} has no decoder`);
}

/**
 * out[outOff + c] = value c of the row of `cols` values of ggml type `type` stored at
 * bytes[offset ..] (c < cols). Equal to ggml's own dequantization bit for bit.
 */
export function dequantizeGgmlRow(type: number, bytes: Uint8Array, offset: number, cols: number, out: Float32Array, outOff = 0): void {
  const info = supportedGgmlType(type, 'dequantizeGgmlRow');
  const rowBytes = ggmlRowBytes(type, cols);
  if (!Number.isInteger(offset) || offset < 0 || offset + rowBytes > bytes.length) {
    throw new RangeError(`dequantizeGgmlRow: a ${info.name} row of ${cols} values needs bytes [${offset}, ${offset + rowBytes}), the source has ${bytes.length}`);
  }
  if (!Number.isInteger(outOff) || outOff < 0 || outOff + cols > out.length) throw new RangeError(`dequantizeGgmlRow: out[${outOff} .. ${outOff + cols}) is outside its length ${out.length}`);
  const t = float16Table();
  for (let k = 0, n = cols / info.blockSize; k < n; k++) {
    dequantizeBlock(type, bytes, offset + k * info.blockBytes, out, outOff + k * info.blockSize, t);
  }
}

/**
 * Unchecked decoder for the kernels (type already validated): `count` blocks from bytes[offset]
 * to out[outOff ..].
 */
export function dequantizeBlocksUnchecked(type: number, bytes: Uint8Array, offset: number, out: Float32Array, outOff: number,
  count: number, blockSize: number, blockBytes: number): void {
  const t = float16Table();
  for (let k = 0; k < count; k++) dequantizeBlock(type, bytes, offset + k * blockBytes, out, outOff + k * blockSize, t);
}
