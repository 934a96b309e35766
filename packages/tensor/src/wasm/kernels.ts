// The SIMD128 kernel module, written against the emitter. Every exported function takes byte
// addresses into the one imported memory plus element counts; the JS side (./backend.ts) checks
// ownership and bounds before calling. Layout conventions match ../backend.ts.
import { ModuleBuilder } from './emitter.js';
import { emitAdd, emitCopy, emitRmsnorm, emitSwiglu } from './kernels/elementwise.js';
import { emitMatmulT, emitMatvec } from './kernels/dot.js';
import { emitMatvecQ8 } from './kernels/q8.js';
import { ENTRY_FORMATS, emitAttendHead, emitAttendHeadKv } from './kernels/attention.js';
import { emitGgmlKernels } from './kernels/ggml.js';
import { emitDequantizers } from './kernels/dequantize.js';
import { emitNonFiniteScans } from './kernels/finite.js';
import { emitRoundActivations, emitSplitActivations } from './kernels/split.js';
import { emitRows4Kernels } from './kernels/rows4.js';
import { emitMatmulQ8_0, emitQuantizeRowsQ8_0, emitWidenQ4_0, emitWidenQ8_0 } from './kernels/q8-activations.js';
import { emitAttendGroupKernels } from './kernels/attention-group.js';
import { emitScoresCausal, emitSoftmaxCausal, emitWeightedCausal } from './kernels/causal.js';

export interface KernelMemory { initialPages: number; maximumPages?: number; shared: boolean }

/** Names and signatures of the exported kernels (all pointers are byte addresses). */
export interface CoreKernelExports {
  add(out: number, a: number, b: number, n: number): void;
  /** out[0 .. n) = src[0 .. n), f32, not overlapping. */
  copyF32(out: number, src: number, n: number): void;
  swiglu(out: number, gate: number, up: number, n: number): void;
  rmsnorm(out: number, x: number, w: number, n: number, eps: number): void;
  matvec(out: number, w: number, x: number, rows: number, cols: number): void;
  /** out[i*ldo + j] = A_i · B_j (ldo lets a thread write a column block of a wider out). */
  matmulT(out: number, a: number, b: number, m: number, n: number, k: number, ldo: number): void;
  attendHead(out: number, q: number, keys: number, values: number, count: number, headDim: number, scale: number, att: number): void;
  /** w: rows×cols IEEE half floats (u16). */
  matvecF16(out: number, w: number, x: number, rows: number, cols: number): void;
  /**
   * q: rows×cols int8; scales: rows×ceil(cols/32) f32, one per block of 32 along each row;
   * x16: x rounded to int16 per block (see quant/weights.ts quantizeActivations16), xs its block scales.
   */
  matvecQ8(out: number, q: number, scales: number, x16: number, xs: number, rows: number, cols: number): void;
  /** w: rows×cols bfloat16 (u16, the top half of an f32). */
  matvecBF16(out: number, w: number, x: number, rows: number, cols: number): void;
  /** x: blocks×32 f32 → out: 64 int16 per block (h then l terms), xs / xsum: one f32 per block (kernels/split.ts). */
  splitActivations(x: number, out: number, xs: number, xsum: number, blocks: number): void;
  /** x: blocks×32 f32 → x16: 32 int16 per block, xs: one f32 scale per block, as matvecQ8 reads them (kernels/split.ts). */
  roundActivations(x: number, x16: number, xs: number, blocks: number): void;
  /** The split activations' pairs, each in all four lanes, for the four-rows kernels (kernels/rows4.ts). */
  widenActivations(split: number, wide: number, blocks: number): void;
  /** x: rows×cols f32 → q: int8 values as int16 in groups of 4 rows, d: f32 scale of block b of row i at d[b·mPad + i] (kernels/q8-activations.ts). */
  quantizeRowsQ8_0(x: number, q: number, d: number, rows: number, cols: number, mPad: number): void;
  /** Q8_0 blocks at src → 32 int16 each at dst and their scales as f32 (kernels/q8-activations.ts). */
  widenQ8_0(dst: number, scales: number, src: number, blocks: number): void;
  /** Q4_0 blocks at src → 32 int16 (nibble − 8) each at dst and their scales as f32. */
  widenQ4_0(dst: number, scales: number, src: number, blocks: number): void;
  /** out[i·ldo + j] = widened Q8_0 row j (w, ws) · activation row i (quantizeRowsQ8_0's q, d for mPad rows), i < m, j < n. */
  matmulQ8_0(out: number, w: number, ws: number, xq: number, xd: number, m: number, mPad: number, n: number, cols: number, ldo: number): void;
  /** Causal attention of a chunk's queries, row i seeing min(n, base + i) entries (kernels/causal.ts; strides in floats). */
  scoresCausal(att: number, attStride: number, q: number, qStride: number, keys: number, keyStride: number, rows: number, n: number, base: number, headDim: number, scale: number): void;
  softmaxCausal(att: number, attStride: number, rows: number, n: number, base: number): void;
  weightedCausal(out: number, outStride: number, att: number, attStride: number, values: number, valueStride: number, rows: number, n: number, base: number, headDim: number, accumulate: number): void;
}

