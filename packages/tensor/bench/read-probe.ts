// A plain memory read in wasm SIMD over one shared buffer, on this thread alone or split with one
// worker: the bandwidth two threads can get at all, against which a decode's two-thread rate is
// judged (bandwidth.bench.ts; the transformer's two-threads.bench.ts prints it per round).
import { execFileSync } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ModuleBuilder, Op, Simd, ValType } from '../src/wasm/emitter.js';

/** Pieces the threads alternate on in the interleaved read. */
const PIECE = 64 << 10;

/** readSum(p, end): Σ of the f32 in [p, end) (64-byte steps, four accumulators): only reads. */
function readModule(pages: number): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder({ module: 'env', name: 'memory', initialPages: pages, maximumPages: pages, shared: true });
  const f = m.function('readSum', [ValType.i32, ValType.i32], [ValType.f32]);
  const p = f.params[0]!, end = f.params[1]!;
  const acc = [0, 1, 2, 3].map(() => f.local(ValType.v128));
  f.block(() => f.loop(() => {
    f.get(p).get(end).op(Op.i32_ge_u).brIf(1);
    for (const [k, a] of acc.entries()) f.get(a).get(p).simdMem(Simd.v128_load, 16 * k, 4).simd(Simd.f32x4_add).set(a);
    f.get(p).i32(64).op(Op.i32_add).set(p).br(0);
  }));
  f.get(acc[0]!).get(acc[1]!).simd(Simd.f32x4_add).get(acc[2]!).get(acc[3]!).simd(Simd.f32x4_add).simd(Simd.f32x4_add).simdLane(Simd.f32x4_extract_lane, 0);
  return m.encode();
}

const threadId = (): string => { try { return readlinkSync('/proc/thread-self').split('/').pop()!; } catch { return ''; } };

export class ReadProbe {
  /** Whether pin() works here (Linux, `taskset`, two CPUs, the right to set affinity). */
  readonly canPin: boolean;
  #job = 0;

  private constructor(readonly bytes: number, private readonly read: (p: number, end: number) => number, private readonly ctl: Int32Array,
    private readonly worker: Worker, private readonly tids: [string, string]) {
    this.canPin = tids[0] !== '' && tids[1] !== '' && cpus().length >= 2 && this.#taskset('0,1', '0,1');
  }

  /** A buffer of `bytes` (a multiple of 128), filled, and a worker that reads its share on request. */
  static async start(bytes: number): Promise<ReadProbe> {
    if (!(Number.isInteger(bytes) && bytes > 0 && bytes % 128 === 0 && bytes < 2 ** 32 - 65536)) throw new RangeError(`ReadProbe: ${bytes} bytes is not a positive multiple of 128 under 4 GiB`);
    const pages = Math.ceil(bytes / 65536) + 1;
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const module = new WebAssembly.Module(readModule(pages));
    const read = (new WebAssembly.Instance(module, { env: { memory } }).exports as { readSum: (p: number, end: number) => number }).readSum;
    new Float32Array(memory.buffer, 0, bytes / 4).fill(1e-3);
    const ctl = new Int32Array(new SharedArrayBuffer(64));
    // The worker waits on ctl[0] (a job number), reads [ctl[1], ctl[2]) contiguously (ctl[3] 0) or in
    // pieces ctl[3] apart, then sets ctl[4] to the job; a negative job ends it.
    const worker = new Worker(`
      const { workerData, parentPort } = require('node:worker_threads');
      const { memory, module, ctl } = workerData;
      const read = new WebAssembly.Instance(module, { env: { memory } }).exports.readSum;
      let tid = ''; try { tid = require('node:fs').readlinkSync('/proc/thread-self').split('/').pop(); } catch {}
      parentPort.postMessage(tid);
      for (let job = 0;;) {
        Atomics.wait(ctl, 0, job);
        job = Atomics.load(ctl, 0);
        if (job < 0) break;
        const lo = ctl[1], hi = ctl[2], stride = ctl[3];
        if (stride === 0) read(lo, hi); else for (let p = lo; p < hi; p += stride) read(p, Math.min(p + ${PIECE}, hi));
        Atomics.store(ctl, 4, job); Atomics.notify(ctl, 4);
      }`, { eval: true, workerData: { memory, module, ctl } });
    const workerTid = await new Promise<string>((done) => worker.once('message', done));
    return new ReadProbe(bytes, read, ctl, worker, [existsSync('/proc/thread-self') ? threadId() : '', workerTid]);
  }

  #taskset(callerCpus: string, workerCpus: string): boolean {
    try {
      execFileSync('taskset', ['-pc', callerCpus, this.tids[0]], { stdio: 'ignore' });
      execFileSync('taskset', ['-pc', workerCpus, this.tids[1]], { stdio: 'ignore' });
      return true;
    } catch { return false; }
  }

  /** Pins this thread to CPU 0 and the worker to CPU 1 (on) or lets both run anywhere (off); nothing where canPin is false. */
  pin(on: boolean): void { if (this.canPin) this.#taskset(on ? '0' : '0,1', on ? '1' : '0,1'); }

  /** GB/s of `passes` reads of the whole buffer: on this thread, or split with the worker (contiguous halves or alternate 64 KB pieces). */
  rate(threads: 1 | 2, passes: number, interleaved = false): number {
    const bytes = this.bytes, read = this.read, ctl = this.ctl;
    const t0 = performance.now();
    for (let pass = 0; pass < passes; pass++) {
      if (threads === 1) { read(0, bytes); continue; }
      const job = ++this.#job;
      if (interleaved) { ctl[1] = PIECE; ctl[2] = bytes; ctl[3] = 2 * PIECE; } else { ctl[1] = bytes / 2; ctl[2] = bytes; ctl[3] = 0; }
      Atomics.store(ctl, 0, job); Atomics.notify(ctl, 0);
      if (interleaved) for (let p = 0; p < bytes; p += 2 * PIECE) read(p, Math.min(p + PIECE, bytes)); else read(0, bytes / 2);
      while (Atomics.load(ctl, 4) !== job) Atomics.wait(ctl, 4, Atomics.load(ctl, 4), 100);
    }
    return (passes * bytes) / ((performance.now() - t0) / 1000) / 1e9;
  }

  async dispose(): Promise<void> {
    Atomics.store(this.ctl, 0, -1); Atomics.notify(this.ctl, 0);
    await this.worker.terminate();
  }
}
