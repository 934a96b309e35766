// Weight matrices in reduced precision and their matvecs. A model keeps each projection as a
// WeightMatrix; `matvecWeights` dispatches to the wasm SIMD kernels when the backend has them,
// else to the plain TypeScript references below (so every backend handles every weight type).
import type { Backend } from '../backend.js';
import { float16Bits, float16Table } from '../fp16.js';
import { ggmlRowBytes, ggmlTypeInfo, supportedGgmlType, GGML } from './ggml-types.js';
import { ROWS4_FLAG, unpackRow4 } from './rows4.js';
import { matmulGgmlJs, matvecGgmlJs } from './ggml-matvec-js.js';
import { dequantizeGgmlRow } from './ggml-dequant.js';
import { f32Bytes, nonFiniteScanFor, refuseNonFiniteGgml, type NonFiniteGgml } from './ggml-finite.js';
import { checkPromptActivations, type PromptActivations } from './prompt-activations.js';

export type WeightType = 'f32' | 'f16' | 'q8';
export const WEIGHT_TYPES: readonly WeightType[] = ['f32', 'f16', 'q8'];
/** Values per Q8 block (one scale each), as in GGUF's Q8_0. */
export const Q8_BLOCK = 32;

export interface F32Weights { type: 'f32'; rows: number; cols: number; data: Float32Array; offset: number }
export interface F16Weights { type: 'f16'; rows: number; cols: number; bits: Uint16Array }
/** Row r's block b covers columns [32b, 32b+32) ∩ [0, cols): scale at scales[r*ceil(cols/32) + b]. */
export interface Q8Weights { type: 'q8'; rows: number; cols: number; q: Int8Array; scales: Float32Array }
/**
 * A matrix in one of ggml's types (ids in ./ggml-types.ts), kept in its blocks: row r is
 * data[r·rowBytes .. (r+1)·rowBytes). On the js backend `data` can be a view into the file's
 * bytes; the wasm backend needs it in its memory (ggmlWeights copies it there).
 */
export interface GgmlWeights {
  type: 'ggml'; ggmlType: number; rows: number; cols: number; rowBytes: number; data: Uint8Array;
  /** 'rows4': data holds the rows in the four-rows layout (./rows4.ts; the wasm backend's, repacked at load). */
  layout?: 'rows4';
}
export type WeightMatrix = F32Weights | F16Weights | Q8Weights | GgmlWeights;

/** Optional storage for quantized arrays (the wasm backend supplies views into its memory). */
export interface QuantAlloc {
  alloc(n: number): Float32Array;
  allocU16?(n: number): Uint16Array;
  allocI8?(n: number): Int8Array;
  allocU8?(n: number): Uint8Array;
  /** A faster findNonFiniteGgml (./ggml-finite.ts) for bytes in this memory (the wasm backend's SIMD scan). */
  findNonFiniteGgml?(type: number, bytes: Uint8Array): NonFiniteGgml | null;
  /** The ggml types a loader repacks into the four-rows layout (./rows4.ts) for this memory's backend (wasm). */
  readonly rows4Types?: readonly number[];
}

/** The ggml-block kernels a backend may add (the wasm backend does); else the pure-TS ones run. */
interface GgmlKernels {
  matvecGgml(type: number, out: Float32Array, oOff: number, data: Uint8Array, dataOff: number, x: Float32Array, xOff: number, rows: number, cols: number): void;
  /** out[oOff + i·rows + r] = W[r] · x[xOff + i·cols ..], i < m. */
  matmulGgml(type: number, out: Float32Array, oOff: number, data: Uint8Array, dataOff: number, x: Float32Array, xOff: number, m: number, rows: number, cols: number): void;
  /** The types it runs in the four-rows layout (type ids with ROWS4_FLAG, ./rows4.ts). */
  readonly rows4Types?: readonly number[];
}

/** Kernels the wasm backend adds for reduced-precision weights (duck-typed on the backend). */
interface QuantKernels {
  matvecF16(out: Float32Array, oOff: number, w: Uint16Array, wOff: number, x: Float32Array, xOff: number, rows: number, cols: number): void;
  matvecQ8(out: Float32Array, oOff: number, q: Int8Array, qOff: number, scales: Float32Array, sOff: number,
    x: Float32Array, xOff: number, rows: number, cols: number): void;
}

