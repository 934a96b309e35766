// The WebAssembly SIMD128 backend: same Backend contract as jsBackend, kernels emitted at run
// time by ./kernels.ts, all arrays in one WebAssembly.Memory (./heap.ts). Optional worker
// threads split large matvecs/matmuls over the same (shared) memory (../threads/pool.ts).
import type { Backend } from '../backend.js';
import { buildKernelModule, type KernelExports, type KvAttentionKernel } from './kernels.js';
import { attendHeadKvName, ENTRY_FORMATS } from './kernels/attention.js';
import type { KvRows } from '../kv/rows.js';
import { WasmHeap, type WasmHeapOptions } from './heap.js';
import { wasmSimdUnavailableReason } from './support.js';
import { quantizeActivations16, splitActivations16 } from '../quant/weights.js';
import { GGML, ggmlRowBytes, supportedGgmlType } from '../quant/ggml-types.js';
import { matvecGgmlJs } from '../quant/ggml-matvec-js.js';
import { GGML_NEEDS_XSUM, GGML_WASM_KERNELS } from './kernels/ggml.js';
// Type only: the pool is imported on demand, so single-threaded use never loads a worker host.
import type { ThreadPool } from '../threads/pool.js';
import type { SpawnOptions } from '../threads/host.js';

export interface WasmBackendOptions extends WasmHeapOptions, SpawnOptions {
  /**
   * Worker threads in total including the calling thread (1 = no workers). Needs shared memory;
   * in a browser the caller must itself be a Web Worker (it waits with Atomics.wait). Default 1.
   */
  threads?: number;
}

export interface WasmBackend extends Backend {
  readonly name: 'wasm';
  readonly heap: WasmHeap;
  readonly threads: number;
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
   * for every supported type; activations rounded to int16 per 32 values (as matvecQ8).
   */
  matvecGgml(type: number, out: Float32Array, oOff: number, data: Uint8Array, dataOff: number, x: Float32Array, xOff: number, rows: number, cols: number): void;
  /** out[oOff + i·rows + r] = W[r] · x[xOff + i·cols ..], i < m (one matvecGgml per row of x). */
  matmulGgml(type: number, out: Float32Array, oOff: number, data: Uint8Array, dataOff: number, x: Float32Array, xOff: number, m: number, rows: number, cols: number): void;
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
  const pool = threads > 1 ? await (await import('../threads/pool.js')).ThreadPool.start(module, heap, threads - 1, opts.createWorker ? { createWorker: opts.createWorker } : {}) : null;
  return makeBackend(heap, k, pool, threads);
}

