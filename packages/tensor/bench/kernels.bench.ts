// GFLOP/s of matvec and matmulT (A·Bᵀ) at small-LLaMA shapes, each beside a naive loop measured
// in the same run (the speedup column is the number to trust on a shared machine).
//
//   npx pnpm@9.15.9 bench [--json PATH] [--time MS] [--filter TEXT]
//
// Prints a Markdown table and writes JSON (default .bench/kernels.json at the repo root).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Bench } from 'tinybench';
import { raw } from '@msrnn/tensor';

const repoRoot = resolve(import.meta.dirname, '../../..');
const { values: flags } = parseArgs({
  options: {
    json: { type: 'string', default: resolve(repoRoot, '.bench/kernels.json') },
    time: { type: 'string', default: '250' },
    filter: { type: 'string', default: '' },
  },
});
const timeMs = Number(flags.time);
if (!Number.isFinite(timeMs) || timeMs <= 0) throw new Error(`kernels.bench: --time must be a positive number of ms, got ${flags.time}`);

/** The plain loops the optimized kernels replace (the original placeholder backend). */
function naiveMatvec(out: Float32Array, w: Float32Array, x: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const base = r * cols;
    for (let c = 0; c < cols; c++) s += w[base + c]! * x[c]!;
    out[r] = s;
  }
}

function naiveMatmulT(out: Float32Array, a: Float32Array, b: Float32Array, m: number, n: number, k: number): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p]! * b[j * k + p]!;
      out[i * n + j] = s;
    }
  }
}

function random(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = s / 2 ** 31 - 1; }
  return a;
}

interface Case { kernel: 'matvec' | 'matmulT'; shape: string; flops: number; fast: () => void; naive: () => void; check: () => void }

const cases: Case[] = [];
for (const [rows, cols] of [[288, 288], [768, 288], [288, 768], [32000, 288], [768, 768], [2048, 768], [768, 2048]] as const) {
  const w = random(rows * cols, rows + cols), x = random(cols, 7), out = new Float32Array(rows), ref = new Float32Array(rows);
  cases.push({
    kernel: 'matvec', shape: `${rows}×${cols}`, flops: 2 * rows * cols,
    fast: () => raw.matvec(out, 0, w, 0, x, 0, rows, cols),
    naive: () => naiveMatvec(ref, w, x, rows, cols),
    check: () => { if (!out.every((v, i) => v === ref[i])) throw new Error(`matvec ${rows}×${cols}: optimized result differs from naive`); },
  });
}
for (const s of [64, 256, 512]) {
  const a = random(s * s, 1), b = random(s * s, 2), out = new Float32Array(s * s), ref = new Float32Array(s * s);
  cases.push({
    kernel: 'matmulT', shape: `${s}³`, flops: 2 * s * s * s,
    fast: () => raw.matmulT(out, 0, a, 0, b, 0, s, s, s),
    naive: () => naiveMatmulT(ref, a, b, s, s, s),
    check: () => { if (!out.every((v, i) => v === ref[i])) throw new Error(`matmulT ${s}³: optimized result differs from naive`); },
  });
}

const selected = cases.filter((c) => `${c.kernel} ${c.shape}`.includes(flags.filter));
if (selected.length === 0) throw new Error(`kernels.bench: --filter "${flags.filter}" matches no case`);

interface Row { kernel: string; shape: string; gflops: number; naiveGflops: number; speedup: number; medianMs: number; naiveMedianMs: number; rmePercent: number }
const rows: Row[] = [];
const started = Date.now();
for (const c of selected) {
  // Fast and naive share one Bench so they run back to back under the same machine load.
  const bench = new Bench({ time: timeMs, iterations: Math.min(5, Math.ceil(timeMs)), warmupTime: Math.min(50, timeMs), warmupIterations: 2 });
  bench.add('fast', c.fast).add('naive', c.naive);
  await bench.run();
  c.check();
  const [fast, naive] = bench.tasks.map((t) => t.result);
  if (fast?.state !== 'completed' || naive?.state !== 'completed') throw new Error(`${c.kernel} ${c.shape}: benchmark did not complete`);
  const gflops = c.flops / (fast.latency.p50 * 1e6), naiveGflops = c.flops / (naive.latency.p50 * 1e6);
  rows.push({ kernel: c.kernel, shape: c.shape, gflops, naiveGflops, speedup: gflops / naiveGflops,
    medianMs: fast.latency.p50, naiveMedianMs: naive.latency.p50, rmePercent: fast.latency.rme });
}

const fmt = (v: number, d = 2) => v.toFixed(d);
console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} ×${cpus().length}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}, one thread`);
console.log('| kernel | shape | GFLOP/s | naive GFLOP/s | speedup | median ms |');
console.log('|---|---|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.kernel} | ${r.shape} | ${fmt(r.gflops)} | ${fmt(r.naiveGflops)} | ${fmt(r.speedup)}× | ${fmt(r.medianMs, 3)} |`);
console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);

mkdirSync(dirname(resolve(flags.json)), { recursive: true });
writeFileSync(resolve(flags.json), JSON.stringify({
  date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, loadavg: loadavg(),
  timePerTaskMs: timeMs, statistic: 'median latency', rows,
}, null, 2) + '\n');
console.log(`wrote ${resolve(flags.json)}`);
