// The thread pool's learning and its claim protocol: the worker's spin budget and the caller's
// split judge react as designed (with exact and with coarse, browser-like clocks), and jobs of different sizes back to back never let a worker that
// came late to one job run a chunk of it against the next (bit-identical to one thread).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, type WasmBackend } from '../src/wasm/backend.js';
import { PREEMPTED_MS, SpinBudget, SPIN_MAX_MS, SPIN_MIN_MS, SPIN_START_MS, preemptionGapMs } from '../src/threads/spin.js';
import { SplitJudge } from '../src/threads/split-judge.js';
import { clockTick } from '../src/threads/clock.js';
import { takeOverPatience } from '../src/threads/pool.js';
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

/** A clock stepping `tick` ms over the simulated time `t` (tick 0: exact). */
const quantized = (sim: { t: number }, tick: number) => (): number => (tick > 0 ? Math.floor(sim.t / tick) * tick : sim.t);

/**
 * Simulated decode of `ms` ms of work: jobs of 1M multiply-adds, each taking `cost(t).alone` ms on
 * the caller alone or `cost(t).shared` ms shared (with `takenOver` worker chunks taken over), and
 * `pauseEvery`/`pauseMs`: the caller idles between jobs now and then (a benchmark's other rounds).
 * Returns the simulated time, the time always-alone and always-shared would have taken for the same
 * jobs, and from `from` ms of work on: jobs, shared jobs, the jobs until the first one alone, the
 * time taken and what always-alone would have taken.
 */
function simulate(judge: SplitJudge, sim: { t: number }, ms: number, cost: (t: number) => { alone: number; shared: number; takenOver: number }, opts: { pauseEvery?: number; pauseMs?: number; from?: number } = {}) {
  let busy = 0, alone = 0, shared = 0, sharedAfter = 0, jobsAfter = 0, untilAlone = -1, busyAfter = 0, aloneAfter = 0, nextPause = opts.pauseEvery ?? Infinity;
  while (busy < ms) {
    if (busy >= nextPause) { sim.t += opts.pauseMs!; nextPause += opts.pauseEvery!; }
    const c = cost(busy), share = judge.share(1e6), took = share ? c.shared : c.alone;
    sim.t += took; busy += took; alone += c.alone; shared += c.shared;
    if (busy >= (opts.from ?? Infinity)) {
      jobsAfter++; busyAfter += took; aloneAfter += c.alone;
      if (share) sharedAfter++; else if (untilAlone < 0) untilAlone = jobsAfter;
    }
    // The caller ran 1 of 2 chunks in 0.35 of one thread's time: its estimate of one thread flatters sharing.
    if (share) judge.record(took, 0.35 * c.alone, 1, 2, c.takenOver);
  }
  return { busy, alone, shared, sharedAfter, jobsAfter, untilAlone, busyAfter, aloneAfter };
}

