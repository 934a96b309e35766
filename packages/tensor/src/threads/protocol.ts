// The job protocol between the calling thread and its workers: a small Int32Array control
// block in the shared wasm memory. A job's rows are cut into chunks that every thread (caller
// included) claims one at a time with compare-and-swap, so a worker that the OS has descheduled
// (a loaded machine) delays a job by at most the chunk it holds, never by its whole share.
import type { Dequantizer, GroupAttentionKernel, KernelExports, KvAttentionKernel, Rows4Dequantizer, Rows4Matvec } from '../wasm/kernels.js';
import { ROWS4_DEQUANTIZERS, ROWS4_MATVECS, ROWS4_READ_SPLIT } from '../wasm/kernels/rows4.js';
import { ROWS4_FLAG } from '../quant/rows4.js';
import { attendHeadKvName, ENTRY_FORMATS, type EntryFormat } from '../wasm/kernels/attention.js';
import { attendGroupName } from '../wasm/kernels/attention-group.js';
import { GGML_WASM_KERNELS } from '../wasm/kernels/ggml.js';
import { GGML, ggmlRowBytes, ggmlTypeInfo } from '../quant/ggml-types.js';
import { GGML_WASM_DEQUANTIZERS } from '../wasm/kernels/dequantize.js';

/**
 * Control block slots. CLAIM = (job tag << CHUNK_BITS) | next chunk; the tag stops a late worker
 * claiming from a newer job. LOST counts workers that stopped for good (./lanes.ts). Five 64-byte
 * cache lines: the job description (two lines, written
 * once per job, then only read), CLAIM, COMPLETED/FAILED/SLEEPERS/LOST — so the claims and completions
 * that bounce between cores do not also evict the description every thread reads — and the
 * workers' scratch (rescue.ts: byte address of worker 1's, floats per worker; rarely written).
 */
export enum Ctrl { SEQ = 0, OP = 1, STOP = 2, CHUNKS = 3, CHUNK_ROWS = 4, ARG0 = 5, CLAIM = 32, COMPLETED = 48, FAILED = 49, SLEEPERS = 50, LOST = 51, SCRATCH = 64, SCRATCH_FLOATS = 65 }
export const CTRL_INTS = 80;
/** Argument slots of a job: ARG0 .. CLAIM-1. */
export const JOB_ARGS = Ctrl.CLAIM - Ctrl.ARG0;
export const CHUNK_BITS = 12;
export const MAX_CHUNKS = (1 << CHUNK_BITS) - 1;
export const TAG_MASK = (1 << (31 - CHUNK_BITS)) - 1;

export enum JobOp { Matvecs = 1, MatmulT = 2, AttendHeads = 3, AttendCausal = 4, MatmulQ8_0 = 5 }

/**
 * A Matvecs job: up to MAX_PARTS matvecs that read the same input x (q/k/v, or gate/up), each
 * part its own weights and output, chunked as one list of rows. Arguments (at ARG0): 0 parts,
 * 1 cols, 2 x (f32), 3 x16 and 4 xs (x rounded for Q8 parts), 5 x16, 6 xs and 7 xsum (x split for
 * ggml parts), 8 the split widened (four-rows parts), then per part p at 9 + 6p: kind, out, w, aux
 * (Q8: scales; ggml: type), rows, first chunk.
 */
export const MAX_PARTS = 3;
export const PART_ARGS = 6;
export enum MatvecArg { PARTS = 0, COLS = 1, X = 2, Q8_X16 = 3, Q8_XS = 4, GGML_X16 = 5, GGML_XS = 6, GGML_XSUM = 7, GGML_WIDE = 8, PART0 = 9 }
export enum PartArg { KIND = 0, OUT = 1, W = 2, AUX = 3, ROWS = 4, FIRST_CHUNK = 5 }
/** What a part's weights are: which kernel runs it and which activations it reads (GgmlRows4: quant/rows4.ts, rows a multiple of 4). */
export enum PartKind { F32 = 1, F16 = 2, BF16 = 3, Q8 = 4, Ggml = 5, GgmlRows4 = 6 }

/**
 * An AttendHeads job: one run of query heads per chunk. Arguments: 0 chunks, 1 headDim, 2 scale
 * (f32 bits); the byte addresses are rows of the head table (a second shared Int32Array beside
 * the control block), HEAD_ARGS ints a row (HeadArg). A row is QUERIES consecutive query heads
 * (out and q headDim floats apart, att rows ATT_STRIDE floats apart) over the same keys and values:
 * grouped-query attention's heads that share a KV head, attended in one pass over its entries
 * (kernels/attention-group.ts); a row of one runs the per-head kernel. Scales are 0 unless the
 * entries are q8; kernel indexes HEAD_KERNELS (and GROUP_KERNELS).
 */
