// GFLOP/s and weight GB/s of the wasm matvecs on ggml blocks, every supported type, 1 and 2
// threads, weights in cache (576×1536, one matrix reused) and streaming from memory (2048×5632,
// copies cycled through so that ≥ 128 MiB of weights pass per round, far beyond the caches).
// The f32 kernel runs beside each type in alternating batches: the ratio columns are the numbers
// to trust on a shared machine.
//
//   node scripts/run-ts.mjs packages/tensor/bench/ggml.bench.ts [--time MS] [--filter TEXT] [--threads 1,2]
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createWasmBackend, ggmlWeights, matvecWeights, GGML_TYPES, type GgmlWeights, type WasmBackend } from '@msrnn/tensor';
import { randomGgmlMatrix } from '../test/ggml-helpers.js';
import { rng } from '../test/helpers.js';

const { values: flags } = parseArgs({
  options: { time: { type: 'string', default: '400' }, filter: { type: 'string', default: '' }, threads: { type: 'string', default: '1,2' } },
});
const timeMs = Number(flags.time);
if (!(timeMs > 0)) throw new Error(`ggml.bench: --time must be a positive number of ms, got ${flags.time}`);
const threadCounts = flags.threads.split(',').map(Number);
if (threadCounts.some((t) => !(t >= 1 && t <= 2 && Number.isInteger(t)))) throw new Error(`ggml.bench: --threads takes 1 and/or 2, got ${flags.threads}`);

const STREAM_BYTES = 128 << 20;
// --time under 50 ms is a smoke run (the README test's): the in-cache shape only, few batches.
const smoke = timeMs < 50;
const shapes = [{ rows: 576, cols: 1536, stream: false }, ...(smoke ? [] : [{ rows: 2048, cols: 5632, stream: true }])];
const types = GGML_TYPES.filter((t) => t.supported && `${t.name}`.includes(flags.filter));

interface Case { name: string; call: (i: number) => void }

/**
 * Seconds per call of each case: short batches (~3 ms) in alternating order (A, B, C, A, B, C, …)
 * for timeMs per case, and the fastest batch of each. On a machine shared with other jobs a batch
 * is slowed whenever the scheduler takes the core away; the fastest batch is the one that ran
 * undisturbed, so best-of-N estimates the kernel on a core it has to itself (timeit's rule). The
 * median is reported beside it to show how loaded the run was.
 */
function measureRounds(cases: Case[]): { best: number[]; median: number[] } {
  const per = cases.map((c) => {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < (smoke ? 2 : 30)) c.call(n++); // warm-up
    return Math.max(1, Math.round(n / 10));
  });
  const samples: number[][] = cases.map(() => []);
  const end = performance.now() + timeMs * cases.length;
  let calls = 0;
  while (samples[0]!.length < (smoke ? 3 : 20) || performance.now() < end) {
    cases.forEach((c, k) => {
      const s = performance.now();
      for (let i = 0; i < per[k]!; i++) c.call(calls++);
      samples[k]!.push((performance.now() - s) / 1000 / per[k]!);
    });
  }
  return {
    best: samples.map((a) => Math.min(...a)),
    median: samples.map((a) => [...a].sort((p, q) => p - q)[a.length >> 1]!),
  };
}

interface Row { type: string; shape: string; gflops: number; gbs: number; vsF32: number; median: number; gflops2: number; twoVsOne: number }
const rows: Row[] = [];
const started = new Date();
const load0 = loadavg()[0]!;
const two = threadCounts.includes(2);

/** Weights of type `id` in backend b: one matrix, or copies to cycle through for ≥ STREAM_BYTES. */
function matrices(b: WasmBackend, id: number, R: number, C: number, stream: boolean, seed: number): GgmlWeights[] {
  const bytes = randomGgmlMatrix(rng(seed), id, R, C);
  const copies = stream ? Math.max(2, Math.ceil(STREAM_BYTES / bytes.length)) : 1;
  return Array.from({ length: copies }, () => ggmlWeights(id, R, C, bytes, b));
}

for (const { rows: R, cols: C, stream } of shapes) {
  for (const t of types) {
    // Fresh backends per case (dropped with their matrices): f32 and this type on one thread, this type on two.
    const b1 = await createWasmBackend({ initialBytes: 64 << 20 });
    const b2 = two ? await createWasmBackend({ threads: 2, initialBytes: 64 << 20 }) : null;
    const f32 = matrices(b1, 0, R, C, stream, 1), w1 = matrices(b1, t.id, R, C, stream, 2), w2 = b2 ? matrices(b2, t.id, R, C, stream, 2) : [];
    const x1 = b1.alloc(C), o1 = b1.alloc(R), x2 = (b2 ?? b1).alloc(C), o2 = (b2 ?? b1).alloc(R);
    const rand = rng(3);
    for (let i = 0; i < C; i++) x1[i] = x2[i] = rand() * 2 - 1;
    const cases: Case[] = [
      { name: 'f32', call: (i) => matvecWeights(b1, o1, 0, f32[i % f32.length]!, x1, 0) },
      { name: t.name, call: (i) => matvecWeights(b1, o1, 0, w1[i % w1.length]!, x1, 0) },
    ];
    if (b2) cases.push({ name: `${t.name}×2`, call: (i) => matvecWeights(b2, o2, 0, w2[i % w2.length]!, x2, 0) });
    const m = measureRounds(cases);
    if (b2) await b2.dispose();
    const flops = 2 * R * C, bytes = w1[0]!.data.byteLength;
    rows.push({
      type: t.name, shape: `${R}×${C}${stream ? ' stream' : ''}`,
      gflops: flops / m.best[1]! / 1e9, gbs: bytes / m.best[1]! / 1e9, vsF32: m.best[0]! / m.best[1]!, median: flops / m.median[1]! / 1e9,
      gflops2: b2 ? flops / m.best[2]! / 1e9 : NaN, twoVsOne: b2 ? m.best[1]! / m.best[2]! : NaN,
    });
    process.stderr.write('.');
  }
}
process.stderr.write('\n');

console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} ×${cpus().length}, ${started.toISOString().slice(0, 16)} UTC, load average ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`);
console.log('| type | shape | GFLOP/s (best) | weight GB/s | × f32 kernel | GFLOP/s (median) | 2 threads GFLOP/s | 2 threads ÷ 1 |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|');
const fmt = (v: number, d = 1) => (Number.isNaN(v) ? '–' : v.toFixed(d));
for (const r of rows) {
  console.log(`| ${r.type} | ${r.shape} | ${fmt(r.gflops)} | ${fmt(r.gbs)} | ${fmt(r.vsF32, 2)} | ${fmt(r.median)} | ${fmt(r.gflops2)} | ${fmt(r.twoVsOne, 2)} |`);
}
