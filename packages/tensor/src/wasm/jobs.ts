// Builds the backend's jobs (threads/protocol.ts) and runs them: on the thread pool when one is
// there and the job is big enough, else directly on this thread through the same per-part code,
// so 1, 2 or 3 threads compute every output row with the same kernel call on the same inputs
// (bit-identical results).
//  - Matvecs: up to three matvecs over the same input (q/k/v, gate/up) as one job — one rounding
//    of the activations (in SIMD) for the quantized kernels and one round trip to the workers instead of
//    one per matrix.
//  - AttendHeads: the heads of a layer's attention, deferred by the caller and then run as one
//    job, so attention is split over the threads too. Consecutive query heads over the same keys
//    and values (grouped-query attention) are kept as one row and attended in one pass over them
//    (kernels/attention-group.ts), on one thread too.
//  - AttendCausal: a prompt chunk's causal attention (every head's queries at once), deferred the
//    same way and run as one job of head × query-row blocks.
import type { ThreadPool } from '../threads/pool.js';
import {
  AttendArg, CAUSAL_ARGS, CausalArg, HEAD_ARGS, HEAD_TABLE_INTS, HeadArg, JOB_ARGS, JobOp, MatvecArg, MAX_CAUSAL_BLOCKS, MAX_HEADS, MAX_PARTS, PART_ARGS, PartArg, PartKind,
  causalRowBounds, chunkRowsFor, floatToSlot, runCausalBlock, runHead, runMatvecRows,
} from '../threads/protocol.js';
import { quantizeActivationBlocks16 } from '../quant/weights.js';
import type { WasmHeap } from './heap.js';
import type { KernelExports } from './kernels.js';
import { ROWS4_READ_SPLIT, WIDE_BLOCK_BYTES } from './kernels/rows4.js';

export type PartKindId = PartKind;

/**
 * About this many blocks per thread in an AttendCausal job: a layer's heads (SmolLM2: 9) are too few
 * to share evenly between threads that claim one at a time, so each head's rows are cut into blocks.
 */
const CAUSAL_BLOCKS_PER_THREAD = 8;

export class JobRunner {
  /** The job's arguments: the pool's control block when there is one, else a local block. */
  readonly #args: Int32Array;
  readonly #table: Int32Array;
  // Activations for the quantized kernels (grown on demand; never shrunk).
  #x16: Int16Array;
  #xs: Float32Array;
  #split: Int16Array;
  #splitScales: Float32Array;
  #sums: Float32Array;
  #wide: Int16Array;
  // The Matvecs job being described.
  #parts = 0;
  #rows = 0;
  #x: Float32Array;
  #xOff = 0;
  #needQ8 = false;
  #needSplit = false;
  #needWide = false;
  // Deferred attention heads, a row per run of query heads sharing keys and values (HeadArg). Float64:
  // byte addresses of 2 GiB and above stay the positive numbers deferHead compares them with (an
  // Int32Array would store them negative and no head would ever join a row).
  readonly #groups = new Float64Array(HEAD_TABLE_INTS);
  #groupRows = 0;
  #heads = 0;
  #headMacs = 0;
  #headMaxCount = 0;
  #headDim = 0;
  #scale = 0;
  // Deferred causal heads, whole (CAUSAL_ARGS ints each), cut into blocks when they run.
  readonly #causal = new Int32Array(MAX_CAUSAL_BLOCKS * CAUSAL_ARGS);
  readonly #bounds = new Int32Array(MAX_CAUSAL_BLOCKS + 1);
  #causalHeads = 0;
  #causalMacs = 0;

  readonly #heap: WasmHeap;
  readonly #k: KernelExports;
  readonly #pool: ThreadPool | null;

  constructor(heap: WasmHeap, k: KernelExports, pool: ThreadPool | null) {
    this.#heap = heap; this.#k = k; this.#pool = pool;
    this.#args = pool ? pool.args : new Int32Array(JOB_ARGS);
    this.#table = pool ? pool.table : new Int32Array(0);
    this.#x16 = this.#split = this.#wide = new Int16Array(0);
    this.#xs = this.#splitScales = this.#sums = this.#x = new Float32Array(0);
  }