export const HEAD_ARGS = 11;
export enum HeadArg { OUT = 0, Q = 1, KEYS = 2, KEY_SCALES = 3, VALUES = 4, VALUE_SCALES = 5, COUNT = 6, ATT = 7, KERNEL = 8, QUERIES = 9, ATT_STRIDE = 10 }
export const MAX_HEADS = 256;
export const HEAD_TABLE_INTS = MAX_HEADS * HEAD_ARGS;
export enum AttendArg { HEAD_DIM = 0, SCALE = 1 }
/** The head kernels by (key type, value type) index kt·3 + vt over ENTRY_FORMATS: 0 (f32, f32) is attendHead. */
export const HEAD_KERNELS: readonly string[] = ENTRY_FORMATS.flatMap((kt) => ENTRY_FORMATS.map((vt) => (kt === 'f32' && vt === 'f32' ? 'attendHead' : attendHeadKvName(kt, vt))));
/** The grouped kernels, indexed as HEAD_KERNELS. */
export const GROUP_KERNELS: readonly string[] = ENTRY_FORMATS.flatMap((kt) => ENTRY_FORMATS.map((vt) => attendGroupName(kt, vt)));
/** The HEAD_KERNELS index of keys stored as `kt` and values as `vt`. */
export function headKernel(kt: EntryFormat, vt: EntryFormat): number {
  return ENTRY_FORMATS.indexOf(kt) * ENTRY_FORMATS.length + ENTRY_FORMATS.indexOf(vt);
}

/**
 * An AttendCausal job: a prompt chunk's queries attending causally (../kv/causal.ts), one block of
 * consecutive query rows of one head per chunk. The blocks are rows of the head table, CAUSAL_ARGS
 * ints each (one 64-byte line), self-contained: byte addresses of the head's row 0 (out, q, att),
 * strides in floats, the head's cached entries (keys, values, prior of them) and the chunk's own
 * (chunk keys/values, their stride), head size, scale (f32 bits) and the block's rows [first, end).
 * The job has no arguments of its own.
 */
export enum CausalArg {
  OUT = 0, O_STRIDE = 1, Q = 2, Q_STRIDE = 3, KEYS = 4, VALUES = 5, PRIOR = 6, CHUNK_KEYS = 7, CHUNK_VALUES = 8,
  C_STRIDE = 9, ATT = 10, A_STRIDE = 11, HEAD_DIM = 12, SCALE = 13, FIRST_ROW = 14, END_ROW = 15,
}
export const CAUSAL_ARGS = 16;
export const MAX_CAUSAL_BLOCKS = Math.floor(HEAD_TABLE_INTS / CAUSAL_ARGS);

/**
 * A MatmulT job: out (rows LDO floats apart) = A (M×K) · Bᵀ (N×K rows), split over the rows of B.
 * B's rows may come as ggml rows (FROM: their ggml type, at SRC, ROW_BYTES each) that each chunk
 * converts into its rows of B first, so a prompt's weight conversion is split over the threads
 * too; FROM = GGML.F32: B is already there.
 */
export enum MatmulArg { OUT = 0, A = 1, B = 2, M = 3, N = 4, K = 5, LDO = 6, FROM = 7, SRC = 8, ROW_BYTES = 9 }

/**
 * A MatmulQ8_0 job (the `q8_0` prompt activations, kernels/q8-activations.ts): out (rows LDO
 * floats apart) = the activations quantized to Q8_0 (XQ, XD for M_PAD rows) · N weight rows
 * of ggml type FROM (Q8_0 or Q4_0) at SRC, M rows stored, split over the weight rows; each chunk first widens its rows into the
 * panel (W: int16 rows, WS: their f32 block scales).
 */
export enum MatmulQ8Arg { OUT = 0, W = 1, WS = 2, SRC = 3, XQ = 4, XD = 5, M = 6, M_PAD = 7, N = 8, K = 9, LDO = 10, FROM = 11 }
export const MATMUL_Q8_ARGS = 12;