function checkShape(src: Float32Array, offset: number, rows: number, cols: number, what: string): void {
  if (!Number.isInteger(rows) || rows <= 0 || !Number.isInteger(cols) || cols <= 0) throw new RangeError(`${what}: bad shape ${rows}×${cols}`);
  if (offset < 0 || offset + rows * cols > src.length) throw new RangeError(`${what}: ${rows}×${cols} at offset ${offset} exceeds the source length ${src.length}`);
}

/**
 * rows × cols float32 weights, a view of data[offset ..]. Every value must be finite: an Inf/NaN is
 * a RangeError naming it, its row and column (it would give NaN logits far from its cause).
 */
export function f32Weights(data: Float32Array, offset: number, rows: number, cols: number): F32Weights {
  const w = f32WeightsUnscanned(data, offset, rows, cols);
  refuseNonFiniteGgml('f32Weights', GGML.F32, cols, f32Bytes(data, offset, rows * cols));
  return w;
}

/** f32Weights without the Inf/NaN scan: for values a loader has scanned as it read them (finite-tensor.ts). */
export function f32WeightsUnscanned(data: Float32Array, offset: number, rows: number, cols: number): F32Weights {
  checkShape(data, offset, rows, cols, 'f32Weights');
  return { type: 'f32', rows, cols, data, offset };
}

export function quantizeF16(src: Float32Array, offset: number, rows: number, cols: number, mem?: QuantAlloc): F16Weights {
  checkShape(src, offset, rows, cols, 'quantizeF16');
  const n = rows * cols;
  refuseNonFiniteGgml('quantizeF16', GGML.F32, cols, f32Bytes(src, offset, n), nonFiniteScanFor(mem));
  const bits = mem?.allocU16 ? mem.allocU16(n) : new Uint16Array(n);
  let overflow = 0;
  for (let i = 0; i < n; i++) overflow |= ((bits[i] = float16Bits(src[offset + i]!)) & 0x7c00) + 0x400;
  // An all-ones exponent carries into bit 15: a weight too large for f16 (finite: checked above)
  // would be Inf on the js backend and a large finite number in the wasm kernels.
  if (overflow & 0x8000) {
    const i = bits.findIndex((b, j) => j < n && (b & 0x7c00) === 0x7c00);
    throw new RangeError(`quantizeF16: weight [${Math.floor(i / cols)}, ${i % cols}] = ${src[offset + i]} does not fit an f16 (largest magnitude 65504): keep these weights in f32 or q8`);
  }
  return { type: 'f16', rows, cols, bits };
}

/**
 * Symmetric int8 per block of 32 along each row: scale = max|v| / 127, q = round(v / scale).
 * Matvecs against it round the activations to int16 per block (quantizeActivations16).
 */
export function quantizeQ8(src: Float32Array, offset: number, rows: number, cols: number, mem?: QuantAlloc): Q8Weights {
  checkShape(src, offset, rows, cols, 'quantizeQ8');
  // Refused before anything is allocated: an Inf/NaN would make its block's scale Inf/NaN.
  refuseNonFiniteGgml('quantizeQ8', GGML.F32, cols, f32Bytes(src, offset, rows * cols), nonFiniteScanFor(mem));
  const blocks = Math.ceil(cols / Q8_BLOCK);
  const q = mem?.allocI8 ? mem.allocI8(rows * cols) : new Int8Array(rows * cols);
  const scales = mem ? mem.alloc(rows * blocks) : new Float32Array(rows * blocks);
  for (let r = 0; r < rows; r++) quantizeQ8Row(q, r * cols, scales, r * blocks, src, offset + r * cols, cols);
  return { type: 'q8', rows, cols, q, scales };
}

/**
 * One row of Q8 (the layout above): q[qOff + c] and, per block b of 32, scales[sOff + b] from
 * src[srcOff .. srcOff + cols). Allocation-free: cached KV entries are quantized one row per token.
 */