function makeBackend(heap: WasmHeap, k: KernelExports, pool: ThreadPool | null, threads: number): WasmBackend {
  /** Byte address of v[off] after checking v lives in this heap and v[off .. off+n) is in range. */
  const addr = (kernel: string, arg: string, v: Float32Array | Uint16Array | Int8Array | Uint8Array, off: number, n: number): number => {
    if (!heap.owns(v)) throw notOwned(kernel, arg);
    if (!(off >= 0 && off + n <= v.length)) throw outOfRange(kernel, arg, off, n, v.length);
    return v.byteOffset + off * v.BYTES_PER_ELEMENT;
  };
  // Q8 matvecs round x to int16 per 32-block first (the integer dot products read these).
  let x16 = heap.i16(0), xScales = heap.f32(0);
  const activations16 = (x: Float32Array, xOff: number, cols: number): void => {
    if (x16.length < cols) {
      heap.free(x16); heap.free(xScales);
      x16 = heap.i16(Math.max(cols, 2 * x16.length)); xScales = heap.f32(Math.ceil(x16.length / 32));
    }
    quantizeActivations16(x, xOff, cols, x16, xScales);
  };
  // ggml kernels read x as two int16 terms per value (splitActivations16) and, for the offset
  // types, Σx per 32-block (float).
  let xSplit = heap.i16(0), xSplitScales = heap.f32(0), xSums = heap.f32(0);
  const split16 = (x: Float32Array, xOff: number, cols: number): void => {
    if (xSplit.length < 2 * cols) {
      heap.free(xSplit); heap.free(xSplitScales);
      xSplit = heap.i16(Math.max(2 * cols, 2 * xSplit.length)); xSplitScales = heap.f32(xSplit.length >> 6);
    }
    splitActivations16(x, xOff, cols, xSplit, xSplitScales);
  };
  const blockSums = (x: Float32Array, xOff: number, cols: number): void => {
    const blocks = cols >> 5;
    if (xSums.length < blocks) { heap.free(xSums); xSums = heap.f32(Math.max(blocks, 2 * xSums.length)); }
    for (let b = 0; b < blocks; b++) {
      let t = 0;
      for (let c = xOff + 32 * b, e = c + 32; c < e; c++) t += x[c]!;
      xSums[b] = t;
    }
  };
  const matvecGgml = (type: number, out: Float32Array, oOff: number, data: Uint8Array, dataOff: number, x: Float32Array, xOff: number, rows: number, cols: number): void => {
    const kn = 'matvecGgml';
    checkDim(kn, 'rows', rows);
    const info = supportedGgmlType(type, 'wasm backend matvecGgml');
    const rowBytes = ggmlRowBytes(type, cols);
    const o = addr(kn, 'out', out, oOff, rows);
    const wp = addr(kn, 'data', data, dataOff, rows * rowBytes);
    const xp = addr(kn, 'x', x, xOff, cols);
    if (type === GGML.F32 || type === GGML.F16 || type === GGML.BF16) {
      if (wp % (type === GGML.F32 ? 4 : 2) !== 0) throw new RangeError(`wasm backend matvecGgml: ${info.name} rows at byte address ${wp} are misaligned`);
      const name = type === GGML.F32 ? 'matvec' : type === GGML.F16 ? 'matvecF16' : 'matvecBF16';
      if (pool && pool.worthSplitting(rows, cols)) pool.matvec(name, o, wp, xp, rows, cols);
      else k[name](o, wp, xp, rows, cols);
      return;
    }
    const name = GGML_WASM_KERNELS[type];
    if (name === undefined) { matvecGgmlJs(type, out, oOff, data, dataOff, x, xOff, rows, cols); return; }
    split16(x, xOff, cols);
    if (GGML_NEEDS_XSUM.has(type)) blockSums(x, xOff, cols);
    if (pool && pool.worthSplitting(rows, cols)) pool.matvecGgml(type, rowBytes, o, wp, xSplit.byteOffset, xSplitScales.byteOffset, xSums.byteOffset, rows, cols);
    else k[name]!(o, wp, xSplit.byteOffset, xSplitScales.byteOffset, xSums.byteOffset, rows, cols);
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
    if (pool && pool.worthSplitting(rows, cols)) pool.matvec(kernel, o, wp, xp, rows, cols);
    else k[kernel](o, wp, xp, rows, cols);
  };

  // The reduced-precision attention kernels by key type, then value type (no string building per call).
  const kvKernels = Object.fromEntries(ENTRY_FORMATS.map((kt) => [kt, Object.fromEntries(ENTRY_FORMATS.map((vt) => [vt, (k as unknown as Record<string, KvAttentionKernel>)[attendHeadKvName(kt, vt)]!]))]));
  /** Byte address of rows [0, count) of a KvRows (its stored array) and of its q8 scales (0 when it has none). */
  const rowsAddr = (arg: string, rows: KvRows, count: number): number => {
    const n = count * rows.width;
    return rows.type === 'f32' ? addr('attendHeadKv', arg, rows.f32, 0, n) : rows.type === 'f16' ? addr('attendHeadKv', arg, rows.bits, 0, n) : addr('attendHeadKv', arg, rows.q, 0, n);
  };
  const scalesAddr = (arg: string, rows: KvRows, count: number): number => (rows.type === 'q8' ? addr('attendHeadKv', arg, rows.scales, 0, count * rows.blocks) : 0);

  const backend: WasmBackend = {
    name: 'wasm',
    heap,
    threads,
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
      if (pool && pool.worthSplitting(n, m * kDim)) pool.matmulT(o, ap, bp, m, n, kDim);
      else k.matmulT(o, ap, bp, m, n, kDim, n);
    },
    rmsnorm(out, oOff, x, xOff, w, n, eps) {
      checkDim('rmsnorm', 'n', n);
      k.rmsnorm(addr('rmsnorm', 'out', out, oOff, n), addr('rmsnorm', 'x', x, xOff, n), addr('rmsnorm', 'w', w, 0, n), n, eps);
    },
    attendHead(out, oOff, q, qOff, keys, values, count, headDim, scale, att, aOff) {
      checkDim('attendHead', 'count', count); checkDim('attendHead', 'headDim', headDim);
      if (count === 0) throw new RangeError('wasm backend attendHead: count must be >= 1 (softmax over no entries)');
      k.attendHead(
        addr('attendHead', 'out', out, oOff, headDim), addr('attendHead', 'q', q, qOff, headDim),
        addr('attendHead', 'keys', keys, 0, count * headDim), addr('attendHead', 'values', values, 0, count * headDim),
        count, headDim, scale, addr('attendHead', 'att', att, aOff, count));
    },
    attendHeadKv(out, oOff, q, qOff, keys, values, count, headDim, scale, att, aOff) {
      checkDim('attendHeadKv', 'count', count); checkDim('attendHeadKv', 'headDim', headDim);
      if (count === 0 || headDim % 8 !== 0) return false;
      kvKernels[keys.type]![values.type]!(
        addr('attendHeadKv', 'out', out, oOff, headDim), addr('attendHeadKv', 'q', q, qOff, headDim),
        rowsAddr('keys', keys, count), scalesAddr('key scales', keys, count), rowsAddr('values', values, count), scalesAddr('value scales', values, count),
        count, headDim, scale, addr('attendHeadKv', 'att', att, aOff, count));
      return true;
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
      addr('matvecQ8', 'x', x, xOff, cols);
      activations16(x, xOff, cols);
      if (pool && pool.worthSplitting(rows, cols)) pool.matvecQ8(o, qp, sp, x16.byteOffset, xScales.byteOffset, rows, cols);
      else k.matvecQ8(o, qp, sp, x16.byteOffset, xScales.byteOffset, rows, cols);
    },
    matvecGgml,
    matmulGgml(type, out, oOff, data, dataOff, x, xOff, m, rows, cols) {
      checkDim('matmulGgml', 'm', m);
      for (let i = 0; i < m; i++) matvecGgml(type, out, oOff + i * rows, data, dataOff, x, xOff + i * cols, rows, cols);
    },
    async dispose() { if (pool) await pool.stop(); },
  };
  return backend;
}