/** Weight rows [s, e) of the MatmulQ8_0 job described at c[a ..]: widened into the panel, then multiplied. */
export function runMatmulQ8Rows(k: KernelExports, c: Int32Array, a: number, s: number, e: number): void {
  const kd = c[a + MatmulQ8Arg.K]!, blocks = kd >> 5;
  const w = c[a + MatmulQ8Arg.W]! + 2 * s * kd, ws = c[a + MatmulQ8Arg.WS]! + 4 * s * blocks;
  const from = c[a + MatmulQ8Arg.FROM]!, src = c[a + MatmulQ8Arg.SRC]! + s * ggmlRowBytes(from, kd);
  if (from === GGML.Q4_0) k.widenQ4_0(w, ws, src, (e - s) * blocks);
  else k.widenQ8_0(w, ws, src, (e - s) * blocks);
  k.matmulQ8_0(c[a + MatmulQ8Arg.OUT]! + 4 * s, w, ws, c[a + MatmulQ8Arg.XQ]!, c[a + MatmulQ8Arg.XD]!,
    c[a + MatmulQ8Arg.M]!, c[a + MatmulQ8Arg.M_PAD]!, e - s, kd, c[a + MatmulQ8Arg.LDO]!);
}

/**
 * rows×cols floats at byte address dst ← rows of ggml type `from` at src (nothing for GGML.F32);
 * `from` with ROWS4_FLAG: whole groups of the four-rows layout (rows a multiple of 4).
 */
export function convertRows(k: KernelExports, from: number, dst: number, src: number, rows: number, cols: number): void {
  if (from === GGML.F32) return;
  if (from & ROWS4_FLAG) { (k[ROWS4_DEQUANTIZERS[from & ~ROWS4_FLAG]!] as unknown as Rows4Dequantizer)(dst, src, rows >> 2, cols); return; }
  (k[GGML_WASM_DEQUANTIZERS[from]!] as unknown as Dequantizer)(dst, src, (rows * cols) / ggmlTypeInfo(from).blockSize);
}

/** Rows per chunk for `rows` rows over `threads` threads: about 4 chunks per thread, whole 4-row tiles. */
export function chunkRowsFor(rows: number, threads: number): number {
  const per = Math.max(Math.ceil(rows / (threads * 4)), Math.ceil(rows / MAX_CHUNKS), 8);
  return Math.ceil(per / 4) * 4;
}

const f32Bits = new Float32Array(1), i32Bits = new Int32Array(f32Bits.buffer);
/** An f32 carried in an int slot. */
export function floatToSlot(v: number): number { f32Bits[0] = v; return i32Bits[0]!; }
export function slotToFloat(v: number): number { i32Bits[0] = v; return f32Bits[0]!; }

/** Rows [s, e) of matvec part `p` of the job described at args[base ..]. */
export function runMatvecRows(k: KernelExports, c: Int32Array, base: number, p: number, s: number, e: number): void {
  const at = base + MatvecArg.PART0 + p * PART_ARGS, cols = c[base + MatvecArg.COLS]!;
  const out = c[at + PartArg.OUT]! + 4 * s, w = c[at + PartArg.W]!, x = c[base + MatvecArg.X]!;
  switch (c[at + PartArg.KIND]) {
    case PartKind.F32: k.matvec(out, w + 4 * s * cols, x, e - s, cols); return;
    case PartKind.F16: k.matvecF16(out, w + 2 * s * cols, x, e - s, cols); return;
    case PartKind.BF16: k.matvecBF16(out, w + 2 * s * cols, x, e - s, cols); return;
    case PartKind.Q8:
      k.matvecQ8(out, w + s * cols, c[at + PartArg.AUX]! + 4 * s * Math.ceil(cols / 32), c[base + MatvecArg.Q8_X16]!, c[base + MatvecArg.Q8_XS]!, e - s, cols);
      return;
    case PartKind.Ggml: {
      const type = c[at + PartArg.AUX]!;
      k[GGML_WASM_KERNELS[type]!]!(out, w + s * ggmlRowBytes(type, cols), c[base + MatvecArg.GGML_X16]!, c[base + MatvecArg.GGML_XS]!, c[base + MatvecArg.GGML_XSUM]!, e - s, cols);
      return;
    }
    case PartKind.GgmlRows4: {
      const type = c[at + PartArg.AUX]!; // chunks start at multiples of 4 rows (chunkRowsFor)
      const x = c[base + (ROWS4_READ_SPLIT.includes(type) ? MatvecArg.GGML_X16 : MatvecArg.GGML_WIDE)]!;
      (k[ROWS4_MATVECS[type]!] as unknown as Rows4Matvec)(out, w + s * ggmlRowBytes(type, cols), x, c[base + MatvecArg.GGML_XS]!, e - s, cols, c[base + MatvecArg.GGML_XSUM]!);
      return;
    }
    default:
      throw new Error(`wasm thread pool: unknown matvec part kind ${c[at + PartArg.KIND]}`);
  }
}

