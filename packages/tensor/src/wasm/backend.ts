// The WebAssembly SIMD128 backend: same Backend contract as jsBackend, kernels emitted at run
// time by ./kernels.ts, all arrays in one WebAssembly.Memory (./heap.ts). Optional worker
// threads split large matvecs/matmuls over the same (shared) memory (../threads/pool.ts).
import type { Backend } from '../backend.js';
import { buildKernelModule, type KernelExports, type KvAttentionKernel } from './kernels.js';
import { attendHeadKvName, ENTRY_FORMATS } from './kernels/attention.js';
import type { KvRows } from '../kv/rows.js';
import { WasmHeap, type WasmHeapOptions } from './heap.js';
import { wasmSimdUnavailableReason } from './support.js';
import { GGML, ggmlRowBytes, ggmlTypeInfo, supportedGgmlType } from '../quant/ggml-types.js';
import { matvecGgmlJs } from '../quant/ggml-matvec-js.js';
import { GGML_WASM_KERNELS } from './kernels/ggml.js';
import { ROWS4_FLAG, ROWS4_TYPES } from '../quant/rows4.js';
import { NON_FINITE_SCANS, nonFiniteGroupBytes } from './kernels/finite.js';
import { findNonFiniteGgml, type NonFiniteGgml } from '../quant/ggml-finite.js';
import { makeAttendCausal } from './causal-attention.js';
import type { CausalAttentionKernel } from '../kv/causal.js';
import { JobRunner, type PartKindId } from './jobs.js';
import type { WeightMatrix } from '../quant/weights.js';
import { JobOp, MATMUL_Q8_ARGS, MatmulArg, MatmulQ8Arg, PartKind, chunkRowsFor, convertRows, headKernel, runMatmulQ8Rows } from '../threads/protocol.js';
// Type only: the pool is imported on demand, so single-threaded use never loads a worker host.
import type { JobTime, ThreadPool } from '../threads/pool.js';
import type { SpawnOptions } from '../threads/host.js';
import type { PoolOptions } from '../threads/pool.js';

export interface WasmBackendOptions extends WasmHeapOptions, SpawnOptions, PoolOptions {
  /**
   * Worker threads in total including the calling thread (1 = no workers). Needs shared memory;
   * in a browser the caller must itself be a Web Worker (it waits with Atomics.wait). Default 1.
   */
  threads?: number;
}

