// The thread pool's learning and its claim protocol: the worker's spin budget and the caller's
// split judge react as designed, and jobs of different sizes back to back never let a worker that
// came late to one job run a chunk of it against the next (bit-identical to one thread).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, type WasmBackend } from '../src/wasm/backend.js';
import { SpinBudget, SPIN_MAX_MS, SPIN_MIN_MS, SPIN_START_MS } from '../src/threads/spin.js';
import { SplitJudge } from '../src/threads/split-judge.js';
import { assertClose, copyInto, randomArray, rng } from './helpers.js';

const rand = rng(0x51ab);

test('spin budget: shrinks when the OS preempts the spin, grows when a job came soon after sleeping, within bounds', () => {
  const s = new SpinBudget();
  assert.is(s.ms, SPIN_START_MS);
  s.preempted();
  assert.is(s.ms, SPIN_START_MS / 4);
  for (let i = 0; i < 20; i++) s.preempted();
  assert.is(s.ms, SPIN_MIN_MS);
  s.sleptThrough(0.01);
  assert.is(s.ms, 2 * SPIN_MIN_MS);
  s.sleptThrough(3);
  assert.is(s.ms, 6);
  s.sleptThrough(10 * SPIN_MAX_MS); // a pause far longer than any spin: spinning would not have caught it
  assert.is(s.ms, 6);
  for (let i = 0; i < 20; i++) s.sleptThrough(SPIN_MAX_MS * 0.9);
  assert.is(s.ms, SPIN_MAX_MS);
});

test('split judge: shares while sharing pays; after a window that did not pay, runs alone for a backoff that doubles (halved, not forgotten, by a paying window), then re-checks', () => {
  const j = new SplitJudge();
  // alone ≈ 10 ms per job (5 ms for 1 of 2 chunks); a losing window here loses 4 %, 1.28 jobs' time
  const window = (pays: boolean) => {
    for (let i = 0; i < 32; i++) { assert.ok(j.share()); j.record(pays ? 6 : 10.4, 5, 1, 2); }
  };
  const aloneFor = (): number => { let n = 0; while (!j.share()) n++; return n; };
  window(false);
  assert.ok(j.share(), 'the first window (a fresh pool: cold caches, first wake-ups) is not judged');
  window(true);
  assert.ok(j.share(), 'a paying window keeps sharing');
  j.record(6, 5, 1, 2);
  for (let i = 0; i < 31; i++) { j.share(); j.record(10.4, 5, 1, 2); } // completes a window that does not pay
  assert.is(aloneFor(), 256);
  window(false);
  assert.is(aloneFor(), 512);
  window(false);
  assert.is(aloneFor(), 1024);
  window(true);
  window(false);
  assert.is(aloneFor(), 1024, 'a paying window halves the backoff (2048 → 1024)');
  for (let i = 0; i < 40; i++) { j.share(); j.record(1, 0, 0, 4); } // jobs the workers ran entirely say nothing
  assert.ok(j.share());
});

test('split judge: a re-check window that loses much buys time alone in proportion (its loss stays about 1 % of the time), up to the longest backoff', () => {
  const j = new SplitJudge();
  for (let i = 0; i < 32; i++) { j.share(); j.record(30, 5, 1, 2); } // the first window: not judged
  // Each shared job takes 30 ms where one thread would take 10: the window lost 64 jobs' time.
  for (let i = 0; i < 32; i++) { j.share(); j.record(30, 5, 1, 2); }
  let n = 0;
  while (!j.share()) n++;
  assert.is(n, 6400);
  // ... and at most the longest backoff, however much a window loses.
  for (let i = 0; i < 32; i++) { j.share(); j.record(3000, 5, 1, 2); }
  n = 0;
  while (!j.share()) n++;
  assert.is(n, 16_384);
});

test('jobs of different sizes back to back on 3 threads equal one thread bit for bit (a late worker never claims against the next job)', async () => {
  const one = await createWasmBackend({ initialBytes: 8 << 20 });
  const three: WasmBackend = await createWasmBackend({ initialBytes: 8 << 20, threads: 3, alwaysShare: true });
  try {
    const cols = 64, sizes = [96, 1536, 40, 3072];
    const mats = sizes.map((rows) => randomArray(rand, rows * cols));
    const x = randomArray(rand, cols);
    const expected = sizes.map((rows, i) => { const o = one.alloc(rows); one.matvec(o, 0, copyInto(one, mats[i]!), 0, copyInto(one, x), 0, rows, cols); return Float32Array.from(o); });
    const ws = mats.map((m) => copyInto(three, m)), outs = sizes.map((rows) => three.alloc(rows)), xb = copyInto(three, x);
    for (let rep = 0; rep < 400; rep++) {
      const i = rep % sizes.length, rows = sizes[i]!;
      outs[i]!.fill(NaN);
      three.matvec(outs[i]!, 0, ws[i]!, 0, xb, 0, rows, cols);
      assertClose(outs[i]!, expected[i]!, `job ${rep} (${rows} rows)`, 0, 0);
    }
  } finally {
    await three.dispose();
  }
});

test('a 2-thread backend that judges sharing not to pay still computes the 1-thread bits', async () => {
  const one = await createWasmBackend({ initialBytes: 8 << 20 });
  const two = await createWasmBackend({ initialBytes: 8 << 20, threads: 2 });
  try {
    const rows = 768, cols = 288, w = randomArray(rand, rows * cols), x = randomArray(rand, cols);
    const o1 = one.alloc(rows), o2 = two.alloc(rows), w1 = copyInto(one, w), w2 = copyInto(two, w), x1 = copyInto(one, x), x2 = copyInto(two, x);
    one.matvec(o1, 0, w1, 0, x1, 0, rows, cols);
    for (let rep = 0; rep < 600; rep++) { // long enough for windows, backoffs and re-checks, whatever the load
      two.matvec(o2, 0, w2, 0, x2, 0, rows, cols);
      assertClose(o2, o1, `rep ${rep}`, 0, 0);
    }
  } finally {
    await two.dispose();
  }
});

test.run();