export function quantizeQ8Row(q: Int8Array, qOff: number, scales: Float32Array, sOff: number, src: Float32Array, srcOff: number, cols: number): void {
  for (let b = 0, blocks = Math.ceil(cols / Q8_BLOCK); b < blocks; b++) {
    const c0 = b * Q8_BLOCK, c1 = Math.min(cols, c0 + Q8_BLOCK);
    let amax = 0;
    for (let c = c0; c < c1; c++) amax = Math.max(amax, Math.abs(src[srcOff + c]!));
    const scale = Math.fround(amax / 127);
    scales[sOff + b] = scale;
    const inv = scale === 0 ? 0 : 1 / scale;
    for (let c = c0; c < c1; c++) q[qOff + c] = Math.max(-127, Math.min(127, Math.round(src[srcOff + c]! * inv)));
  }
}

/**
 * Weights in ggml type `ggmlType` (rows × cols, row-major, rows of whole blocks) from `bytes`,
 * which must hold exactly rows × rowBytes. Every float the blocks store (a block's f16 scales, or
 * F32/F16/BF16 values) must be finite: an Inf/NaN is a RangeError naming the block, its row and
 * columns (the kernels would not agree on it: quant/ggml-finite.ts). With `mem.allocU8` (the wasm
 * backend) the blocks are copied into that memory; otherwise the result is a view of `bytes`.
 */
export function ggmlWeights(ggmlType: number, rows: number, cols: number, bytes: Uint8Array, mem?: QuantAlloc, what = 'ggmlWeights'): GgmlWeights {
  const w = ggmlWeightsUnscanned(ggmlType, rows, cols, bytes, what);
  // Scanned where they are (an Inf/NaN is refused before anything is allocated for it).
  refuseNonFiniteGgml(what, ggmlType, cols, w.data, nonFiniteScanFor(mem));
  if (mem?.allocU8) { const copy = mem.allocU8(w.data.length); copy.set(w.data); w.data = copy; }
  return w;
}

/**
 * ggmlWeights without the Inf/NaN scan and without a copy: for bytes the caller scans itself, as the
 * model loaders do piece by piece while they read a tensor (before that the bytes are not there yet).
 * The shape and size are checked as ggmlWeights checks them.
 */
export function ggmlWeightsUnscanned(ggmlType: number, rows: number, cols: number, bytes: Uint8Array, what = 'ggmlWeights'): GgmlWeights {
  supportedGgmlType(ggmlType, what);
  if (!Number.isSafeInteger(rows) || rows <= 0) throw new RangeError(`${what}: rows must be a positive integer, got ${rows}`);
  const rowBytes = ggmlRowBytes(ggmlType, cols);
  const n = rows * rowBytes;
  if (bytes.length !== n) throw new RangeError(`${what}: ${rows}×${cols} needs ${n} bytes, got ${bytes.length}`);
  return { type: 'ggml', ggmlType, rows, cols, rowBytes, data: bytes };
}