export interface WasmBackend extends Backend, CausalAttentionKernel {
  readonly name: 'wasm';
  readonly heap: WasmHeap;
  readonly threads: number;
  /**
   * With workers: how many jobs the caller shared with them and the time it spent in those (running
   * its own chunks and waiting for theirs), the worker chunks it took over, the jobs that had to wake
   * a worker, all cumulative (threads/pool.ts JobTime); null on one thread. A decode step's time
   * outside shared jobs is the serial work that caps what threads can give (bench/serial-work.bench.ts).
   */
  readonly jobTime: Readonly<JobTime> | null;
  /**
   * Why the workers stopped sharing jobs for good, if they did (a worker threw, exited or stalled:
   * threads/lanes.ts); every job since runs on the calling thread. null while they share (or on one thread).
   */
  readonly threadFailure: Error | null;
  /** out[oOff+r] = Σ_c half(w[wOff + r*cols + c]) · x[xOff+c]: w holds IEEE fp16 bits. */
  matvecF16(out: Float32Array, oOff: number, w: Uint16Array, wOff: number, x: Float32Array, xOff: number, rows: number, cols: number): void;
  /**
   * Q8 rows (see ../quant/weights.ts): q holds rows×cols int8 from element qOff (row-major), scales
   * one f32 per block of 32 along each row (ceil(cols/32) per row) from sOff. x is rounded to int16
   * per block first (quantizeActivations16), so the block dot products run in integers.
   */
  matvecQ8(out: Float32Array, oOff: number, q: Int8Array, qOff: number, scales: Float32Array, sOff: number,
    x: Float32Array, xOff: number, rows: number, cols: number): void;
  /**
   * out[oOff + r] = W[r] · x[xOff ..] for rows of ggml type `type` (quant/ggml-types.ts) at
   * data[dataOff + r·rowBytes ..]; data must be in this backend's memory (allocU8). SIMD kernels
   * for every supported type; activations rounded to int16 per 32 values (as matvecQ8). A type
   * with ROWS4_FLAG: whole groups (rows a multiple of 4) of the four-rows layout (quant/rows4.ts).
   */
  matvecGgml(type: number, out: Float32Array, oOff: number, data: Uint8Array, dataOff: number, x: Float32Array, xOff: number, rows: number, cols: number): void;
  /** out[oOff + i·rows + r] = W[r] · x[xOff + i·cols ..], i < m (weights taken in cache-sized panels, each for every row of x). */
  matmulGgml(type: number, out: Float32Array, oOff: number, data: Uint8Array, dataOff: number, x: Float32Array, xOff: number, m: number, rows: number, cols: number): void;
  /**
   * matmulGgml for Q8_0 or Q4_0 weights with the activations quantized to Q8_0 too, as ggml's CPU
   * backend does (kernels/q8-activations.ts): each row of x in blocks of 32, d = max|x|/127, rounded to
   * int8 (nearest, ties to even), then integer block dot products. Not float accuracy: each
   * activation moves by up to d/2. The opt-in `q8_0` prompt activations (quant/weights.ts
   * matmulWeights); cols must be a multiple of 32 (a Q8_0 or Q4_0 row's are).
   */
  matmulGgmlActivationsQ8_0(type: number, out: Float32Array, oOff: number, data: Uint8Array, dataOff: number, x: Float32Array, xOff: number, m: number, rows: number, cols: number): void;
  /** findNonFiniteGgml (../quant/ggml-finite.ts), scanning in SIMD when `bytes` lie in this backend's memory (a loader's check as it reads each tensor). */
  findNonFiniteGgml(type: number, bytes: Uint8Array): NonFiniteGgml | null;
  /** The ggml types whose rows a loader repacks for this backend (quant/rows4.ts). */
  readonly rows4Types: readonly number[];
  /**
   * out_i[0 .. w_i.rows) = W_i · x[xOff ..] for up to three matrices that read the same x (q/k/v,
   * gate/up), as one job: the activations are rounded once for the quantized kernels and, with
   * threads, the workers are called once instead of per matrix. Returns false (computing nothing)
   * for a weight type it has no kernel for; matvecWeightsShared then falls back to one call each.
   */
  matvecsShared(x: Float32Array, xOff: number, out0: Float32Array, w0: WeightMatrix, out1: Float32Array, w1: WeightMatrix,
    out2: Float32Array | null, w2: WeightMatrix | null): boolean;
  /**
   * attendHeadKv's contract (false: nothing done, the same shapes it refuses), but the head may run
   * later: at the next runDeferredHeads, which runs all deferred heads at once (split over the
   * threads). Inputs and outputs must stay untouched until then.
   */
  deferAttendHeadKv(out: Float32Array, oOff: number, q: Float32Array, qOff: number, keys: KvRows, values: KvRows,
    count: number, headDim: number, scale: number, att: Float32Array, aOff: number): boolean;
  runDeferredHeads(): void;
  /**
   * attendHead over keys/values stored as f16 or q8 (../kv/rows.ts), decoded in SIMD registers.
   * false (nothing done) for a head dimension that is not a multiple of 8 or no entries: the
   * caller (../kv/attention.ts attendHeadKv) then runs the pure-TS kernel.
   */
  attendHeadKv(out: Float32Array, oOff: number, q: Float32Array, qOff: number, keys: KvRows, values: KvRows,
    count: number, headDim: number, scale: number, att: Float32Array, aOff: number): boolean;
  /** Storage for fp16 bits / int8 quants in this backend's memory. */
  allocU16(n: number): Uint16Array;
  allocI8(n: number): Int8Array;
  /** Storage for ggml blocks (quant/weights.ts ggmlWeights copies a matrix's bytes here). */
  allocU8(n: number): Uint8Array;
  /** Gives an array from alloc/allocU16/allocI8/allocU8 back to the heap's free list. */
  free(view: ArrayBufferView): void;
  /** Stops the worker threads (if any). The backend must not be used afterwards. Idempotent. */
  dispose(): Promise<void>;
}

/** Weight bytes per panel of a batched block product: well inside a core's L2 cache. */
const PANEL_BYTES = 192 << 10;
/**
 * From this many rows of x on, a block product converts the weights to f32 (in SIMD, inside the
 * matmul job) and runs the f32 matmul, whose 4×2 tiles need fewer instructions per multiply-add
 * than the blocks' two-term integer dot products. SmolLM2-135M shape, 96-token prompt, 1 thread,
 * by CPU time, chunks of 4 / 8 / 12 rows: Q4_0 1.19× / 1.52× / 1.68× and Q4_K_M mix 1.47× / 1.96× /
 * 2.20× faster than the block kernels (which the other types used below 16 rows while their
 * conversion ran in JS).
 */
