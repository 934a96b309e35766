// A worker that dies, throws or freezes in the middle of a shared job never hangs the caller
// (src/threads/lanes.ts): the job ends with a clear error (a kernel that throws) or with one
// thread's bits (the caller finishes a lost worker's share), and every later job runs on the
// caller. The workers here run test/fixtures/faulty-kernel-worker.ts, whose kernel fails on purpose
// on its first call; each test must end in seconds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { KernelExports } from '../src/wasm/kernels.js';
import type { WasmHeap } from '../src/wasm/heap.js';
import { JobRunner } from '../src/wasm/jobs.js';
import type { ThreadPool } from '../src/threads/pool.js';
import { GGML } from '../src/quant/ggml-types.js';
import { JobOp, MatmulArg, PartKind, chunkRowsFor } from '../src/threads/protocol.js';
import { assertClose, randomArray, rng } from './helpers.js';
import { sharedKernelPool } from './fixtures/kernel-pool.js';

const rand = rng(0xdead);
const FAULTY = new URL('./fixtures/faulty-kernel-worker.ts', import.meta.url);
/** How long a test may take, well inside what a hang would take. */
const DEADLINE_MS = 8_000;

interface Rig { heap: WasmHeap; k: KernelExports; pool: ThreadPool; fill(n: number): Float32Array }

async function faultyPool(kernel: string, how: 'exit' | 'throw' | 'freeze'): Promise<Rig> {
  process.env.MSRNN_FAULT_KERNEL = kernel; process.env.MSRNN_FAULT_HOW = how; process.env.MSRNN_FAULT_AFTER = '1';
  const { heap, k, pool } = await sharedKernelPool(1, { workerEntry: FAULTY });
  pool.stallMs = 300;
  const fill = (n: number): Float32Array => { const a = heap.f32(n); a.set(randomArray(rand, n)); return a; };
  return { heap, k, pool, fill };
}

/** A prompt-sized out = A·Bᵀ shared as a MatmulT job, and its one-thread reference. */
function promptJob({ k, pool, fill, heap }: Rig): { run(): void; check(what: string): void } {
  const m = 16, n = 512, kd = 64, a = fill(m * kd), b = fill(n * kd), out = heap.f32(m * n), ref = heap.f32(m * n);
  k.matmulT(ref.byteOffset, a.byteOffset, b.byteOffset, m, n, kd, n);
  return {
    run() {
      out.fill(NaN);
      const g = pool.args;
      g[MatmulArg.OUT] = out.byteOffset; g[MatmulArg.A] = a.byteOffset; g[MatmulArg.B] = b.byteOffset; g[MatmulArg.M] = m; g[MatmulArg.N] = n;
      g[MatmulArg.K] = kd; g[MatmulArg.LDO] = n; g[MatmulArg.FROM] = GGML.F32; g[MatmulArg.SRC] = 0; g[MatmulArg.ROW_BYTES] = 0;
      const per = chunkRowsFor(n, pool.size);
      pool.run(JobOp.MatmulT, Math.ceil(n / per), per);
    },
    check(what) { assertClose(out, ref, what, 0, 0); },
  };
}

/** A decode-sized q/k/v-like Matvecs job (rescuable), and its one-thread reference. */
function decodeJob({ heap, k, pool, fill }: Rig): { run(): void; check(what: string): void } {
  const shared = new JobRunner(heap, k, pool), alone = new JobRunner(heap, k, null);
  const cols = 128, parts = [224, 96, 160].map((rows) => ({ rows, w: fill(rows * cols), out: heap.f32(rows), ref: heap.f32(rows) }));
  const x = fill(cols);
  const matvecs = (jobs: JobRunner, useRef: boolean): void => {
    jobs.beginMatvecs(x, 0, x.byteOffset, cols);
    for (const p of parts) jobs.addPart(PartKind.F32, (useRef ? p.ref : p.out).byteOffset, p.w.byteOffset, 0, p.rows);
    jobs.runMatvecs();
  };
  matvecs(alone, true);
  return {
    run() { for (const p of parts) p.out.fill(NaN); matvecs(shared, false); },
    check(what) { for (const [i, p] of parts.entries()) assertClose(p.out, p.ref, `${what}, part ${i}`, 0, 0); },
  };
}