/** Validates a weight type; `what` names it in the error. */
export function checkWeightType(value: unknown, what = 'weight type'): WeightType {
  if ((WEIGHT_TYPES as readonly unknown[]).includes(value)) return value as WeightType;
  throw new RangeError(`${what} must be one of ${WEIGHT_TYPES.join(', ')}, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
}

export function quantize(type: WeightType, src: Float32Array, offset: number, rows: number, cols: number, mem?: QuantAlloc): WeightMatrix {
  checkWeightType(type);
  if (type === 'f32') return f32Weights(src, offset, rows, cols);
  if (type === 'f16') return quantizeF16(src, offset, rows, cols, mem);
  return quantizeQ8(src, offset, rows, cols, mem);
}

export function weightBytes(w: WeightMatrix): number {
  switch (w.type) {
    case 'f32': return w.rows * w.cols * 4;
    case 'f16': return w.bits.byteLength;
    case 'q8': return w.q.byteLength + w.scales.byteLength;
    case 'ggml': return w.data.byteLength;
  }
}

/** Rows computed together by the pure-TS fp16/Q8 matvecs (one per stripe, as raw.matvec does). */
const JS_ROWS = 8;

/**
 * Pure-TS fp16 matvec: out[r] = Σ_c half(bits[r][c]) · x[c], each the left-to-right float64 sum
 * of the decoded weights (decoded through the 65536-entry table). Like raw.matvec it computes 8
 * rows at once, one from each of 8 equal stripes, so 8 independent sums overlap and each reads
 * one long sequential stream. A copy of that loop rather than one loop with a per-type load
 * callback: the decode must stay inline in the inner loop to keep the multiply-adds overlapping.
 */
export function matvecF16Js(out: Float32Array, oOff: number, bits: Uint16Array, wOff: number, x: Float32Array, xOff: number, rows: number, cols: number): void {
  const t = float16Table();
  const S = Math.floor(rows / JS_ROWS), step = S * cols;
  for (let i = 0; i < S; i++) {
    const w0 = wOff + i * cols, w1 = w0 + step, w2 = w1 + step, w3 = w2 + step;
    const w4 = w3 + step, w5 = w4 + step, w6 = w5 + step, w7 = w6 + step;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (let c = 0; c < cols; c++) {
      const xc = x[xOff + c]!;
      s0 += t[bits[w0 + c]!]! * xc; s1 += t[bits[w1 + c]!]! * xc; s2 += t[bits[w2 + c]!]! * xc; s3 += t[bits[w3 + c]!]! * xc;
      s4 += t[bits[w4 + c]!]! * xc; s5 += t[bits[w5 + c]!]! * xc; s6 += t[bits[w6 + c]!]! * xc; s7 += t[bits[w7 + c]!]! * xc;
    }
    const o = oOff + i;
    out[o] = s0; out[o + S] = s1; out[o + 2 * S] = s2; out[o + 3 * S] = s3;
    out[o + 4 * S] = s4; out[o + 5 * S] = s5; out[o + 6 * S] = s6; out[o + 7 * S] = s7;
  }
  for (let r = JS_ROWS * S; r < rows; r++) {
    let s = 0;
    const base = wOff + r * cols;
    for (let c = 0; c < cols; c++) s += t[bits[base + c]!]! * x[xOff + c]!;
    out[oOff + r] = s;
  }
}

/** Largest int16 an activation block is scaled to. */
const I16_MAX = 32767;

/**
 * Rounds x[xOff .. xOff+cols) to int16 per block of 32 (scale max|x|/32767, stored as f32 in
 * xs[block]): the activation side of a Q8 matvec, so each block's dot product is an integer one.
 * Relative error <= 1.5e-5 of the block's largest |x| — about 250x under the int8 weights' own.
 */
export function quantizeActivations16(x: Float32Array, xOff: number, cols: number, x16: Int16Array, xs: Float32Array): void {
  quantizeActivationBlocks16(x, xOff, 0, cols, x16, xs);
}

/** quantizeActivations16 of the blocks from column `from` (a multiple of 32) to `cols`: the wasm backend's tail after its SIMD blocks. */
export function quantizeActivationBlocks16(x: Float32Array, xOff: number, from: number, cols: number, x16: Int16Array, xs: Float32Array): void {
  for (let c0 = from; c0 < cols; c0 += Q8_BLOCK) {
    const c1 = Math.min(cols, c0 + Q8_BLOCK);
    let amax = 0;
    for (let c = c0; c < c1; c++) { const a = Math.abs(x[xOff + c]!); if (a > amax) amax = a; }
    const inv = amax > 0 ? I16_MAX / amax : 0;
    xs[c0 / Q8_BLOCK] = amax / I16_MAX;
    for (let c = c0; c < c1; c++) x16[c] = Math.round(x[xOff + c]! * inv);
  }
}

/**
 * x as two int16 terms per value for the ggml block kernels (cols a multiple of 32): per block b of
 * 32, xs[b] = max|x|/32767, h = round(x/xs[b]), l = round((x/xs[b] − h)·65534), so that
 * x ≈ xs[b]·(h + l/65534) to ~1/(2·32767·65534) of the block's largest |x|. out holds 64 int16
 * per block: the 32 h, then the 32 l.
 */
export function splitActivations16(x: Float32Array, xOff: number, cols: number, out: Int16Array, xs: Float32Array): void {
  for (let b = 0, blocks = cols >> 5; b < blocks; b++) {
    const c0 = xOff + 32 * b, o = 64 * b;
    let amax = 0;
    for (let c = 0; c < 32; c++) { const a = Math.abs(x[c0 + c]!); if (a > amax) amax = a; }
    const scale = Math.fround(amax / I16_MAX);
    xs[b] = scale;
    const inv = scale > 0 ? 1 / scale : 0;
    for (let c = 0; c < 32; c++) {
      const v = x[c0 + c]! * inv, h = Math.round(v);
      out[o + c] = h;
      out[o + 32 + c] = Math.round((v - h) * 65534);
    }
  }
}

let refX16 = new Int16Array(0);
let refXs = new Float32Array(0);

/**
 * Pure-TS Q8 matvec: the same arithmetic as the wasm kernel — activations rounded to int16 per
 * block, each block's dot product an exact integer sum (|sum| ≤ 32·127·32767 < 2^31, so int32
 * `Math.imul`/`| 0` never wraps and skip V8's overflow checks), then s += sum · (scale_w · scale_x)
 * left to right over the blocks in float64. 8 rows at once, one per stripe (see matvecF16Js).
 */
export function matvecQ8Js(out: Float32Array, oOff: number, q: Int8Array, qOff: number, scales: Float32Array, sOff: number,
  x: Float32Array, xOff: number, rows: number, cols: number): void {
  const blocks = Math.ceil(cols / Q8_BLOCK);
  if (refX16.length < cols) refX16 = new Int16Array(cols);
  if (refXs.length < blocks) refXs = new Float32Array(blocks);
  const x16 = refX16, xs = refXs;
  quantizeActivations16(x, xOff, cols, x16, xs);
  const S = Math.floor(rows / JS_ROWS), qStep = S * cols, sStep = S * blocks;
  for (let i = 0; i < S; i++) {
    const q0 = qOff + i * cols, q1 = q0 + qStep, q2 = q1 + qStep, q3 = q2 + qStep;
    const q4 = q3 + qStep, q5 = q4 + qStep, q6 = q5 + qStep, q7 = q6 + qStep;
    const sRow = sOff + i * blocks;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (let b = 0; b < blocks; b++) {
      const c0 = b * Q8_BLOCK, c1 = Math.min(cols, c0 + Q8_BLOCK);
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
      for (let c = c0; c < c1; c++) {
        const xc = x16[c]!;
        a0 = (a0 + Math.imul(q[q0 + c]!, xc)) | 0; a1 = (a1 + Math.imul(q[q1 + c]!, xc)) | 0;
        a2 = (a2 + Math.imul(q[q2 + c]!, xc)) | 0; a3 = (a3 + Math.imul(q[q3 + c]!, xc)) | 0;
        a4 = (a4 + Math.imul(q[q4 + c]!, xc)) | 0; a5 = (a5 + Math.imul(q[q5 + c]!, xc)) | 0;
        a6 = (a6 + Math.imul(q[q6 + c]!, xc)) | 0; a7 = (a7 + Math.imul(q[q7 + c]!, xc)) | 0;
      }
      const xb = xs[b]!, k = sRow + b;
      s0 += a0 * (scales[k]! * xb); s1 += a1 * (scales[k + sStep]! * xb);
      s2 += a2 * (scales[k + 2 * sStep]! * xb); s3 += a3 * (scales[k + 3 * sStep]! * xb);
      s4 += a4 * (scales[k + 4 * sStep]! * xb); s5 += a5 * (scales[k + 5 * sStep]! * xb);
      s6 += a6 * (scales[k + 6 * sStep]! * xb); s7 += a7 * (scales[k + 7 * sStep]! * xb);
    }
    const o = oOff + i;
    out[o] = s0; out[o + S] = s1; out[o + 2 * S] = s2; out[o + 3 * S] = s3;
    out[o + 4 * S] = s4; out[o + 5 * S] = s5; out[o + 6 * S] = s6; out[o + 7 * S] = s7;
  }
  for (let r = JS_ROWS * S; r < rows; r++) {
    let s = 0;
    const qRow = qOff + r * cols, sRow = sOff + r * blocks;
    for (let b = 0; b < blocks; b++) {
      const c0 = b * Q8_BLOCK, c1 = Math.min(cols, c0 + Q8_BLOCK);
      let bs = 0;
      for (let c = c0; c < c1; c++) bs = (bs + Math.imul(q[qRow + c]!, x16[c]!)) | 0;
      s += bs * (scales[sRow + b]! * xs[b]!);
    }
    out[oOff + r] = s;
  }
}

function hasQuantKernels(b: Backend): b is Backend & QuantKernels {
  return typeof (b as Partial<QuantKernels>).matvecQ8 === 'function' && typeof (b as Partial<QuantKernels>).matvecF16 === 'function';
}

function hasGgmlKernels(b: Backend): b is Backend & GgmlKernels {
  return typeof (b as Partial<GgmlKernels>).matvecGgml === 'function' && typeof (b as Partial<GgmlKernels>).matmulGgml === 'function';
}

/** A backend with the q8_0 prompt activations' kernel (wasm). */
interface Q8ActivationKernel {
  matmulGgmlActivationsQ8_0(type: number, out: Float32Array, oOff: number, data: Uint8Array, dataOff: number, x: Float32Array, xOff: number, m: number, rows: number, cols: number): void;
}

function hasQ8ActivationKernel(b: Backend): b is Backend & Q8ActivationKernel {
  return typeof (b as Partial<Q8ActivationKernel>).matmulGgmlActivationsQ8_0 === 'function';
}

/** F32/F16 ggml rows read as typed arrays (needs the element alignment a GGUF file gives its data). */
function typedView<T extends Float32Array | Uint16Array>(w: GgmlWeights, Ctor: { new (b: ArrayBufferLike, o: number, n: number): T; BYTES_PER_ELEMENT: number }): T {
  if (w.data.byteOffset % Ctor.BYTES_PER_ELEMENT !== 0) {
    throw new RangeError(`ggml ${w.ggmlType === GGML.F32 ? 'F32' : 'F16'} weights at byte offset ${w.data.byteOffset} are not ${Ctor.BYTES_PER_ELEMENT}-byte aligned (give the file's bytes in an aligned buffer)`);
  }
  return new Ctor(w.data.buffer, w.data.byteOffset, w.rows * w.cols);
}

/** Cached typed views of F32/F16 ggml weights, so a decode step allocates nothing. */
const typedViews = new WeakMap<GgmlWeights, Float32Array | Uint16Array>();
function f32View(w: GgmlWeights): Float32Array {
  let v = typedViews.get(w);
  if (v === undefined) { v = typedView(w, Float32Array); typedViews.set(w, v); }
  return v as Float32Array;
}
function f16View(w: GgmlWeights): Uint16Array {
  let v = typedViews.get(w);
  if (v === undefined) { v = typedView(w, Uint16Array); typedViews.set(w, v); }
  return v as Uint16Array;
}

/**
 * out[oOff + r] = W[rowStart + r] · x[xOff ..], r < rows (rows defaults to all of W's rows):
 * one call for any weight type on any backend.
 */
export function matvecWeights(backend: Backend, out: Float32Array, oOff: number, w: WeightMatrix, x: Float32Array, xOff: number,
  rowStart = 0, rows = w.rows - rowStart): void {
  if (rowStart < 0 || rows < 0 || rowStart + rows > w.rows) throw new RangeError(`matvecWeights: rows [${rowStart}, ${rowStart + rows}) outside 0..${w.rows}`);
  const cols = w.cols;
  switch (w.type) {
    case 'f32': backend.matvec(out, oOff, w.data, w.offset + rowStart * cols, x, xOff, rows, cols); return;
    case 'f16':
      if (hasQuantKernels(backend)) backend.matvecF16(out, oOff, w.bits, rowStart * cols, x, xOff, rows, cols);
      else matvecF16Js(out, oOff, w.bits, rowStart * cols, x, xOff, rows, cols);
      return;
    case 'q8': {
      const sOff = rowStart * Math.ceil(cols / Q8_BLOCK);
      if (hasQuantKernels(backend)) backend.matvecQ8(out, oOff, w.q, rowStart * cols, w.scales, sOff, x, xOff, rows, cols);
      else matvecQ8Js(out, oOff, w.q, rowStart * cols, w.scales, sOff, x, xOff, rows, cols);
      return;
    }
    case 'ggml':
      if (w.ggmlType === GGML.F32) { backend.matvec(out, oOff, f32View(w), rowStart * cols, x, xOff, rows, cols); return; }
      if (w.ggmlType === GGML.F16) {
        if (hasQuantKernels(backend)) backend.matvecF16(out, oOff, f16View(w), rowStart * cols, x, xOff, rows, cols);
        else matvecF16Js(out, oOff, f16View(w), rowStart * cols, x, xOff, rows, cols);
        return;
      }
      if (w.layout === 'rows4') { matvecRows4(backend, out, oOff, w, x, xOff, rowStart, rows); return; }
      if (hasGgmlKernels(backend)) backend.matvecGgml(w.ggmlType, out, oOff, w.data, rowStart * w.rowBytes, x, xOff, rows, cols);
      else matvecGgmlJs(w.ggmlType, out, oOff, w.data, rowStart * w.rowBytes, x, xOff, rows, cols);
      return;
  }
}

/** A backend that can run several matvecs over the same input as one job (the wasm backend). */
interface SharedInputKernels {
  matvecsShared(x: Float32Array, xOff: number, out0: Float32Array, w0: WeightMatrix, out1: Float32Array, w1: WeightMatrix,
    out2: Float32Array | null, w2: WeightMatrix | null): boolean;
}

/**
 * out_i[0 .. W_i.rows) = W_i · x[xOff ..] for two or three matrices that read the same x (q/k/v,
 * gate/up). The same numbers as one matvecWeights per matrix; a backend that can (wasm) runs them
 * as one job: one rounding of x for the quantized kernels, one round trip to its threads.
 */
export function matvecWeightsShared(backend: Backend, x: Float32Array, xOff: number, out0: Float32Array, w0: WeightMatrix,
  out1: Float32Array, w1: WeightMatrix, out2: Float32Array | null = null, w2: WeightMatrix | null = null): void {
  const b = backend as Backend & Partial<SharedInputKernels>;
  if (typeof b.matvecsShared === 'function' && b.matvecsShared(x, xOff, out0, w0, out1, w1, out2, w2)) return;
  matvecWeights(backend, out0, 0, w0, x, xOff);
  matvecWeights(backend, out1, 0, w1, x, xOff);
  if (w2 !== null) {
    if (out2 === null) throw new RangeError('matvecWeightsShared: w2 without out2');
    matvecWeights(backend, out2, 0, w2, x, xOff);
  }
}

/**
 * out[i*w.rows + j] = W[j] · a[i*w.cols ..], i < m: the matmul over rows of a chunk (prefill) for
 * any weight type. f32 (and GGUF's F32) runs the backend's matmulT (wasm SIMD, threads); ggml block types
 * run the backend's matmulGgml (wasm: see matmulGgml there; js: each block read once); other types run one
 * matvecWeights per row of `a` — correct for every type matvecWeights knows, so a new type needs
 * no case here unless it has a faster matrix-matrix kernel.
 */
export function matmulWeights(backend: Backend, out: Float32Array, a: Float32Array, m: number, w: WeightMatrix, activations: PromptActivations = 'exact'): void {
  if (activations !== 'exact') checkPromptActivations(activations);
  if (w.type === 'f32') { backend.matmulT(out, a, w.data, w.offset, m, w.rows, w.cols); return; }
  if (w.type === 'ggml' && w.ggmlType === GGML.F32) { backend.matmulT(out, a, f32View(w), 0, m, w.rows, w.cols); return; }
  // Block types, and F16 where the backend has a batched path for it (wasm: via f32 panels).
  if (w.type === 'ggml' && w.ggmlType !== GGML.F32 && (w.ggmlType !== GGML.F16 || hasGgmlKernels(backend))) {
    // One pass over the blocks for all m rows of a.
    if (!(m >= 0 && m * w.rows <= out.length && m * w.cols <= a.length)) throw new RangeError(`matmulWeights: ${m} rows of ${w.cols} into ${w.rows} columns exceed a (${a.length}) or out (${out.length})`);
    if (activations === 'q8_0' && (w.ggmlType === GGML.Q8_0 || w.ggmlType === GGML.Q4_0) && w.layout !== 'rows4' && hasQ8ActivationKernel(backend)) {
      backend.matmulGgmlActivationsQ8_0(w.ggmlType, out, 0, w.data, 0, a, 0, m, w.rows, w.cols);
    } else if (w.layout === 'rows4') rows4Kernels(backend, w, 'matmulWeights').matmulGgml(w.ggmlType | ROWS4_FLAG, out, 0, w.data, 0, a, 0, m, w.rows, w.cols);
    else if (hasGgmlKernels(backend)) backend.matmulGgml(w.ggmlType, out, 0, w.data, 0, a, 0, m, w.rows, w.cols);
    else matmulGgmlJs(w.ggmlType, out, 0, w.rows, w.data, 0, a, 0, w.cols, m, w.rows, w.cols);
    return;
  }
  for (let i = 0; i < m; i++) matvecWeights(backend, out, i * w.rows, w, a, i * w.cols);
}

/** out[oOff .. oOff+cols) = row `row` of W as float32 (an embedding lookup from any weight type). */
export function dequantizeRow(out: Float32Array, oOff: number, w: WeightMatrix, row: number): void {
  if (!(row >= 0 && row < w.rows)) throw new RangeError(`dequantizeRow: row ${row} outside 0..${w.rows - 1}`);
  const cols = w.cols;
  switch (w.type) {
    case 'f32': {
      const data = w.data, from = w.offset + row * cols;
      for (let c = 0; c < cols; c++) out[oOff + c] = data[from + c]!;
      return;
    }
    case 'f16': {
      const t = float16Table(), bits = w.bits, from = row * cols;
      for (let c = 0; c < cols; c++) out[oOff + c] = t[bits[from + c]!]!;
      return;
    }
    case 'q8': {
      const blocks = Math.ceil(cols / Q8_BLOCK), from = row * cols;
      for (let c = 0; c < cols; c++) out[oOff + c] = w.q[from + c]! * w.scales[row * blocks + Math.floor(c / Q8_BLOCK)]!;
      return;
    }
    case 'ggml':
      if (w.layout !== 'rows4') { dequantizeGgmlRow(w.ggmlType, w.data, row * w.rowBytes, cols, out, oOff); return; }
      if (plainRow.length < w.rowBytes) plainRow = new Uint8Array(w.rowBytes);
      unpackRow4(w.ggmlType, w.data, cols, row, plainRow);
      dequantizeGgmlRow(w.ggmlType, plainRow, 0, cols, out, oOff);
      return;
  }
}

/** One row in the plain layout, for dequantizeRow on the four-rows layout. */
let plainRow = new Uint8Array(0);

/** The backend's ggml kernels, for weights in the four-rows layout (only the wasm backend packs and runs them). */
function rows4Kernels(backend: Backend, w: GgmlWeights, what: string): Backend & GgmlKernels {
  if (hasGgmlKernels(backend) && backend.rows4Types?.includes(w.ggmlType)) return backend;
  throw new RangeError(`${what}: ${ggmlTypeInfo(w.ggmlType).name} weights in the four-rows layout need a backend that runs it (the wasm backend that loaded them), got ${backend.name}`);
}

/** Four output floats in the backend's memory, per backend: a partial group's rows (matvecRows4). */
const groupOutputs = new WeakMap<Backend, Float32Array>();

/**
 * matvecWeights on the four-rows layout: the whole groups inside [rowStart, rowStart + rows) in one
 * call, a group the range only partly covers computed whole into a scratch of four and copied, so
 * every row has the bits of the full product.
 */
function matvecRows4(backend: Backend, out: Float32Array, oOff: number, w: GgmlWeights, x: Float32Array, xOff: number, rowStart: number, rows: number): void {
  const k = rows4Kernels(backend, w, 'matvecWeights'), type = w.ggmlType | ROWS4_FLAG, end = rowStart + rows;
  for (let r = rowStart; r < end;) {
    const group = r & ~3;
    if (group === r && r + 4 <= end) {
      const whole = (end - r) & ~3;
      k.matvecGgml(type, out, oOff + r - rowStart, w.data, r * w.rowBytes, x, xOff, whole, w.cols);
      r += whole;
      continue;
    }
    let four = groupOutputs.get(backend);
    if (!four) { four = backend.alloc(4); groupOutputs.set(backend, four); }
    k.matvecGgml(type, four, 0, w.data, group * w.rowBytes, x, xOff, 4, w.cols);
    const stop = Math.min(group + 4, end);
    for (; r < stop; r++) out[oOff + r - rowStart] = four[r - group]!;
  }
}