const VIA_F32_MIN_ROWS = 4;

function notOwned(kernel: string, arg: string): Error {
  return new Error(`wasm backend ${kernel}: ${arg} is not in this backend's WebAssembly memory — allocate it with this backend's alloc()`);
}

function outOfRange(kernel: string, arg: string, off: number, n: number, length: number): RangeError {
  return new RangeError(`wasm backend ${kernel}: ${arg}[${off} .. ${off + n}) is outside its length ${length}`);
}

/**
 * Creates the backend: checks SIMD support (throws with the reason if missing), emits and
 * compiles the kernel module, and starts `threads - 1` workers when asked.
 */
/** Most worker threads a backend runs. */
export const MAX_THREADS = 64;

/** Validates a thread count (an integer from 1 to MAX_THREADS); `what` names it in the error. */
export function checkThreads(value: unknown, what = 'threads'): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_THREADS) return value;
  throw new RangeError(`${what} must be an integer from 1 to ${MAX_THREADS}, got ${describeValue(value)}`);
}

/** A value as an error shows it: strings quoted (so "3" from an unparsed flag does not look valid). */
export function describeValue(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

export async function createWasmBackend(opts: WasmBackendOptions = {}): Promise<WasmBackend> {
  const why = wasmSimdUnavailableReason();
  if (why) throw new Error(`wasm backend unavailable: ${why}`);
  const threads = checkThreads(opts.threads ?? 1);
  if (threads > 1 && opts.shared === false) throw new Error('wasm backend: threads > 1 needs shared memory (shared: false was given)');
  const heap = new WasmHeap(threads > 1 ? { ...opts, shared: true } : opts);
  const bytes = buildKernelModule({ initialPages: 1, shared: heap.shared, ...(heap.shared ? { maximumPages: heap.maximumPages } : {}) });
  const module = await WebAssembly.compile(bytes);
  const instance = await WebAssembly.instantiate(module, { env: { memory: heap.memory } });
  const k = instance.exports as unknown as KernelExports;
  const pool = threads > 1 ? await (await import('../threads/pool.js')).ThreadPool.start(module, heap, threads - 1, { ...(opts.createWorker ? { createWorker: opts.createWorker } : {}), ...(opts.workerEntry ? { workerEntry: opts.workerEntry } : {}), alwaysShare: opts.alwaysShare === true }) : null;
  return makeBackend(heap, k, pool, threads);
}

function makeBackend(heap: WasmHeap, k: KernelExports, pool: ThreadPool | null, threads: number): WasmBackend {
  /** Byte address of v[off] after checking v lives in this heap and v[off .. off+n) is in range. */
  const addr = (kernel: string, arg: string, v: Float32Array | Uint16Array | Int8Array | Uint8Array, off: number, n: number): number => {
    if (!heap.owns(v)) throw notOwned(kernel, arg);
    if (!(off >= 0 && off + n <= v.length)) throw outOfRange(kernel, arg, off, n, v.length);
    return v.byteOffset + off * v.BYTES_PER_ELEMENT;
  };
  const jobs = new JobRunner(heap, k, pool);
  /** One matvec as a one-part job (rounding x first where the kernel needs it). */
  const single = (kind: PartKindId, o: number, wp: number, aux: number, x: Float32Array, xOff: number, xp: number, rows: number, cols: number): void => {
    jobs.beginMatvecs(x, xOff, xp, cols);
    jobs.addPart(kind, o, wp, aux, rows);
    jobs.runMatvecs();
  };
  /**
   * out (rows ldo floats apart) = a (m×kDim) · bᵀ (n×kDim rows), split over b's rows when the pool
   * takes it; b's rows converted first from `from` rows at src (rowBytes each) unless F32.
   */
  const matmulTJob = (o: number, ap: number, bp: number, m: number, n: number, kDim: number, ldo: number, from: number = GGML.F32, src = 0, rowBytes = 0): void => {
    if (pool && pool.takesRows(n, m * kDim)) {
      const a = pool.args;
      a[MatmulArg.OUT] = o; a[MatmulArg.A] = ap; a[MatmulArg.B] = bp; a[MatmulArg.M] = m; a[MatmulArg.N] = n; a[MatmulArg.K] = kDim;
      a[MatmulArg.LDO] = ldo; a[MatmulArg.FROM] = from; a[MatmulArg.SRC] = src; a[MatmulArg.ROW_BYTES] = rowBytes;
      const per = chunkRowsFor(n, pool.size);
      pool.run(JobOp.MatmulT, Math.ceil(n / per), per);
    } else {
      convertRows(k, from, bp, src, n, kDim);
      k.matmulT(o, ap, bp, m, n, kDim, ldo);
    }
  };
  /** Whether ggml type t has a wasm kernel: F32/F16/BF16 rows on the plain ones, block types on their block kernel. */
  const ggmlHasKernel = (t: number): boolean => t === GGML.F32 || t === GGML.F16 || t === GGML.BF16 || GGML_WASM_KERNELS[t] !== undefined;
  /** The job part for ggml type t's rows at byte address wp (one with a kernel); the plain kernels need them aligned. */
  const ggmlPart = (kn: string, what: string, t: number, wp: number): PartKindId => {
    if (t !== GGML.F32 && t !== GGML.F16 && t !== GGML.BF16) return PartKind.Ggml;
    if (wp % (t === GGML.F32 ? 4 : 2) !== 0) throw new RangeError(`wasm backend ${kn}: ${what} rows at byte address ${wp} are misaligned`);
    return t === GGML.F32 ? PartKind.F32 : t === GGML.F16 ? PartKind.F16 : PartKind.BF16;
  };
  /** The layout's type of a ROWS4_FLAG type id, checked: rows must be whole groups. */
  const rows4Base = (kn: string, type: number, rows: number): number => {
    const base = type & ~ROWS4_FLAG;
    if (!ROWS4_TYPES.includes(base)) throw new RangeError(`wasm backend ${kn}: type ${base} has no four-rows layout`);
    if (rows % 4 !== 0) throw new RangeError(`wasm backend ${kn}: four-rows layout needs whole groups, got ${rows} rows`);
    return base;
  };
  const matvecGgml = (type: number, out: Float32Array, oOff: number, data: Uint8Array, dataOff: number, x: Float32Array, xOff: number, rows: number, cols: number): void => {
    const kn = 'matvecGgml';
    checkDim(kn, 'rows', rows);
    if (type & ROWS4_FLAG) {
      const base = rows4Base(kn, type, rows), rowBytes = ggmlRowBytes(base, cols);
      const o = addr(kn, 'out', out, oOff, rows), wp = addr(kn, 'data', data, dataOff, rows * rowBytes), xp = addr(kn, 'x', x, xOff, cols);
      single(PartKind.GgmlRows4, o, wp, base, x, xOff, xp, rows, cols);
      return;
    }
    const info = supportedGgmlType(type, 'wasm backend matvecGgml');
    const rowBytes = ggmlRowBytes(type, cols);
    const o = addr(kn, 'out', out, oOff, rows);
    const wp = addr(kn, 'data', data, dataOff, rows * rowBytes);
    const xp = addr(kn, 'x', x, xOff, cols);
    if (!ggmlHasKernel(type)) { matvecGgmlJs(type, out, oOff, data, dataOff, x, xOff, rows, cols); return; }
    const kind = ggmlPart(kn, info.name, type, wp);
    single(kind, o, wp, kind === PartKind.Ggml ? type : 0, x, xOff, xp, rows, cols);
  };
  // A prompt's product: the weights converted to f32 a panel at a time for the f32 matmul, which
  // writes the panel's columns of out in place (rows of out `rows` floats apart). The conversion
  // runs in SIMD inside the matmul job (kernels/dequantize.ts; each thread its own rows of the
  // panel), equal bit for bit to the exact JS dequantizer.
  let panelF32 = heap.f32(0);
  const matmulViaF32 = (type: number, out: Float32Array, oOff: number, wp: number, xp: number, m: number, rows: number, cols: number): void => {
    const fit = Math.max(4, Math.floor(PANEL_BYTES / (4 * cols))), rowBytes = ggmlRowBytes(type & ~ROWS4_FLAG, cols);
    const panel = type & ROWS4_FLAG ? fit & ~3 : fit; // whole groups for the four-rows layout (convertRows takes groups)
    if (panelF32.length < panel * cols) { heap.free(panelF32); panelF32 = heap.f32(panel * cols); }
    for (let r0 = 0; r0 < rows; r0 += panel) {
      const n = Math.min(panel, rows - r0);
      matmulTJob(out.byteOffset + 4 * (oOff + r0), xp, panelF32.byteOffset, m, n, cols, rows, type, wp + r0 * rowBytes, rowBytes);
    }
  };
  /**
   * m rows of x against the same weights: x is split once, then the rows are taken in panels of
   * about PANEL_BYTES of weights, each panel run for every row of x while it is in cache, so
   * the weights stream from memory once per call instead of once per row of x.
   */
  const matmulGgml = (type: number, out: Float32Array, oOff: number, data: Uint8Array, dataOff: number, x: Float32Array, xOff: number, m: number, rows: number, cols: number): void => {
    const kn = 'matmulGgml';
    checkDim(kn, 'm', m); checkDim(kn, 'rows', rows);
    const base = type & ROWS4_FLAG ? rows4Base(kn, type, rows) : type;
    supportedGgmlType(base, 'wasm backend matmulGgml');
    const rowBytes = ggmlRowBytes(base, cols);
    const o = addr(kn, 'out', out, oOff, m * rows);
    const wp = addr(kn, 'data', data, dataOff, rows * rowBytes);
    const xp = addr(kn, 'x', x, xOff, m * cols);
    if (type !== GGML.F32 && m >= VIA_F32_MIN_ROWS) { matmulViaF32(type, out, oOff, wp, xp, m, rows, cols); return; }
    const name = GGML_WASM_KERNELS[type];
    if (name === undefined) { // (also the four-rows layout: few rows of x, one matvec each)
      for (let i = 0; i < m; i++) matvecGgml(type, out, oOff + i * rows, data, dataOff, x, xOff + i * cols, rows, cols);
      return;
    }
    jobs.splitRows(xp, m * (cols >> 5));
    const panel = Math.max(8, Math.floor(PANEL_BYTES / rowBytes));
    for (let r0 = 0; r0 < rows; r0 += panel) {
      const n = Math.min(panel, rows - r0);
      for (let i = 0; i < m; i++) jobs.runSplitRows(type, o + 4 * (i * rows + r0), wp + r0 * rowBytes, i, n, cols);
    }
  };
  // The q8_0 prompt activations: x's rows quantized once per call into xq/xd (rows padded to a
  // whole group of 4 with zeros), then the weights a panel at a time (each chunk of the job widens
  // its rows of the panel first, like the f32 path's conversion).
  let xq = heap.i16(0), xd = heap.f32(0), panel16 = heap.i16(0), panelScales = heap.f32(0);
  const q8Job = new Int32Array(MATMUL_Q8_ARGS);
  const matmulGgmlActivationsQ8_0 = (type: number, out: Float32Array, oOff: number, data: Uint8Array, dataOff: number, x: Float32Array, xOff: number, m: number, rows: number, cols: number): void => {
    const kn = 'matmulGgmlActivationsQ8_0';
    checkDim(kn, 'm', m); checkDim(kn, 'rows', rows);
    if (type !== GGML.Q8_0 && type !== GGML.Q4_0) throw new RangeError(`wasm backend ${kn}: weights must be Q8_0 or Q4_0 (ggml types ${GGML.Q8_0}, ${GGML.Q4_0}), got ggml type ${describeValue(type)}`);
    const rowBytes = ggmlRowBytes(type, cols);
    const o = addr(kn, 'out', out, oOff, m * rows);
    const wp = addr(kn, 'data', data, dataOff, rows * rowBytes);
    const xp = addr(kn, 'x', x, xOff, m * cols);
    if (m === 0 || rows === 0) return;
    const mPad = (m + 3) & ~3, blocks = cols >> 5;
    if (xq.length < mPad * cols) { heap.free(xq); xq = heap.i16(mPad * cols); }
    if (xd.length < mPad * blocks) { heap.free(xd); xd = heap.f32(mPad * blocks); }
    if (mPad > m) { xq.fill(0, (mPad - 4) * cols, mPad * cols); for (let b = 0; b < blocks; b++) xd.fill(0, b * mPad + m, (b + 1) * mPad); }
    k.quantizeRowsQ8_0(xp, xq.byteOffset, xd.byteOffset, m, cols, mPad);
    const panel = Math.max(8, Math.floor(PANEL_BYTES / (2 * cols)) & ~1);
    if (panel16.length < panel * cols) { heap.free(panel16); heap.free(panelScales); panel16 = heap.i16(panel * cols); panelScales = heap.f32(panel * blocks); }
    for (let r0 = 0; r0 < rows; r0 += panel) {
      const n = Math.min(panel, rows - r0);
      const a = pool && pool.takesRows(n, m * cols) ? pool.args : q8Job;
      a[MatmulQ8Arg.OUT] = o + 4 * r0; a[MatmulQ8Arg.W] = panel16.byteOffset; a[MatmulQ8Arg.WS] = panelScales.byteOffset; a[MatmulQ8Arg.SRC] = wp + r0 * rowBytes;
      a[MatmulQ8Arg.XQ] = xq.byteOffset; a[MatmulQ8Arg.XD] = xd.byteOffset; a[MatmulQ8Arg.M] = m; a[MatmulQ8Arg.M_PAD] = mPad;
      a[MatmulQ8Arg.N] = n; a[MatmulQ8Arg.K] = cols; a[MatmulQ8Arg.LDO] = rows; a[MatmulQ8Arg.FROM] = type;
      if (a === q8Job) runMatmulQ8Rows(k, a, 0, 0, n);
      else { const per = chunkRowsFor(n, pool!.size); pool!.run(JobOp.MatmulQ8_0, Math.ceil(n / per), per); }
    }
  };
  // Called per kernel call, so it takes the sizes as arguments (no per-call object to allocate).
  const checkDim = (kernel: string, name: string, v: number): void => {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`wasm backend ${kernel}: ${name} must be a non-negative integer, got ${v}`);
  };
  /** The f32 and fp16 matvecs differ only in the weights' element type (addr scales by it). */
  const denseMatvec = (kernel: 'matvec' | 'matvecF16', out: Float32Array, oOff: number, w: Float32Array | Uint16Array, wOff: number,
    x: Float32Array, xOff: number, rows: number, cols: number): void => {
    checkDim(kernel, 'rows', rows); checkDim(kernel, 'cols', cols);
    const o = addr(kernel, 'out', out, oOff, rows);
    const wp = addr(kernel, 'w', w, wOff, rows * cols);
    const xp = addr(kernel, 'x', x, xOff, cols);
    single(kernel === 'matvec' ? PartKind.F32 : PartKind.F16, o, wp, 0, x, xOff, xp, rows, cols);
  };

  /** attendHead's checks, then the head runs now or is deferred to runDeferredHeads. */
  const head = (kn: string, out: Float32Array, oOff: number, q: Float32Array, qOff: number, keys: Float32Array, values: Float32Array,
    count: number, headDim: number, scale: number, att: Float32Array, aOff: number, defer: boolean): void => {
    checkDim(kn, 'count', count); checkDim(kn, 'headDim', headDim);
    if (count === 0) throw new RangeError(`wasm backend ${kn}: count must be >= 1 (softmax over no entries)`);
    const o = addr(kn, 'out', out, oOff, headDim), qp = addr(kn, 'q', q, qOff, headDim);
    const kp = addr(kn, 'keys', keys, 0, count * headDim), vp = addr(kn, 'values', values, 0, count * headDim);
    const ap = addr(kn, 'att', att, aOff, count);
    if (defer) jobs.deferHead(o, qp, kp, 0, vp, 0, count, headDim, scale, ap, 0);
    else k.attendHead(o, qp, kp, vp, count, headDim, scale, ap);
  };
  /** Whether matvecsShared runs this matrix with a SIMD kernel of its own. */
  const hasKernel = (w: WeightMatrix): boolean => w.type !== 'ggml' || (w.layout === 'rows4' ? w.rows % 4 === 0 : ggmlHasKernel(w.ggmlType));
  /** Adds matrix w (all its rows, into out[0 ..]) to the Matvecs job being described. */
  const addWeights = (out: Float32Array, w: WeightMatrix, outName: string, wName: string): void => {
    const kn = 'matvecsShared', rows = w.rows, n = rows * w.cols;
    const o = addr(kn, outName, out, 0, rows);
    switch (w.type) {
      case 'f32': jobs.addPart(PartKind.F32, o, addr(kn, wName, w.data, w.offset, n), 0, rows); return;
      case 'f16': jobs.addPart(PartKind.F16, o, addr(kn, wName, w.bits, 0, n), 0, rows); return;
      case 'q8': jobs.addPart(PartKind.Q8, o, addr(kn, wName, w.q, 0, n), addr(kn, `${wName} scales`, w.scales, 0, rows * Math.ceil(w.cols / 32)), rows); return;
      case 'ggml': {
        const wp = addr(kn, wName, w.data, 0, rows * w.rowBytes), t = w.ggmlType;
        if (w.layout === 'rows4') { jobs.addPart(PartKind.GgmlRows4, o, wp, t, rows); return; }
        const kind = ggmlPart(kn, `${wName}'s`, t, wp);
        jobs.addPart(kind, o, wp, kind === PartKind.Ggml ? t : 0, rows);
      }
    }
  };

  // The reduced-precision attention kernels by key type, then value type (no string building per call).
  const kvKernels = Object.fromEntries(ENTRY_FORMATS.map((kt) => [kt, Object.fromEntries(ENTRY_FORMATS.map((vt) => [vt, (k as unknown as Record<string, KvAttentionKernel>)[attendHeadKvName(kt, vt)]!]))]));
  /** Byte address of rows [0, count) of a KvRows (its stored array) and of its q8 scales (0 when it has none). */
  const rowsAddr = (arg: string, rows: KvRows, count: number): number => {
    const n = count * rows.width;
    return rows.type === 'f32' ? addr('attendHeadKv', arg, rows.f32, 0, n) : rows.type === 'f16' ? addr('attendHeadKv', arg, rows.bits, 0, n) : addr('attendHeadKv', arg, rows.q, 0, n);
  };
  const scalesAddr = (arg: string, rows: KvRows, count: number): number => (rows.type === 'q8' ? addr('attendHeadKv', arg, rows.scales, 0, count * rows.blocks) : 0);

  /** attendHeadKv's checks, then the head runs now or is deferred; false for a shape the kernels do not take. */
  const headKv = (out: Float32Array, oOff: number, q: Float32Array, qOff: number, keys: KvRows, values: KvRows,
    count: number, headDim: number, scale: number, att: Float32Array, aOff: number, defer: boolean): boolean => {
    checkDim('attendHeadKv', 'count', count); checkDim('attendHeadKv', 'headDim', headDim);
    if (count === 0 || headDim % 8 !== 0) return false;
    const o = addr('attendHeadKv', 'out', out, oOff, headDim), qp = addr('attendHeadKv', 'q', q, qOff, headDim);
    const kp = rowsAddr('keys', keys, count), ks = scalesAddr('key scales', keys, count);
    const vp = rowsAddr('values', values, count), vs = scalesAddr('value scales', values, count), ap = addr('attendHeadKv', 'att', att, aOff, count);
    if (defer) jobs.deferHead(o, qp, kp, ks, vp, vs, count, headDim, scale, ap, headKernel(keys.type, values.type));
    else kvKernels[keys.type]![values.type]!(o, qp, kp, ks, vp, vs, count, headDim, scale, ap);
    return true;
  };

  const backend: WasmBackend = {
    name: 'wasm',
    heap,
    threads,
    jobTime: pool ? pool.jobTime : null,
    get threadFailure() { return pool ? pool.failure : null; },
    alloc: (n) => heap.f32(n),
    allocU16: (n) => heap.u16(n),
    allocI8: (n) => heap.i8(n),
    allocU8: (n) => heap.u8(n),
    free: (view) => heap.free(view),

    matvec(out, oOff, w, wOff, x, xOff, rows, cols) { denseMatvec('matvec', out, oOff, w, wOff, x, xOff, rows, cols); },
    matmulT(out, a, b, bOff, m, n, kDim) {
      checkDim('matmulT', 'm', m); checkDim('matmulT', 'n', n); checkDim('matmulT', 'k', kDim);
      const o = addr('matmulT', 'out', out, 0, m * n);
      const ap = addr('matmulT', 'a', a, 0, m * kDim);
      const bp = addr('matmulT', 'b', b, bOff, n * kDim);
      matmulTJob(o, ap, bp, m, n, kDim, n);
    },
    rmsnorm(out, oOff, x, xOff, w, n, eps) {
      checkDim('rmsnorm', 'n', n);
      k.rmsnorm(addr('rmsnorm', 'out', out, oOff, n), addr('rmsnorm', 'x', x, xOff, n), addr('rmsnorm', 'w', w, 0, n), n, eps);
    },
    attendHead(out, oOff, q, qOff, keys, values, count, headDim, scale, att, aOff) {
      head('attendHead', out, oOff, q, qOff, keys, values, count, headDim, scale, att, aOff, false);
    },
    runDeferredHeads() { jobs.runDeferredHeads(); },
    matvecsShared(x, xOff, out0, w0, out1, w1, out2, w2) {
      const cols = w0.cols;
      if (w1.cols !== cols || (w2 !== null && w2.cols !== cols)) throw new RangeError(`wasm backend matvecsShared: the matrices have ${w0.cols}, ${w1.cols}${w2 ? `, ${w2.cols}` : ''} columns; they must read the same x`);
      if ((w2 === null) !== (out2 === null)) throw new RangeError('wasm backend matvecsShared: out2 and w2 go together');
      if (!hasKernel(w0) || !hasKernel(w1) || (w2 !== null && !hasKernel(w2))) return false;
      jobs.beginMatvecs(x, xOff, addr('matvecsShared', 'x', x, xOff, cols), cols);
      addWeights(out0, w0, 'out0', 'w0'); addWeights(out1, w1, 'out1', 'w1');
      if (w2 !== null) addWeights(out2!, w2, 'out2', 'w2');
      jobs.runMatvecs();
      return true;
    },
    attendHeadKv(out, oOff, q, qOff, keys, values, count, headDim, scale, att, aOff) {
      return headKv(out, oOff, q, qOff, keys, values, count, headDim, scale, att, aOff, false);
    },
    deferAttendHeadKv(out, oOff, q, qOff, keys, values, count, headDim, scale, att, aOff) {
      if (keys.type === 'f32' && values.type === 'f32') {
        head('deferAttendHeadKv', out, oOff, q, qOff, keys.f32, values.f32, count, headDim, scale, att, aOff, true);
        return true;
      }
      return headKv(out, oOff, q, qOff, keys, values, count, headDim, scale, att, aOff, true);
    },
    swiglu(out, gate, up, n) {
      checkDim('swiglu', 'n', n);
      k.swiglu(addr('swiglu', 'out', out, 0, n), addr('swiglu', 'gate', gate, 0, n), addr('swiglu', 'up', up, 0, n), n);
    },
    add(out, a, b, n) {
      checkDim('add', 'n', n);
      k.add(addr('add', 'out', out, 0, n), addr('add', 'a', a, 0, n), addr('add', 'b', b, 0, n), n);
    },

    matvecF16(out, oOff, w, wOff, x, xOff, rows, cols) { denseMatvec('matvecF16', out, oOff, w, wOff, x, xOff, rows, cols); },
    matvecQ8(out, oOff, q, qOff, scales, sOff, x, xOff, rows, cols) {
      checkDim('matvecQ8', 'rows', rows); checkDim('matvecQ8', 'cols', cols);
      const qp = addr('matvecQ8', 'q', q, qOff, rows * cols);
      const blocks = Math.ceil(cols / 32);
      const sp = addr('matvecQ8', 'scales', scales, sOff, rows * blocks);
      const o = addr('matvecQ8', 'out', out, oOff, rows);
      single(PartKind.Q8, o, qp, sp, x, xOff, addr('matvecQ8', 'x', x, xOff, cols), rows, cols);
    },
    matvecGgml,
    matmulGgml,
    rows4Types: ROWS4_TYPES,
    matmulGgmlActivationsQ8_0,
    findNonFiniteGgml(type, bytes) {
      const scan = (k as unknown as Record<string, (p: number, groups: number) => number>)[NON_FINITE_SCANS[type] ?? ''];
      if (!scan || !heap.owns(bytes)) return findNonFiniteGgml(type, bytes);
      const group = nonFiniteGroupBytes(type), groups = Math.floor(bytes.length / group);
      // Found in the groups: locate the first in JS (a corrupt file, once). Else only the tail is left.
      if (scan(bytes.byteOffset, groups) !== 0) return findNonFiniteGgml(type, bytes);
      const tail = findNonFiniteGgml(type, bytes.subarray(groups * group));
      return tail && { ...tail, block: tail.block + (groups * group) / ggmlTypeInfo(type).blockBytes };
    },
    ...makeAttendCausal(addr, k, jobs),
    async dispose() { if (pool) await pool.stop(); },
  };
  return backend;
}
