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
import { CTRL_INTS, Ctrl, HEAD_TABLE_INTS, MatvecArg, PartArg, PartKind } from '../src/threads/protocol.js';
import { CHUNK_STATE_INTS, ChunkState, WorkerClaims, resetChunkStates } from '../src/threads/rescue.js';
import { assertClose, randomArray, rng } from './helpers.js';
import { sharedKernelPool } from './fixtures/kernel-pool.js';

const rand = rng(0x7e5c);

test('with no patience, take-overs race the workers\' commits on every job and the outputs stay one thread\'s bits', async () => {
  const { heap, k, pool } = await sharedKernelPool(2);
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
    // A layer's heads, each writing its output and its attention weights (att rows `count + 5`
    // floats apart, so a copy-back by `count` would misplace them): grouped-query (8 query heads
    // over 2 KV heads; on 3 threads chunks of 2, 1 and 1 queries, so group and single-head chunks
    // race) and MHA (4 heads, each its own entries).
    const hd = 32, count = 300, attStride = count + 5;
    const layouts = [{ heads: 8, kvHeads: 2 }, { heads: 4, kvHeads: 4 }].map(({ heads, kvHeads }) => ({
      heads, kvHeads, q: fill(heads * hd), keys: fill(kvHeads * count * hd), values: fill(kvHeads * count * hd),
      out: heap.f32(heads * hd), ref: heap.f32(heads * hd), att: heap.f32(heads * attStride), refAtt: heap.f32(heads * attStride),
    }));
    const attend = (useShared: boolean): void => {
      const jobs = useShared ? shared : alone;
      for (const l of layouts) {
        const o = useShared ? l.out : l.ref, a = useShared ? l.att : l.refAtt, group = l.heads / l.kvHeads;
        for (let h = 0; h < l.heads; h++) {
          const kv = 4 * Math.floor(h / group) * count * hd;
          jobs.deferHead(o.byteOffset + 4 * h * hd, l.q.byteOffset + 4 * h * hd, l.keys.byteOffset + kv, 0, l.values.byteOffset + kv, 0, count, hd, 0.125, a.byteOffset + 4 * h * attStride, 0);
        }
        jobs.runDeferredHeads();
      }
    };
    matvecs(false);
    attend(false);
    const outputs = [...parts.map((p) => p.out), ...layouts.flatMap((l) => [l.out, l.att])];
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
      for (const l of layouts) {
        assertClose(l.out, l.ref, `rep ${reps}, ${l.heads}/${l.kvHeads} heads: outputs`, 0, 0);
        for (let h = 0; h < l.heads; h++) {
          const row = (a: Float32Array) => a.subarray(h * attStride, h * attStride + count); // the gaps are nobody's
          assertClose(row(l.att), row(l.refAtt), `rep ${reps}, ${l.heads}/${l.kvHeads} heads: attention weights of head ${h}`, 0, 0);
        }
      }
      nothingLate(`rep ${reps}, heads`);
      reps++;
    }
    assert.ok(pool.jobTime.takenOver > 0, `the caller took no chunk over in ${reps} reps (${pool.jobTime.jobs} jobs)`);
  } finally {
    await pool.stop();
  }
});

test('a worker whose commit traps (outputs outside the memory) reports the chunk and marks it done: it neither dies nor leaves the caller waiting', async () => {
  // The worker's side run on this thread: a throw here is what kills a real worker mid-commit
  // (its chunk stuck in Committing, which the caller waits out forever).
  const heap = new WasmHeap({ shared: true, initialBytes: 1 << 20, maximumBytes: 1 << 20 });
  const k = (await WebAssembly.instantiate(await WebAssembly.compile(buildKernelModule({ initialPages: 1, shared: true, maximumPages: heap.maximumPages })),
    { env: { memory: heap.memory } })).exports as unknown as KernelExports;
  const ints = (n: number): Int32Array => new Int32Array(heap.buffer, heap.allocBytes(4 * n, 64), n);
  const ctrl = ints(CTRL_INTS), table = ints(HEAD_TABLE_INTS), states = ints(CHUNK_STATE_INTS);
  const rows = 64, cols = 32, per = 16, chunks = rows / per, tag = 5;
  const w = heap.f32(rows * cols), x = heap.f32(cols), scratch = heap.f32(per);
  w.fill(1); x.fill(1);
  const a = Ctrl.ARG0, part = a + MatvecArg.PART0;
  ctrl[Ctrl.OP] = 1; ctrl[Ctrl.CHUNKS] = chunks; ctrl[Ctrl.CHUNK_ROWS] = per;
  ctrl[Ctrl.SCRATCH] = scratch.byteOffset; ctrl[Ctrl.SCRATCH_FLOATS] = per;
  ctrl[a + MatvecArg.PARTS] = 1; ctrl[a + MatvecArg.COLS] = cols; ctrl[a + MatvecArg.X] = x.byteOffset;
  ctrl[part + PartArg.KIND] = PartKind.F32; ctrl[part + PartArg.W] = w.byteOffset; ctrl[part + PartArg.ROWS] = rows; ctrl[part + PartArg.FIRST_CHUNK] = 0;
  ctrl[part + PartArg.OUT] = heap.capacityBytes + 4096; // past the end of the memory
  resetChunkStates(states, tag, chunks);
  let committed = -1;
  try {
    committed = new WorkerClaims(k, ctrl, table, states, 1).run(tag, 2); // worker 1 of 2 threads: its home, then the caller's chunks
  } catch (e) {
    assert.unreachable(`the worker threw (${(e as Error).message}), chunk states ${Array.from(states.subarray(0, chunks), (s) => s & 7)}`);
  }
  assert.is(committed, chunks);
  for (let i = 0; i < chunks; i++) assert.is(states[i], (tag << 3) | ChunkState.Done, `chunk ${i}`);
  assert.ok(ctrl[Ctrl.FAILED]! >= 1 && ctrl[Ctrl.FAILED]! <= chunks, `FAILED = ${ctrl[Ctrl.FAILED]}`);
});

test.run();