  /** Starts a Matvecs job over x[xOff .. xOff + cols) (x at byte address xAddr). */
  beginMatvecs(x: Float32Array, xOff: number, xAddr: number, cols: number): void {
    const a = this.#args;
    a[MatvecArg.COLS] = cols;
    a[MatvecArg.X] = xAddr;
    this.#x = x; this.#xOff = xOff;
    this.#parts = 0; this.#rows = 0;
    this.#needQ8 = false; this.#needSplit = false; this.#needWide = false;
  }

  /** Adds a part: `rows` rows of weights at byte address w (aux: Q8 scales address, or the ggml type). */
  addPart(kind: PartKindId, out: number, w: number, aux: number, rows: number): void {
    if (this.#parts === MAX_PARTS) throw new Error(`wasm backend: a matvec job has at most ${MAX_PARTS} parts`);
    const at = MatvecArg.PART0 + this.#parts * PART_ARGS, a = this.#args;
    a[at + PartArg.KIND] = kind; a[at + PartArg.OUT] = out; a[at + PartArg.W] = w; a[at + PartArg.AUX] = aux; a[at + PartArg.ROWS] = rows;
    this.#parts++;
    this.#rows += rows;
    if (kind === PartKind.Q8) this.#needQ8 = true;
    if (kind === PartKind.Ggml) this.#needSplit = true;
    if (kind === PartKind.GgmlRows4) { this.#needSplit = true; if (!ROWS4_READ_SPLIT.includes(aux)) this.#needWide = true; }
  }

  /** Gives a grown-out-of buffer back (the empty ones of the start were never allocated bytes). */
  #release(a: Int16Array | Float32Array): void { if (a.length > 0) this.#heap.free(a); }

  /** Rounds the activations the parts need (once for all parts), then runs the job. */
  runMatvecs(): void {
    const a = this.#args, cols = a[MatvecArg.COLS]!;
    a[MatvecArg.PARTS] = this.#parts;
    if (this.#needQ8) this.#roundQ8(cols);
    if (this.#needSplit) { this.splitRows(this.#args[MatvecArg.X]!, cols >> 5); this.#setSplit(0); }
    if (this.#needWide) this.#widen(cols >> 5);
    const pool = this.#pool;
    if (pool && pool.takesRows(this.#rows, cols)) {
      const per = chunkRowsFor(this.#rows, pool.size);
      pool.ensureScratch(per);
      let chunks = 0;
      for (let p = 0; p < this.#parts; p++) {
        const at = MatvecArg.PART0 + p * PART_ARGS;
        a[at + PartArg.FIRST_CHUNK] = chunks;
        chunks += Math.ceil(a[at + PartArg.ROWS]! / per);
      }
      pool.run(JobOp.Matvecs, chunks, per);
    } else {
      for (let p = 0; p < this.#parts; p++) runMatvecRows(this.#k, a, 0, p, 0, a[MatvecArg.PART0 + p * PART_ARGS + PartArg.ROWS]!);
    }
  }

  #roundQ8(cols: number): void {
    if (this.#x16.length < cols) {
      this.#release(this.#x16); this.#release(this.#xs);
      this.#x16 = this.#heap.i16(Math.max(cols, 2 * this.#x16.length)); this.#xs = this.#heap.f32(Math.ceil(this.#x16.length / 32));
    }
    // Whole blocks in SIMD; a last partial block (cols not a multiple of 32) in JS.
    const whole = cols >> 5;
    this.#k.roundActivations(this.#args[MatvecArg.X]!, this.#x16.byteOffset, this.#xs.byteOffset, whole);
    if (32 * whole < cols) quantizeActivationBlocks16(this.#x, this.#xOff, 32 * whole, cols, this.#x16, this.#xs);
    this.#args[MatvecArg.Q8_X16] = this.#x16.byteOffset;
    this.#args[MatvecArg.Q8_XS] = this.#xs.byteOffset;
  }

  /**
   * ggml kernels read x as two int16 terms per value and, for the offset types, Σx per 32-block,
   * 128 bytes + one scale + one sum per block (kernels/split.ts, in SIMD): `blocks` blocks from
   * byte address xp (several rows of x for a prompt).
   */
  splitRows(xp: number, blocks: number): void {
    if (this.#splitScales.length < blocks) {
      const n = Math.max(blocks, 2 * this.#splitScales.length);
      this.#release(this.#split); this.#release(this.#splitScales); this.#release(this.#sums);
      this.#split = this.#heap.i16(64 * n); this.#splitScales = this.#heap.f32(n); this.#sums = this.#heap.f32(n);
    }
    this.#k.splitActivations(xp, this.#split.byteOffset, this.#splitScales.byteOffset, this.#sums.byteOffset, blocks);
  }

  /** The four-rows kernels' activations (kernels/rows4.ts): the first `blocks` blocks of the last split, widened. */
  #widen(blocks: number): void {
    if (this.#wide.length < (WIDE_BLOCK_BYTES / 2) * blocks) {
      this.#release(this.#wide);
      this.#wide = this.#heap.i16((WIDE_BLOCK_BYTES / 2) * Math.max(blocks, this.#splitScales.length));
    }
    this.#k.widenActivations(this.#split.byteOffset, this.#wide.byteOffset, blocks);
    this.#args[MatvecArg.GGML_WIDE] = this.#wide.byteOffset;
  }

  /** `rows` rows of ggml type `type` from wp against row i of the x last split (splitRows), as a one-part job. */
  runSplitRows(type: number, out: number, wp: number, i: number, rows: number, cols: number): void {
    const b = i * (cols >> 5), a = this.#args;
    this.#parts = 0; this.#rows = 0; this.#needQ8 = false; this.#needSplit = false; this.#needWide = false;
    a[MatvecArg.COLS] = cols;
    this.addPart(PartKind.Ggml, out, wp, type, rows);
    this.#needSplit = false; // already split
    this.#setSplit(b);
    this.runMatvecs();
  }

  #setSplit(block: number): void {
    this.#args[MatvecArg.GGML_X16] = this.#split.byteOffset + 128 * block;
    this.#args[MatvecArg.GGML_XS] = this.#splitScales.byteOffset + 4 * block;
    this.#args[MatvecArg.GGML_XSUM] = this.#sums.byteOffset + 4 * block;
  }

  /**
   * One attention head, run at runDeferredHeads: kernel indexes HEAD_KERNELS (0: attendHead over f32
   * entries, whose scale addresses are unused). Addresses are byte addresses already checked by the
   * backend. A head that continues the last row's run (see #extendsLastRow) joins it.
   */
  deferHead(out: number, q: number, keys: number, keyScales: number, values: number, valueScales: number, count: number, headDim: number, scale: number, att: number, kernel: number): void {
    if (this.#heads > 0 && (headDim !== this.#headDim || scale !== this.#scale || this.#heads === MAX_HEADS)) this.runDeferredHeads();
    this.#heads++;
    this.#headMacs += 2 * count * headDim;
    this.#headMaxCount = Math.max(this.#headMaxCount, count);
    this.#headDim = headDim;
    this.#scale = scale;
    if (this.#extendsLastRow(out, q, keys, keyScales, values, valueScales, count, headDim, att, kernel)) return;
    const t = this.#groupRows * HEAD_ARGS, tb = this.#groups;
    tb[t] = out; tb[t + 1] = q; tb[t + 2] = keys; tb[t + 3] = keyScales; tb[t + 4] = values; tb[t + 5] = valueScales;
    tb[t + 6] = count; tb[t + 7] = att; tb[t + 8] = kernel; tb[t + HeadArg.QUERIES] = 1; tb[t + HeadArg.ATT_STRIDE] = 0;
    this.#groupRows++;
  }

  /**
   * Adds the head to the last row when it reads the same entries with the same kernel and is the
   * next head in memory: out and q headDim floats after the row's last, att one stride after (a
   * stride the second head sets, at least count floats). The row's q, out and att spans must not
   * overlap, so that attending them together reads and writes what one head after another would.
   */
  #extendsLastRow(out: number, q: number, keys: number, keyScales: number, values: number, valueScales: number, count: number, headDim: number, att: number, kernel: number): boolean {
    if (this.#groupRows === 0 || headDim % 8 !== 0) return false;
    const t = (this.#groupRows - 1) * HEAD_ARGS, tb = this.#groups;
    if (tb[t + 2] !== keys || tb[t + 3] !== keyScales || tb[t + 4] !== values || tb[t + 5] !== valueScales || tb[t + 6] !== count || tb[t + 8] !== kernel) return false;
    const n = tb[t + HeadArg.QUERIES]!, headBytes = 4 * headDim, out0 = tb[t]!, q0 = tb[t + 1]!, att0 = tb[t + 7]!;
    if (out !== out0 + n * headBytes || q !== q0 + n * headBytes) return false;
    const stride = n === 1 ? (att - att0) / 4 : tb[t + HeadArg.ATT_STRIDE]!;
    if (stride < count || att !== att0 + 4 * n * stride) return false;
    const span = (n + 1) * headBytes, attEnd = att0 + 4 * (n * stride + count);
    if (!apart(out0, out0 + span, q0, q0 + span) || !apart(out0, out0 + span, att0, attEnd) || !apart(q0, q0 + span, att0, attEnd)) return false;
    tb[t + HeadArg.QUERIES] = n + 1;
    tb[t + HeadArg.ATT_STRIDE] = stride;
    return true;
  }

  /** Runs the deferred heads (split over the threads where it pays), then the deferred causal heads. */
  runDeferredHeads(): void {
    this.#runHeads();
    this.#runCausal();
  }

  #runHeads(): void {
    const rows = this.#groupRows;
    if (rows === 0) return;
    const heads = this.#heads, macs = this.#headMacs, maxCount = this.#headMaxCount;
    this.#groupRows = 0; this.#heads = 0; this.#headMacs = 0; this.#headMaxCount = 0;
    const a = this.#args, tb = this.#groups;
    a[AttendArg.HEAD_DIM] = this.#headDim;
    a[AttendArg.SCALE] = floatToSlot(this.#scale);
    // A short context's heads cost less than a round trip: run them here.
    const pool = this.#pool;
    if (!pool || heads === 1 || !pool.takes(macs)) {
      for (let h = 0; h < rows; h++) runHead(this.#k, a, 0, tb, h);
      return;
    }
    const chunks = splitGroups(tb, rows, pool.size, this.#headDim, pool.table);
    pool.ensureScratch(maxRowQueries(tb, rows) * (this.#headDim + maxCount)); // a chunk's outputs, then its weights
    pool.run(JobOp.AttendHeads, chunks, 1);
  }

  /**
   * One causal head (a prompt chunk's queries, CAUSAL_ARGS ints at row[0 ..], FIRST_ROW 0 and
   * END_ROW its rows; addresses checked by the backend), run now (no pool) or at runDeferredHeads.
   */
  deferCausal(row: Int32Array): void {
    if (!this.#pool) { runCausalBlock(this.#k, row, 0); return; }
    // Full: run what is pending (runDeferredHeads runs the deferred heads too, before these: call order).
    if (this.#causalHeads === MAX_CAUSAL_BLOCKS) this.runDeferredHeads();
    this.#causal.set(row, this.#causalHeads * CAUSAL_ARGS);
    this.#causalHeads++;
    const rows = row[CausalArg.END_ROW]!, prior = row[CausalArg.PRIOR]!;
    this.#causalMacs += 2 * row[CausalArg.HEAD_DIM]! * (rows * prior + (rows * (rows + 1)) / 2);
  }

  /** The deferred causal heads as one job, each head cut into blocks of rows of about equal work. */
  #runCausal(): void {
    const n = this.#causalHeads, pool = this.#pool, q = this.#causal;
    if (n === 0) return;
    this.#causalHeads = 0;
    const macs = this.#causalMacs;
    this.#causalMacs = 0;
    if (!pool!.takes(macs)) { for (let h = 0; h < n; h++) runCausalBlock(this.#k, q, h * CAUSAL_ARGS); return; }
    const parts = Math.max(1, Math.min(Math.ceil((CAUSAL_BLOCKS_PER_THREAD * pool!.size) / n), Math.floor(MAX_CAUSAL_BLOCKS / n)));
    const tb = this.#table, bounds = this.#bounds;
    let blocks = 0;
    for (let h = 0; h < n; h++) {
      const src = h * CAUSAL_ARGS, count = causalRowBounds(q[src + CausalArg.END_ROW]!, q[src + CausalArg.PRIOR]!, parts, bounds);
      for (let b = 0; b < count; b++, blocks++) {
        const dst = blocks * CAUSAL_ARGS;
        for (let j = 0; j < CAUSAL_ARGS; j++) tb[dst + j] = q[src + j]!;
        tb[dst + CausalArg.FIRST_ROW] = bounds[b]!;
        tb[dst + CausalArg.END_ROW] = bounds[b + 1]!;
      }
    }
    pool!.run(JobOp.AttendCausal, blocks, 1);
  }
}

/**
 * Writes the AttendHeads job's chunks to `table` (Int32: addresses of 2 GiB and above wrap, as
 * the kernels' i32 parameters read them): each row of `groups` cut into p runs of about equal
 * queries (fewer where a row has fewer queries), p the count (≤ the most queries a row has) that
 * makes the largest thread's home (rescue.ts: the t-th of n equal runs of chunks) the fewest
 * queries, the smallest such p on a tie: a whole group reads its keys and values once. SmolLM2's 3
 * groups on 2 threads would leave one thread a group idle, so each is cut in 2 (runs of 2 and 1
 * queries: homes of 5 and 4); on 4 threads they stay whole (3 queries the most either way).
 * Returns the chunks.
 */
export function splitGroups(groups: Float64Array, rows: number, threads: number, headDim: number, table: Int32Array): number {
  const maxQueries = maxRowQueries(groups, rows);
  let parts = 1, best = Infinity;
  for (let p = 1; p <= maxQueries; p++) {
    const load = largestHome(groups, rows, threads, p);
    if (load < best) { best = load; parts = p; }
  }
  let chunks = 0;
  for (let r = 0; r < rows; r++) {
    const src = r * HEAD_ARGS, queries = groups[src + HeadArg.QUERIES]!, runs = Math.min(parts, queries), stride = groups[src + HeadArg.ATT_STRIDE]!;
    for (let p = 0, first = 0; p < runs; p++) {
      const n = runQueries(queries, runs, p), dst = chunks * HEAD_ARGS;
      for (let j = 0; j < HEAD_ARGS; j++) table[dst + j] = groups[src + j]!;
      table[dst + HeadArg.OUT] = groups[src + HeadArg.OUT]! + 4 * headDim * first;
      table[dst + HeadArg.Q] = groups[src + HeadArg.Q]! + 4 * headDim * first;
      table[dst + HeadArg.ATT] = groups[src + HeadArg.ATT]! + 4 * stride * first;
      table[dst + HeadArg.QUERIES] = n;
      first += n;
      chunks++;
    }
  }
  return chunks;
}

/** The most queries a row of `groups` holds (at least 1). */
function maxRowQueries(groups: Float64Array, rows: number): number {
  let most = 1;
  for (let r = 0; r < rows; r++) most = Math.max(most, groups[r * HEAD_ARGS + HeadArg.QUERIES]!);
  return most;
}

/** Whether the byte spans [a0, a1) and [b0, b1) do not overlap. */
function apart(a0: number, a1: number, b0: number, b1: number): boolean { return a1 <= b0 || b1 <= a0; }

/** Queries of run p when `queries` are cut into `runs` runs of about equal size (the first ones one more). */
function runQueries(queries: number, runs: number, p: number): number {
  return Math.floor(queries / runs) + (p < queries % runs ? 1 : 0);
}

/** The most queries a thread's home holds when each row is cut into min(p, its queries) runs. */
function largestHome(groups: Float64Array, rows: number, threads: number, p: number): number {
  let chunks = 0;
  for (let r = 0; r < rows; r++) chunks += Math.min(p, groups[r * HEAD_ARGS + HeadArg.QUERIES]!);
  let largest = 0, load = 0, t = 0, c = 0;
  for (let r = 0; r < rows; r++) {
    const queries = groups[r * HEAD_ARGS + HeadArg.QUERIES]!, runs = Math.min(p, queries);
    for (let i = 0; i < runs; i++, c++) {
      // Chunk c is in the home of the thread t with floor(t·chunks/threads) ≤ c < floor((t+1)·chunks/threads).
      while (c >= Math.floor(((t + 1) * chunks) / threads)) { largest = Math.max(largest, load); load = 0; t++; }
      load += runQueries(queries, runs, i);
    }
  }
  return Math.max(largest, load);
}
