// Worker threads over the shared wasm memory: split matvec/matmul/quantised matvec and a prompt's
// ggml product give the single-thread results, and dispose() ends the workers (the suite would hang otherwise).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, type WasmBackend } from '../src/wasm/backend.js';
import { quantizeF16, quantizeQ8 } from '../src/quant/weights.js';
import { chunkRowsFor, JobOp, MatvecArg, MAX_CHUNKS, PartArg, PartKind } from '../src/threads/protocol.js';
import { ThreadPool } from '../src/threads/pool.js';
import { WasmHeap } from '../src/wasm/heap.js';
import { buildKernelModule } from '../src/wasm/kernels.js';
import { GGML } from '../src/quant/ggml-types.js';
import { assertClose, copyInto, randomArray, rng } from './helpers.js';
import { randomGgmlMatrix } from './ggml-helpers.js';

const rand = rng(0x7123);
let one: WasmBackend, two: WasmBackend;
test.before(async () => {
  one = await createWasmBackend({ initialBytes: 8 << 20 });
  two = await createWasmBackend({ initialBytes: 8 << 20, threads: 2, alwaysShare: true });
});
test.after(async () => { await two.dispose(); });

test('chunk sizes: whole 4-row tiles, at most MAX_CHUNKS chunks, several chunks per thread', () => {
  for (const rows of [8, 9, 288, 768, 32000, 1377, 1 << 22]) for (const threads of [2, 3, 4]) {
    const per = chunkRowsFor(rows, threads);
    assert.is(per % 4, 0);
    assert.ok(Math.ceil(rows / per) <= MAX_CHUNKS);
    if (rows >= 32 * threads) assert.ok(Math.ceil(rows / per) >= 2 * threads, `${rows} rows / ${threads} threads: ${per} per chunk`);
  }
});

test('2 threads: matvec, fp16, Q8 and matmulT equal the 1-thread results', () => {
  for (const [rows, cols] of [[288, 288], [768, 288], [1001, 97], [37, 2048]] as const) {
    const w = randomArray(rand, rows * cols), x = randomArray(rand, cols);
    const o1 = one.alloc(rows), o2 = two.alloc(rows);
    one.matvec(o1, 0, copyInto(one, w), 0, copyInto(one, x), 0, rows, cols);
    two.matvec(o2, 0, copyInto(two, w), 0, copyInto(two, x), 0, rows, cols);
    assertClose(o2, o1, `matvec ${rows}x${cols}`, 0, 0);
    const h1 = quantizeF16(w, 0, rows, cols, one), h2 = quantizeF16(w, 0, rows, cols, two);
    one.matvecF16(o1, 0, h1.bits, 0, copyInto(one, x), 0, rows, cols);
    two.matvecF16(o2, 0, h2.bits, 0, copyInto(two, x), 0, rows, cols);
    assertClose(o2, o1, `f16 ${rows}x${cols}`, 0, 0);
    const q1 = quantizeQ8(w, 0, rows, cols, one), q2 = quantizeQ8(w, 0, rows, cols, two);
    one.matvecQ8(o1, 0, q1.q, 0, q1.scales, 0, copyInto(one, x), 0, rows, cols);
    two.matvecQ8(o2, 0, q2.q, 0, q2.scales, 0, copyInto(two, x), 0, rows, cols);
    assertClose(o2, o1, `q8 ${rows}x${cols}`, 0, 0);
  }
  const m = 13, n = 301, k = 96;
  const a = randomArray(rand, m * k), b = randomArray(rand, n * k);
  const r1 = one.alloc(m * n), r2 = two.alloc(m * n);
  one.matmulT(r1, copyInto(one, a), copyInto(one, b), 0, m, n, k);
  two.matmulT(r2, copyInto(two, a), copyInto(two, b), 0, m, n, k);
  assertClose(r2, r1, 'matmulT', 0, 0);
  // A prompt's ggml product (rows converted to f32 a panel at a time, each panel's columns of out
  // written in place by the split matmul): 700 rows of 96 are two panels.
  for (const type of [GGML.Q8_0, GGML.F16]) {
    const rowsW = 700, bytes = randomGgmlMatrix(rand, type, rowsW, k);
    const d1 = one.allocU8(bytes.length), d2 = two.allocU8(bytes.length);
    d1.set(bytes); d2.set(bytes);
    const g1 = one.alloc(m * rowsW), g2 = two.alloc(m * rowsW);
    one.matmulGgml(type, g1, 0, d1, 0, copyInto(one, a), 0, m, rowsW, k);
    two.matmulGgml(type, g2, 0, d2, 0, copyInto(two, a), 0, m, rowsW, k);
    assertClose(g2, g1, `matmulGgml type ${type}`, 0, 0);
  }
});