/** Runs `job` until the pool has lost its worker (checking every result), then a few more times. */
async function untilLost(rig: Rig, job: { run(): void; check(what: string): void }): Promise<void> {
  const t0 = Date.now();
  let reps = 0;
  while (rig.pool.failure === null && Date.now() - t0 < DEADLINE_MS) {
    job.run(); job.check(`job ${reps++}`);
    await new Promise((done) => setTimeout(done, 1)); // lets the host's events in between jobs too
  }
  assert.ok(rig.pool.failure !== null, `the worker was never lost in ${reps} jobs`);
  for (let i = 0; i < 5; i++) { job.run(); job.check(`job ${reps++} after the loss`); }
  assert.ok(Date.now() - t0 < DEADLINE_MS, 'the jobs ended in seconds');
}

async function stopsInSeconds(pool: ThreadPool): Promise<void> {
  const t0 = Date.now();
  await pool.stop();
  assert.ok(Date.now() - t0 < 4_000, `stop() took ${Date.now() - t0} ms`);
}

const LOST = [
  { kernel: 'matmulT', how: 'exit', job: promptJob, what: 'whose thread exits in the middle of a prompt job', error: /wasm thread pool: worker 1 exited during a job \(op 2\)/ },
  { kernel: 'matmulT', how: 'freeze', job: promptJob, what: 'frozen in the middle of a prompt job (it says nothing, so only the stall limit tells; it is terminated)', error: /wasm thread pool: worker 1 held a job without progress past the stall limit and was terminated/ },
  { kernel: 'matvec', how: 'exit', job: decodeJob, what: 'whose thread exits in the middle of a decode job', error: /wasm thread pool: worker 1 exited during a job \(op 1\)/ },
] as const;

for (const c of LOST) {
  test(`a worker ${c.what}: the caller finishes the job (one thread's bits), says why, and runs every later job alone`, async () => {
    const rig = await faultyPool(c.kernel, c.how);
    try {
      await untilLost(rig, c.job(rig));
      assert.match(rig.pool.failure!.message, c.error);
      assert.not.ok(rig.pool.takes(1 << 20), 'nothing is shared after the loss');
    } finally {
      await stopsInSeconds(rig.pool);
    }
  });
}

test('a worker frozen in the middle of a decode job: its chunk is taken over (one thread\'s bits) and stop() still ends', async () => {
  const rig = await faultyPool('matvec', 'freeze');
  rig.pool.patienceChunks = 0;
  try {
    const job = decodeJob(rig), t0 = Date.now();
    // Until the worker has claimed a chunk (and frozen in it), then some more jobs.
    let reps = 0;
    for (; rig.pool.jobTime.takenOver === 0 && Date.now() - t0 < DEADLINE_MS; reps++) { job.run(); job.check(`job ${reps}`); }
    assert.ok(rig.pool.jobTime.takenOver > 0, `the frozen chunk was taken over (${reps} jobs)`);
    for (let i = 0; i < 50; i++) { job.run(); job.check(`job ${reps++}`); }
    assert.ok(Date.now() - t0 < DEADLINE_MS);
  } finally {
    await stopsInSeconds(rig.pool);
  }
});

test('a kernel that throws in a worker during a prompt job fails that call with a clear error; the worker stays, later jobs are right', async () => {
  const rig = await faultyPool('matmulT', 'throw');
  try {
    const job = promptJob(rig), t0 = Date.now();
    let error = '';
    for (let rep = 0; error === '' && Date.now() - t0 < DEADLINE_MS; rep++) {
      try { job.run(); job.check(`job ${rep}`); } catch (e) { error = (e as Error).message; }
    }
    assert.match(error, /wasm thread pool: the kernel trapped in chunk \d+ of \d+ \(rows \d+\.\. of a job, op 2\); run with threads: 1 to see the trap/);
    for (let rep = 0; rep < 5; rep++) { job.run(); job.check(`job ${rep} after the throw`); }
    assert.is(rig.pool.failure, null);
  } finally {
    await stopsInSeconds(rig.pool);
  }
});

test.run();
