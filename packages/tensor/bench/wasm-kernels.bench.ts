// GFLOP/s of the hot kernels on the pure-TS backend, the wasm SIMD backend (1 and 2 threads) and
// the wasm fp16/Q8 matvecs, all measured in one run (ratios are what to trust on a shared machine).
//
//   node scripts/run-ts.mjs packages/tensor/bench/wasm-kernels.bench.ts [--time MS]
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Bench } from 'tinybench';
import { createWasmBackend, jsBackend, quantizeF16, quantizeQ8, type Backend, type WasmBackend } from '@msrnn/tensor';

const { values: flags } = parseArgs({ options: { time: { type: 'string', default: '300' } } });
const time = Number(flags.time);
if (!(time > 0)) throw new Error(`wasm-kernels.bench: --time must be a positive number of ms, got ${flags.time}`);

function fill(a: Float32Array, seed: number): Float32Array {
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = s / 2 ** 31 - 1; }
  return a;
}

const wasm1 = await createWasmBackend();
const wasm2 = await createWasmBackend({ threads: 2 });
const backends: [string, Backend][] = [['js', jsBackend], ['wasm', wasm1], ['wasm×2', wasm2]];
// A short --time (a smoke run, as the README test makes) also shortens the warm-up and the minimum iterations.
const bench = new Bench({ time, warmupTime: Math.min(50, time), iterations: Math.min(64, Math.ceil(time)), warmupIterations: Math.min(16, Math.ceil(time)) });
const flopsOf = new Map<string, number>();
const add = (name: string, flops: number, fn: () => void) => { flopsOf.set(name, flops); bench.add(name, fn); };

for (const [rows, cols] of [[288, 288], [768, 288], [32000, 288]] as const) {
  for (const [bn, b] of backends) {
    const w = fill(b.alloc(rows * cols), rows), x = fill(b.alloc(cols), 3), out = b.alloc(rows);
    add(`matvec ${rows}×${cols} f32 ${bn}`, 2 * rows * cols, () => b.matvec(out, 0, w, 0, x, 0, rows, cols));
    if (bn === 'js') continue;
    const wb = b as WasmBackend;
    const h = quantizeF16(w, 0, rows, cols, wb), q = quantizeQ8(w, 0, rows, cols, wb);
    add(`matvec ${rows}×${cols} f16 ${bn}`, 2 * rows * cols, () => wb.matvecF16(out, 0, h.bits, 0, x, 0, rows, cols));
    add(`matvec ${rows}×${cols} q8 ${bn}`, 2 * rows * cols, () => wb.matvecQ8(out, 0, q.q, 0, q.scales, 0, x, 0, rows, cols));
  }
}
for (const [m, n, k] of [[64, 768, 288], [64, 288, 768]] as const) {
  for (const [bn, b] of backends) {
    const a = fill(b.alloc(m * k), 1), w = fill(b.alloc(n * k), 2), out = b.alloc(m * n);
    add(`matmulT ${m}×${n}×${k} ${bn}`, 2 * m * n * k, () => b.matmulT(out, a, w, 0, m, n, k));
  }
}
for (const count of [256, 8192]) {
  for (const [bn, b] of backends.slice(0, 2)) {
    const hd = 48, q = fill(b.alloc(hd), 1), keys = fill(b.alloc(count * hd), 2), values = fill(b.alloc(count * hd), 3);
    const out = b.alloc(hd), att = b.alloc(count);
    add(`attendHead ${count}×${hd} ${bn}`, 4 * count * hd, () => b.attendHead(out, 0, q, 0, keys, values, count, hd, 0.144, att, 0));
  }
}

await bench.run();
await wasm2.dispose();
console.log(`| kernel | GFLOP/s | median µs |`);
console.log(`|---|---:|---:|`);
for (const t of bench.tasks) {
  const r = t.result as { latency?: { p50?: number } } | undefined;
  const ms = r?.latency?.p50;
  if (ms === undefined) continue;
  console.log(`| ${t.name} | ${(flopsOf.get(t.name)! / (ms / 1000) / 1e9).toFixed(2)} | ${(ms * 1000).toFixed(1)} |`);
}
console.log(`\n${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)} at the end (shared machine: compare rows of one run).`);