test('3 threads (more than this machine may have free) still give identical results, many jobs in a row', async () => {
  const three = await createWasmBackend({ initialBytes: 8 << 20, threads: 3, alwaysShare: true });
  try {
    const rows = 515, cols = 64;
    const w = randomArray(rand, rows * cols);
    const w1 = copyInto(one, w), w3 = copyInto(three, w);
    const x1 = one.alloc(cols), x3 = three.alloc(cols), o1 = one.alloc(rows), o3 = three.alloc(rows);
    for (let rep = 0; rep < 200; rep++) {
      const x = randomArray(rand, cols);
      x1.set(x); x3.set(x);
      one.matvec(o1, 0, w1, 0, x1, 0, rows, cols);
      three.matvec(o3, 0, w3, 0, x3, 0, rows, cols);
      assertClose(o3, o1, `matvec rep ${rep}`, 0, 0);
    }
  } finally {
    await three.dispose();
  }
});

test('a process that never calls dispose() still exits promptly', () => {
  const script = fileURLToPath(new URL('./fixtures/wasm-threads-exit.ts', import.meta.url));
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', script], { encoding: 'utf8', timeout: 30_000 });
  assert.is(r.error, undefined, `child did not finish: ${r.error?.message}`);
  assert.is(r.stdout, 'ok', `child output: ${r.stdout} ${r.stderr}`);
  assert.is(r.status, 0);
  assert.ok(Date.now() - t0 < 30_000);
});

test('a kernel that traps in a chunk fails the call with a clear error instead of hanging; the pool keeps working', async () => {
  const heap = new WasmHeap({ shared: true, initialBytes: 1 << 20, maximumBytes: 2 << 20 });
  const module = await WebAssembly.compile(buildKernelModule({ initialPages: 1, shared: true, maximumPages: heap.maximumPages }));
  const pool = await ThreadPool.start(module, heap, 1, { alwaysShare: true });
  try {
    const rows = 512, cols = 256;
    const w = heap.f32(rows * cols), x = heap.f32(cols), out = heap.f32(rows);
    w.fill(1); x.fill(1);
    // Weights "at" 1.5 MiB: past the 1 MiB memory, so the later rows' loads trap.
    const bogus = heap.capacityBytes + (1 << 19) - rows * cols * 4;
    const matvec = (wAddr: number): void => {
      const a = pool.args, per = chunkRowsFor(rows, pool.size), part = MatvecArg.PART0;
      a[MatvecArg.PARTS] = 1; a[MatvecArg.COLS] = cols; a[MatvecArg.X] = x.byteOffset;
      a[part + PartArg.KIND] = PartKind.F32; a[part + PartArg.OUT] = out.byteOffset; a[part + PartArg.W] = wAddr;
      a[part + PartArg.ROWS] = rows; a[part + PartArg.FIRST_CHUNK] = 0;
      pool.ensureScratch(per); // without it the worker leaves every chunk to the caller (threads/rescue.ts)
      pool.run(JobOp.Matvecs, Math.ceil(rows / per), per);
    };
    assert.throws(() => matvec(bogus), /wasm thread pool: the kernel trapped in chunk \d+ of \d+ \(rows \d+\.\./);
    matvec(w.byteOffset);
    assert.is(out[rows - 1], cols);
  } finally {
    await pool.stop();
  }
});

test('threads need shared memory; bad thread counts are rejected', async () => {
  let err = '';
  try { await createWasmBackend({ threads: 2, shared: false }); } catch (e) { err = (e as Error).message; }
  assert.match(err, /threads > 1 needs shared memory/);
  try { await createWasmBackend({ threads: 0 }); } catch (e) { err = (e as Error).message; }
  assert.match(err, /threads must be an integer from 1 to 64, got 0/);
});

test.run();
