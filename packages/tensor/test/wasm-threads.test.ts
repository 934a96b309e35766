// Worker threads over the shared wasm memory: split matvec/matmul/quantised matvec give the
// single-thread results, and dispose() ends the workers (the suite would hang otherwise).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, type WasmBackend } from '../src/wasm/backend.js';
import { quantizeF16, quantizeQ8 } from '../src/quant/weights.js';
import { partRange } from '../src/threads/protocol.js';
import { assertClose, randomArray, rng } from './helpers.js';

const rand = rng(0x7123);
let one: WasmBackend, two: WasmBackend;
test.before(async () => {
  one = await createWasmBackend({ initialBytes: 8 << 20 });
  two = await createWasmBackend({ initialBytes: 8 << 20, threads: 2 });
});
test.after(async () => { await two.dispose(); });

const copy = (b: WasmBackend, a: Float32Array) => { const v = b.alloc(a.length); v.set(a); return v; };

test('partRange covers every row once, in multiples of 4', () => {
  for (const total of [0, 1, 7, 8, 9, 288, 32000, 1377]) for (const parts of [1, 2, 3, 4]) {
    let next = 0;
    for (let p = 0; p < parts; p++) {
      const [s, e] = partRange(total, parts, p);
      assert.is(s, next); assert.ok(e >= s);
      if (e < total) assert.is((e - s) % 4, 0);
      next = e;
    }
    assert.is(next, total);
  }
});

test('2 threads: matvec, fp16, Q8 and matmulT equal the 1-thread results', () => {
  for (const [rows, cols] of [[288, 288], [768, 288], [1001, 97], [37, 2048]] as const) {
    const w = randomArray(rand, rows * cols), x = randomArray(rand, cols);
    const o1 = one.alloc(rows), o2 = two.alloc(rows);
    one.matvec(o1, 0, copy(one, w), 0, copy(one, x), 0, rows, cols);
    two.matvec(o2, 0, copy(two, w), 0, copy(two, x), 0, rows, cols);
    assertClose(o2, o1, `matvec ${rows}x${cols}`, 0, 0);
    const h1 = quantizeF16(w, 0, rows, cols, one), h2 = quantizeF16(w, 0, rows, cols, two);
    one.matvecF16(o1, 0, h1.bits, 0, copy(one, x), 0, rows, cols);
    two.matvecF16(o2, 0, h2.bits, 0, copy(two, x), 0, rows, cols);
    assertClose(o2, o1, `f16 ${rows}x${cols}`, 0, 0);
    const q1 = quantizeQ8(w, 0, rows, cols, one), q2 = quantizeQ8(w, 0, rows, cols, two);
    one.matvecQ8(o1, 0, q1.q, 0, q1.scales, 0, copy(one, x), 0, rows, cols);
    two.matvecQ8(o2, 0, q2.q, 0, q2.scales, 0, copy(two, x), 0, rows, cols);
    assertClose(o2, o1, `q8 ${rows}x${cols}`, 0, 0);
  }
  const m = 13, n = 300, k = 96;
  const a = randomArray(rand, m * k), b = randomArray(rand, n * k);
  const r1 = one.alloc(m * n), r2 = two.alloc(m * n);
  one.matmulT(r1, copy(one, a), copy(one, b), 0, m, n, k);
  two.matmulT(r2, copy(two, a), copy(two, b), 0, m, n, k);
  assertClose(r2, r1, 'matmulT', 0, 0);
});

test('threads need shared memory; bad thread counts are rejected', async () => {
  let err = '';
  try { await createWasmBackend({ threads: 2, shared: false }); } catch (e) { err = (e as Error).message; }
  assert.match(err, /threads > 1 needs shared memory/);
  try { await createWasmBackend({ threads: 0 }); } catch (e) { err = (e as Error).message; }
  assert.match(err, /threads must be an integer in 1..64/);
});

test.run();
