// Quantization into ggml's block types, the inverse of ggml-dequant.ts: written from the
// reference quantizers' arithmetic (ggml-quants.c quantize_row_*_ref, and ggml's fp32 → f16/bf16
// conversions), every value computed in float32 in ggml's order (Math.fround after each step), so
// the bytes equal what ggml_quantize_chunk writes without an importance matrix (checked byte for
// byte against ggml-written GGUF files in the tests). Used to write GGUF files; a separate entry
// (@msrnn/tensor/quantize), so pages that only run models do not bundle it.
import { float16Bits } from '../fp16.js';
import { GGML, ggmlRowBytes, ggmlTypeInfo } from './ggml-types.js';
import { f32Bytes, refuseNonFiniteGgml } from './ggml-finite.js';

const fround = Math.fround;

/** The ggml types quantizeGgmlRow writes. */
export const QUANTIZABLE_GGML_TYPES: readonly string[] = Object.freeze(['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1']);

// Reinterpreting a float32's bits without a DataView.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** ggml_compute_fp32_to_bf16: round to nearest even on the high 16 bits; a NaN stays a quiet NaN. */
export function bfloat16Bits(value: number): number {
  f32[0] = value;
  const u = u32[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 64) & 0xffff;
  return ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16) & 0xffff;
}

/** C's roundf: halves away from zero (Math.round takes -2.5 to -2). */
const roundAway = (x: number): number => (x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5));
/** C's (int8_t) cast of a float in range: toward zero. */
const toInt = Math.trunc;

function putHalf(out: Uint8Array, o: number, v: number): void {
  const h = float16Bits(v);
  out[o] = h & 255;
  out[o + 1] = h >>> 8;
}

/** amax and the value that has it (the first such, as ggml's strict `<` finds it) of src[s, s + 32). */
function signedAbsMax(src: Float32Array, s: number): number {
  let amax = 0, max = 0;
  for (let j = 0; j < 32; j++) {
    const v = src[s + j]!;
    if (amax < Math.abs(v)) { amax = Math.abs(v); max = v; }
  }
  return max;
}

function quantizeBlock(type: number, src: Float32Array, s: number, out: Uint8Array, o: number): void {
  switch (type) {
    case GGML.Q8_0: {
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(src[s + j]!));
      const d = fround(amax / 127), id = d ? fround(1 / d) : 0;
      putHalf(out, o, d);
      for (let j = 0; j < 32; j++) out[o + 2 + j] = roundAway(fround(src[s + j]! * id)) & 255;
      return;
    }
    case GGML.Q4_0: {
      const d = fround(signedAbsMax(src, s) / -8), id = d ? fround(1 / d) : 0;
      putHalf(out, o, d);
      for (let j = 0; j < 16; j++) {
        const q0 = Math.min(15, toInt(fround(fround(src[s + j]! * id) + 8.5)));
        const q1 = Math.min(15, toInt(fround(fround(src[s + 16 + j]! * id) + 8.5)));
        out[o + 2 + j] = q0 | (q1 << 4);
      }
      return;
    }
    case GGML.Q5_0: {
      const d = fround(signedAbsMax(src, s) / -16), id = d ? fround(1 / d) : 0;
      putHalf(out, o, d);
      let qh = 0;
      for (let j = 0; j < 16; j++) {
        const q0 = Math.min(31, toInt(fround(fround(src[s + j]! * id) + 16.5)));
        const q1 = Math.min(31, toInt(fround(fround(src[s + 16 + j]! * id) + 16.5)));
        out[o + 6 + j] = (q0 & 15) | ((q1 & 15) << 4);
        qh |= ((q0 >> 4) << j) | ((q1 >> 4) << (j + 16));
      }
      for (let b = 0; b < 4; b++) out[o + 2 + b] = (qh >>> (8 * b)) & 255;
      return;
    }
    case GGML.Q4_1:
    case GGML.Q5_1: {
      const five = type === GGML.Q5_1, levels = five ? 31 : 15;
      let min = Infinity, max = -Infinity;
      for (let j = 0; j < 32; j++) {
        const v = src[s + j]!;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      const d = fround(fround(max - min) / levels), id = d ? fround(1 / d) : 0;
      putHalf(out, o, d);
      putHalf(out, o + 2, min);
      const qs = o + (five ? 8 : 4);
      let qh = 0;
      for (let j = 0; j < 16; j++) {
        const q0 = Math.min(levels, toInt(fround(fround(fround(src[s + j]! - min) * id) + 0.5)));
        const q1 = Math.min(levels, toInt(fround(fround(fround(src[s + 16 + j]! - min) * id) + 0.5)));
        out[qs + j] = (q0 & 15) | ((q1 & 15) << 4);
        qh |= ((q0 >> 4) << j) | ((q1 >> 4) << (j + 16));
      }
      if (five) for (let b = 0; b < 4; b++) out[o + 4 + b] = (qh >>> (8 * b)) & 255;
      return;
    }
  }
}