/**
 * Row h of the AttendHeads job described at args[base ..], its addresses in row h of `table` (the
 * shared table, or JobRunner's own rows, which hold addresses of 2 GiB and above as they are: the
 * kernels' i32 parameters wrap them the same way).
 */
export function runHead(k: KernelExports, c: Int32Array, base: number, table: Int32Array | Float64Array, h: number): void {
  const t = h * HEAD_ARGS, kernel = table[t + HeadArg.KERNEL]!, hd = c[base + AttendArg.HEAD_DIM]!, scale = slotToFloat(c[base + AttendArg.SCALE]!);
  const queries = table[t + HeadArg.QUERIES]!;
  if (queries > 1) {
    (k[GROUP_KERNELS[kernel]!] as unknown as GroupAttentionKernel)(table[t]!, table[t + 1]!, table[t + 2]!, table[t + 3]!, table[t + 4]!, table[t + 5]!, table[t + 6]!, hd, scale,
      table[t + HeadArg.ATT]!, table[t + HeadArg.ATT_STRIDE]!, queries);
    return;
  }
  if (kernel === 0) { k.attendHead(table[t]!, table[t + 1]!, table[t + 2]!, table[t + 4]!, table[t + 6]!, hd, scale, table[t + 7]!); return; }
  (k[HEAD_KERNELS[kernel]!] as unknown as KvAttentionKernel)(table[t]!, table[t + 1]!, table[t + 2]!, table[t + 3]!, table[t + 4]!, table[t + 5]!, table[t + 6]!, hd, scale, table[t + 7]!);
}

/**
 * Query rows [FIRST_ROW, END_ROW) of the causal head described at t[at ..] (CausalArg): scores
 * against the cached entries (every row sees all `prior`), then against the chunk's own (row i sees
 * 0..i), each row's softmax, the weighted values. Each row is computed the same way whatever block
 * it is in (kernels/causal.ts), so cutting a head into blocks never changes a bit.
 */
export function runCausalBlock(k: KernelExports, t: Int32Array, at: number): void {
  const r0 = t[at + CausalArg.FIRST_ROW]!, r1 = t[at + CausalArg.END_ROW]!, rows = r1 - r0;
  const hd = t[at + CausalArg.HEAD_DIM]!, scale = slotToFloat(t[at + CausalArg.SCALE]!), prior = t[at + CausalArg.PRIOR]!;
  const oStride = t[at + CausalArg.O_STRIDE]!, qStride = t[at + CausalArg.Q_STRIDE]!, cStride = t[at + CausalArg.C_STRIDE]!, aStride = t[at + CausalArg.A_STRIDE]!;
  const o = t[at + CausalArg.OUT]! + 4 * r0 * oStride, q = t[at + CausalArg.Q]! + 4 * r0 * qStride, a = t[at + CausalArg.ATT]! + 4 * r0 * aStride;
  if (prior > 0) k.scoresCausal(a, aStride, q, qStride, t[at + CausalArg.KEYS]!, hd, rows, prior, prior, hd, scale);
  k.scoresCausal(a + 4 * prior, aStride, q, qStride, t[at + CausalArg.CHUNK_KEYS]!, cStride, rows, r1, r0 + 1, hd, scale);
  k.softmaxCausal(a, aStride, rows, prior + r1, prior + r0 + 1);
  k.weightedCausal(o, oStride, a, aStride, t[at + CausalArg.VALUES]!, hd, rows, prior, prior, hd, 0);
  k.weightedCausal(o, oStride, a + 4 * prior, aStride, t[at + CausalArg.CHUNK_VALUES]!, cStride, rows, r1, r0 + 1, hd, 1);
}

/**
 * Cuts a causal head's `rows` query rows (after `prior` cached entries) into at most `parts` blocks
 * of about equal work (row i's costs prior + i + 1 entries), at multiples of 4 rows (the kernels'
 * row blocks): writes the bounds 0 = bounds[0] < … < bounds[count] = rows and returns count.
 */
export function causalRowBounds(rows: number, prior: number, parts: number, bounds: Int32Array): number {
  // Work of rows [0, r): r·(prior + ½) + r²/2; the bound for a share w solves that for r.
  const p = prior + 0.5, total = rows * p + (rows * rows) / 2;
  let count = 0;
  bounds[0] = 0;
  for (let b = 1; b < parts; b++) {
    const r = 4 * Math.round((Math.sqrt(p * p + (2 * total * b) / parts) - p) / 4);
    if (r > bounds[count]! && r < rows) bounds[++count] = r;
  }
  bounds[++count] = rows;
  return count;
}