/**
 * ggml block kernels (kernels/ggml.ts GGML_WASM_KERNELS names them): w holds rows of whole blocks;
 * x16/xs as for matvecQ8; xsum: Σx per block of 32 (f32).
 */
export type GgmlKernel = (out: number, w: number, x16: number, xs: number, xsum: number, rows: number, cols: number) => void;
/** attendHeadKv_<keys>_<values> (kernels/attention.ts): kScales / vScales are q8's block scales (else unused). */
export type KvAttentionKernel = (out: number, q: number, keys: number, kScales: number, values: number, vScales: number,
  count: number, headDim: number, scale: number, att: number) => void;
/**
 * attendGroup_<keys>_<values> (kernels/attention-group.ts): `queries` query heads sharing these keys
 * and values (q and out: consecutive heads; att rows attStride floats apart), each bit-identical to
 * its own attendHead / attendHeadKv call.
 */
export type GroupAttentionKernel = (out: number, q: number, keys: number, kScales: number, values: number, vScales: number,
  count: number, headDim: number, scale: number, att: number, attStride: number, queries: number) => void;
/**
 * ggml rows to f32 (kernels/dequantize.ts GGML_WASM_DEQUANTIZERS names them): `count` blocks
 * (elements for F16/BF16) at src → f32 at dst, equal to quant/ggml-dequant.ts bit for bit.
 */
export type Dequantizer = (dst: number, src: number, count: number) => void;
/** The four-rows layout's matvec (kernels/rows4.ts ROWS4_MATVECS): rows, a multiple of 4, at w; x widened or split (ROWS4_READ_SPLIT). */
export type Rows4Matvec = (out: number, w: number, x: number, xs: number, rows: number, cols: number) => void;
/** The four-rows layout's conversion to f32 (kernels/rows4.ts ROWS4_DEQUANTIZERS): 4·groups rows of cols floats. */
export type Rows4Dequantizer = (dst: number, src: number, groups: number, cols: number) => void;
export type KernelExports = CoreKernelExports & Record<string, GgmlKernel>;

/** The complete kernel module's bytes, importing memory as env.memory with the given limits. */
export function buildKernelModule(memory: KernelMemory): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder({ module: 'env', name: 'memory', ...memory });
  emitAdd(m);
  emitSwiglu(m);
  emitRmsnorm(m);
  emitMatvec(m, 'matvec', 'f32');
  emitMatmulT(m);
  emitAttendHead(m);
  for (const k of ENTRY_FORMATS) for (const v of ENTRY_FORMATS) if (k !== 'f32' || v !== 'f32') emitAttendHeadKv(m, k, v);
  emitAttendGroupKernels(m);
  emitMatvec(m, 'matvecF16', 'f16');
  emitMatvecQ8(m);
  emitMatvec(m, 'matvecBF16', 'bf16');
  emitGgmlKernels(m);
  emitRows4Kernels(m);
  emitDequantizers(m);
  emitSplitActivations(m);
  emitRoundActivations(m);
  emitQuantizeRowsQ8_0(m);
  emitWidenQ8_0(m);
  emitWidenQ4_0(m);
  emitMatmulQ8_0(m);
  emitScoresCausal(m);
  emitSoftmaxCausal(m);
  emitWeightedCausal(m);
  emitCopy(m);
  emitNonFiniteScans(m);
  return m.encode();
}
