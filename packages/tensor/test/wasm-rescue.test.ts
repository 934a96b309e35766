// Decode jobs the caller takes back from late workers (src/threads/rescue.ts). With no patience at
// all the caller takes over every worker chunk not yet committed the moment it runs out of its own,
// so workers' commits race the caller's take-overs on every job: the outputs must still be exactly
// one thread's bits (no lost chunk, no hang), nothing may land in them after the job returned (a
// worker whose chunk was taken must drop its result), and the race must really have happened.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildKernelModule, type KernelExports } from '../src/wasm/kernels.js';
import { WasmHeap } from '../src/wasm/heap.js';
import { JobRunner } from '../src/wasm/jobs.js';
import { ThreadPool } from '../src/threads/pool.js';
import { PartKind } from '../src/threads/protocol.js';
import { assertClose, randomArray, rng } from './helpers.js';

const rand = rng(0x7e5c);

test('with no patience, take-overs race the workers\' commits on every job and the outputs stay one thread\'s bits', async () => {
  const heap = new WasmHeap({ shared: true, initialBytes: 16 << 20 });
  const module = await WebAssembly.compile(buildKernelModule({ initialPages: 1, shared: true, maximumPages: heap.maximumPages }));
  const k = (await WebAssembly.instantiate(module, { env: { memory: heap.memory } })).exports as unknown as KernelExports;
  const pool = await ThreadPool.start(module, heap, 2, { alwaysShare: true });
  pool.patienceChunks = 0;
  try {
    const shared = new JobRunner(heap, k, pool), alone = new JobRunner(heap, k, null);
    const fill = (n: number): Float32Array => { const a = heap.f32(n); a.set(randomArray(rand, n)); return a; };
    // q/k/v-like: three parts reading one x (61k multiply-adds: big enough to split).
    const cols = 128, parts = [224, 96, 160].map((rows) => ({ rows, w: fill(rows * cols), out: heap.f32(rows), ref: heap.f32(rows) }));
    const x = fill(cols);
    const matvecs = (useShared: boolean): void => {
      const jobs = useShared ? shared : alone;
      jobs.beginMatvecs(x, 0, x.byteOffset, cols);
      for (const p of parts) jobs.addPart(PartKind.F32, (useShared ? p.out : p.ref).byteOffset, p.w.byteOffset, 0, p.rows);
      jobs.runMatvecs();
    };
    // A layer's heads: each writes its output and its attention weights.
    const heads = 6, hd = 32, count = 300;
    const q = fill(heads * hd), keys = fill(count * hd), values = fill(count * hd);
    const out = heap.f32(heads * hd), ref = heap.f32(heads * hd), att = heap.f32(heads * count), refAtt = heap.f32(heads * count);
    const attend = (useShared: boolean): void => {
      const jobs = useShared ? shared : alone, o = useShared ? out : ref, a = useShared ? att : refAtt;
      for (let h = 0; h < heads; h++) {
        jobs.deferHead(o.byteOffset + 4 * h * hd, q.byteOffset + 4 * h * hd, keys.byteOffset, 0, values.byteOffset, 0, count, hd, 0.125, a.byteOffset + 4 * h * count, 0);
      }
      jobs.runDeferredHeads();
    };
    matvecs(false);
    attend(false);
    const outputs = [...parts.map((p) => p.out), out, att];
    /** After a job returned: clears its outputs, gives a late worker 50 µs, and checks none wrote into them. */
    const nothingLate = (what: string): void => {
      for (const o of outputs) o.fill(NaN);
      for (const t0 = performance.now(); performance.now() - t0 < 0.05;);
      for (const [i, o] of outputs.entries()) assert.ok(o.every(Number.isNaN), `${what}: output ${i} written after the job returned`);
    };
    const deadline = Date.now() + 20_000;
    let reps = 0;
    while (reps < 300 || (pool.jobTime.takenOver < 20 && Date.now() < deadline)) {
      matvecs(true);
      for (const [i, p] of parts.entries()) assertClose(p.out, p.ref, `rep ${reps}, part ${i}`, 0, 0);
      nothingLate(`rep ${reps}, q/k/v`);
      attend(true);
      assertClose(out, ref, `rep ${reps}, head outputs`, 0, 0);
      assertClose(att, refAtt, `rep ${reps}, attention weights`, 0, 0);
      nothingLate(`rep ${reps}, heads`);
      reps++;
    }
    assert.ok(pool.jobTime.takenOver > 0, `the caller took no chunk over in ${reps} reps (${pool.jobTime.jobs} jobs)`);
  } finally {
    await pool.stop();
  }
});

test.run();