for (const tick of [0, 0.1, 1]) {
  const clock = tick === 0 ? 'an exact clock' : `a ${tick} ms clock`;
  test(`split judge (${clock}): where sharing pays (0.6x the time) it shares; the probes cost under 3 %`, () => {
    const sim = { t: 0 }, j = new SplitJudge(quantized(sim, tick), tick);
    const r = simulate(j, sim, 20_000, () => ({ alone: 1, shared: 0.6, takenOver: 0 }));
    assert.ok(r.busy < 1.03 * r.shared, `${r.busy.toFixed(0)} ms vs ${r.shared.toFixed(0)} always shared (probes ${JSON.stringify(j.probes)})`);
    assert.is(j.probes.lost, 0);
  });

  test(`split judge (${clock}): a free core's workers late now and then (a take-over every 10 jobs) do not keep stopping sharing that pays`, () => {
    const sim = { t: 0 }, j = new SplitJudge(quantized(sim, tick), tick);
    let n = 0;
    const r = simulate(j, sim, 20_000, () => ({ alone: 1, shared: 0.6, takenOver: ++n % 10 === 0 ? 1 : 0 }));
    assert.ok(r.busy < 1.03 * r.shared, `${r.busy.toFixed(0)} ms vs ${r.shared.toFixed(0)} always shared (probes ${JSON.stringify(j.probes)})`);
  });

  test(`split judge (${clock}): where sharing loses (1.25x the time, workers late) it runs alone; the probes cost under 2 %`, () => {
    const sim = { t: 0 }, j = new SplitJudge(quantized(sim, tick), tick);
    const r = simulate(j, sim, 20_000, () => ({ alone: 1, shared: 1.25, takenOver: 1 }));
    assert.ok(r.busy < 1.02 * r.alone, `${r.busy.toFixed(0)} ms vs ${r.alone.toFixed(0)} alone (probes ${JSON.stringify(j.probes)})`);
    assert.is(j.probes.paid, 0);
  });

  test(`split judge (${clock}): sharing that loses only a little (1.05x) is not kept either`, () => {
    const sim = { t: 0 }, j = new SplitJudge(quantized(sim, tick), tick);
    const r = simulate(j, sim, 20_000, () => ({ alone: 1, shared: 1.05, takenOver: 0 }));
    assert.ok(r.busy < 1.01 * r.alone, `${r.busy.toFixed(0)} ms vs ${r.alone.toFixed(0)} alone (probes ${JSON.stringify(j.probes)})`);
  });

  test(`split judge (${clock}): when the other core becomes busy it stops sharing within a few jobs, and shares again once it is free`, () => {
    const sim = { t: 0 }, j = new SplitJudge(quantized(sim, tick), tick);
    // Quiet for 10 s (sharing settles on long periods), then loaded: late workers' chunks are taken over,
    // though the caller's estimate still flatters sharing (1.1x the time vs an estimate of 1.4x).
    const loadedAfter = (from: number) => (t: number) => (t < from ? { alone: 1, shared: 0.6, takenOver: 0 } : { alone: 1, shared: 1.1, takenOver: 1 });
    const r = simulate(j, sim, 13_000, loadedAfter(10_000), { from: 10_000 });
    assert.ok(r.untilAlone > 0 && r.untilAlone <= 8, `the first job alone came ${r.untilAlone} jobs (of 1 ms) after the load`);
    assert.ok(r.busyAfter < 1.03 * r.aloneAfter, `loaded: ${r.busyAfter.toFixed(0)} ms vs ${r.aloneAfter.toFixed(0)} alone (${r.sharedAfter} of ${r.jobsAfter} jobs shared)`);
    // Loaded for 10 s, then quiet again: back to sharing within the longest period alone.
    const sim2 = { t: 0 }, j2 = new SplitJudge(quantized(sim2, tick), tick);
    const quietAfter = (t: number) => (t < 10_000 ? { alone: 1, shared: 1.25, takenOver: 1 } : { alone: 1, shared: 0.6, takenOver: 0 });
    const r2 = simulate(j2, sim2, 30_000, quietAfter, { from: 20_000 });
    assert.ok(r2.sharedAfter > 0.97 * r2.jobsAfter, `${r2.sharedAfter} of ${r2.jobsAfter} jobs shared from 10 s after the machine went quiet`);
  });

  test(`split judge (${clock}): pauses between jobs (the caller idle) do not count as the jobs' time`, () => {
    const sim = { t: 0 }, j = new SplitJudge(quantized(sim, tick), tick);
    const r = simulate(j, sim, 20_000, () => ({ alone: 1, shared: 0.6, takenOver: 0 }), { pauseEvery: 300, pauseMs: 1_000 });
    assert.ok(r.busy < 1.05 * r.shared, `${r.busy.toFixed(0)} ms vs ${r.shared.toFixed(0)} always shared (probes ${JSON.stringify(j.probes)})`);
  });
}

test('coarse clocks: the clock step is found, take-over patience and the spin\'s preemption gap are at least two steps', () => {
  const sim = { t: 0 }, step = (tick: number) => () => { sim.t += 0.003; return Math.floor(sim.t / tick) * tick; };
  assert.ok(Math.abs(clockTick(step(1)) - 1) < 1e-9);
  assert.ok(Math.abs(clockTick(step(0.1)) - 0.1) < 1e-9);
  assert.ok(clockTick() < 0.05, 'Node\'s performance.now() is fine-grained');
  // The caller's 4 chunks read 0 ms on a 1 ms clock: wait two steps, not zero.
  assert.is(takeOverPatience(2, 0, 4, 1), 2);
  assert.is(takeOverPatience(2, 0.2, 4, 0.001), 0.1);
  assert.is(takeOverPatience(0, 0.2, 4, 1), 0, 'no patience stays none (tests race take-overs)');
  assert.is(preemptionGapMs(1), 2);
  assert.is(preemptionGapMs(0.005), PREEMPTED_MS);
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