/** The part of the Matvecs job described at args[base ..] that chunk `i` belongs to. */
export function matvecChunkPart(args: Int32Array, base: number, i: number): number {
  let p = args[base + MatvecArg.PARTS]! - 1;
  while (p > 0 && args[base + MatvecArg.PART0 + p * PART_ARGS + PartArg.FIRST_CHUNK]! > i) p--;
  return p;
}

/** runChunk, with a trap recorded in FAILED (chunk + 1) instead of thrown: the job still completes and its caller reports it. */
export function runChunkRecordingTrap(k: KernelExports, ctrl: Int32Array, table: Int32Array, i: number): void {
  try { runChunk(k, ctrl, table, i); } catch { Atomics.store(ctrl, Ctrl.FAILED, i + 1); }
}

/** Runs chunk `i` of the job described in `ctrl` (and `table`). Arguments are byte addresses and counts. */
export function runChunk(k: KernelExports, ctrl: Int32Array, table: Int32Array, i: number): void {
  const a = Ctrl.ARG0, per = ctrl[Ctrl.CHUNK_ROWS]!;
  switch (ctrl[Ctrl.OP]) {
    case JobOp.Matvecs: {
      const p = matvecChunkPart(ctrl, a, i);
      const at = a + MatvecArg.PART0 + p * PART_ARGS;
      const s = (i - ctrl[at + PartArg.FIRST_CHUNK]!) * per;
      runMatvecRows(k, ctrl, a, p, s, Math.min(ctrl[at + PartArg.ROWS]!, s + per));
      return;
    }
    case JobOp.MatmulT: {
      // Split over the rows of B (columns of out) so each thread streams its own part of the weights
      // (and converts it first, when they come as ggml rows).
      const s = i * per, n = ctrl[a + MatmulArg.N]!, kd = ctrl[a + MatmulArg.K]!, b = ctrl[a + MatmulArg.B]! + 4 * s * kd;
      const e = Math.min(n, s + per), rowBytes = ctrl[a + MatmulArg.ROW_BYTES]!;
      convertRows(k, ctrl[a + MatmulArg.FROM]!, b, ctrl[a + MatmulArg.SRC]! + s * rowBytes, e - s, kd);
      k.matmulT(ctrl[a + MatmulArg.OUT]! + 4 * s, ctrl[a + MatmulArg.A]!, b, ctrl[a + MatmulArg.M]!, e - s, kd, ctrl[a + MatmulArg.LDO]!);
      return;
    }
    case JobOp.MatmulQ8_0: {
      const s = i * per;
      runMatmulQ8Rows(k, ctrl, a, s, Math.min(ctrl[a + MatmulQ8Arg.N]!, s + per));
      return;
    }
    case JobOp.AttendHeads: runHead(k, ctrl, a, table, i); return;
    case JobOp.AttendCausal: runCausalBlock(k, table, i * CAUSAL_ARGS); return;
    default:
      throw new Error(`wasm thread pool: unknown job op ${ctrl[Ctrl.OP]}`);
  }
}

/**
 * Claims and runs chunks of the job tagged `tag` until none are left (or a newer job replaced it),
 * then adds how many it ran to COMPLETED in one go (one write to that shared line per thread and
 * job, not per chunk); the thread whose add completes the count wakes a sleeping caller. A chunk
 * that throws (a wasm trap) still counts, so nobody waits forever, and FAILED records 1 + its index
 * for the caller to report. Returns how many chunks this thread ran.
 */
export function claimChunks(k: KernelExports, ctrl: Int32Array, table: Int32Array, tag: number): number {
  let ran = 0, chunks = 0;
  for (;;) {
    const v = Atomics.load(ctrl, Ctrl.CLAIM);
    if (v >>> CHUNK_BITS !== tag) break;
    // Read after the claim word, never before: a late worker that read the count of the caller's
    // next job (written after it closed this one, see ThreadPool.run) then fails its claim below.
    const i = v & MAX_CHUNKS;
    chunks = Atomics.load(ctrl, Ctrl.CHUNKS);
    if (i >= chunks) break;
    if (Atomics.compareExchange(ctrl, Ctrl.CLAIM, v, v + 1) !== v) continue;
    runChunkRecordingTrap(k, ctrl, table, i);
    ran++;
  }
  // While this thread holds uncounted chunks the job cannot end, so `chunks` is still this job's.
  if (ran > 0 && Atomics.add(ctrl, Ctrl.COMPLETED, ran) + ran === chunks) Atomics.notify(ctrl, Ctrl.COMPLETED);
  return ran;
}