/**
 * Writes `cols` float32 values src[srcOff ..] as one ggml row of type `type` at out[outOff ..]
 * (ggmlRowBytes(type, cols) bytes). cols must be a multiple of the type's block size.
 */
export function quantizeGgmlRow(type: number, src: Float32Array, srcOff: number, cols: number, out: Uint8Array, outOff = 0): void {
  const info = ggmlTypeInfo(type);
  if (!QUANTIZABLE_GGML_TYPES.includes(info.name)) throw new Error(`quantizeGgmlRow: cannot write ggml type ${info.name} (writable: ${QUANTIZABLE_GGML_TYPES.join(', ')})`);
  const bytes = ggmlRowBytes(type, cols);
  if (!Number.isInteger(srcOff) || srcOff < 0 || srcOff + cols > src.length) throw new RangeError(`quantizeGgmlRow: source range [${srcOff}, ${srcOff + cols}) is outside its length ${src.length}`);
  if (!Number.isInteger(outOff) || outOff < 0 || outOff + bytes > out.length) throw new RangeError(`quantizeGgmlRow: output range [${outOff}, ${outOff + bytes}) is outside its length ${out.length}`);
  switch (type) {
    case GGML.F32:
      for (let i = 0; i < cols; i++) {
        f32[0] = src[srcOff + i]!;
        const u = u32[0]!, o = outOff + 4 * i;
        out[o] = u & 255; out[o + 1] = (u >>> 8) & 255; out[o + 2] = (u >>> 16) & 255; out[o + 3] = u >>> 24;
      }
      return;
    case GGML.F16:
      for (let i = 0; i < cols; i++) putHalf(out, outOff + 2 * i, src[srcOff + i]!);
      return;
    case GGML.BF16:
      for (let i = 0; i < cols; i++) {
        const h = bfloat16Bits(src[srcOff + i]!);
        out[outOff + 2 * i] = h & 255; out[outOff + 2 * i + 1] = h >>> 8;
      }
      return;
  }
  for (let b = 0; b < cols / 32; b++) quantizeBlock(type, src, srcOff + 32 * b, out, outOff + b * info.blockBytes);
}

/**
 * A rows × cols row-major float32 matrix (from src[srcOff]) as the bytes of a ggml tensor of `type`.
 * Every value must be finite (an Inf/NaN would become an Inf/NaN scale, which loaders refuse).
 */
export function quantizeGgmlMatrix(type: number, src: Float32Array, srcOff: number, rows: number, cols: number): Uint8Array {
  const rb = ggmlRowBytes(type, cols);
  if (!(Number.isSafeInteger(rows) && rows >= 0 && Number.isInteger(srcOff) && srcOff >= 0 && srcOff + rows * cols <= src.length)) {
    throw new RangeError(`quantizeGgmlMatrix: ${rows}×${cols} at offset ${srcOff} is outside the source's length ${src.length}`);
  }
  refuseNonFiniteGgml('quantizeGgmlMatrix', GGML.F32, cols, f32Bytes(src, srcOff, rows * cols));
  const out = new Uint8Array(rows * rb);
  for (let r = 0; r < rows; r++) quantizeGgmlRow(type, src, srcOff + r * cols, cols, out, r * rb);
  return out;
}
