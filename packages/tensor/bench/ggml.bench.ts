// GFLOP/s and weight GB/s of the wasm matvecs on ggml blocks, every supported type, 1 and 2
// threads, weights in cache (576×1536, one matrix reused) and streaming from memory (2048×5632,
// copies cycled through so that ≥ 128 MiB of weights pass per round, far beyond the caches).
// The f32 kernel runs in the same process beside them: the ratio column is the number to trust
// on a shared machine.
//
//   node scripts/run-ts.mjs packages/tensor/bench/ggml.bench.ts [--time MS] [--filter TEXT] [--threads 1,2]
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createWasmBackend, ggmlTypeInfo, ggmlWeights, matvecWeights, GGML_TYPES, type GgmlWeights, type WasmBackend } from '@msrnn/tensor';
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
const shapes = [{ rows: 576, cols: 1536, stream: false }, { rows: 2048, cols: 5632, stream: true }];
const types = GGML_TYPES.filter((t) => t.supported && `${t.name}`.includes(flags.filter));

/**
 * Median seconds per call of fn(i) (i counts calls), over batches filling timeMs: wall-clock, and
 * this process's CPU time (user + system, all threads) — on a loaded machine the CPU time is
 * closer to what a quiet core gives, since descheduled time does not count.
 */
function measure(fn: (i: number) => void): { wall: number; cpu: number } {
  let calls = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 30) fn(calls++); // warm-up
  const per = Math.max(1, Math.round(calls / 30 * (timeMs / 15))); // ~15 batches
  const wall: number[] = [], cpu: number[] = [];
  const end = performance.now() + timeMs;
  while (wall.length < 5 || performance.now() < end) {
    const s = performance.now(), c = process.cpuUsage();
    for (let k = 0; k < per; k++) fn(calls++);
    const dc = process.cpuUsage(c);
    wall.push((performance.now() - s) / 1000 / per);
    cpu.push((dc.user + dc.system) / 1e6 / per);
  }
  const median = (a: number[]) => a.sort((p, q) => p - q)[a.length >> 1]!;
  return { wall: median(wall), cpu: median(cpu) };
}

interface Row { type: string; shape: string; threads: number; gflops: number; gbs: number; vsF32: number; cpuGflops: number; cpuVsF32: number }
const rows: Row[] = [];
const started = new Date();
const load0 = loadavg()[0]!;

for (const { rows: R, cols: C, stream } of shapes) {
  for (const threads of threadCounts) {
    let f32Gflops = 0, f32Cpu = 0;
    for (const t of [ggmlTypeInfo(0), ...types.filter((x) => x.id !== 0)]) {
      // A fresh backend per case: the wasm heap never frees, and streaming copies are large.
      const b: WasmBackend = await createWasmBackend({ threads, initialBytes: 64 << 20 });
      const rand = rng(R + C + t.id);
      const bytes = randomGgmlMatrix(rand, t.id, R, C);
      const copies = stream ? Math.max(2, Math.ceil(STREAM_BYTES / bytes.length)) : 1;
      const ws: GgmlWeights[] = [];
      for (let c = 0; c < copies; c++) ws.push(ggmlWeights(t.id, R, C, bytes, b));
      const x = b.alloc(C), out = b.alloc(R);
      for (let i = 0; i < C; i++) x[i] = rand() * 2 - 1;
      const { wall, cpu } = measure((i) => matvecWeights(b, out, 0, ws[i % copies]!, x, 0));
      await b.dispose();
      const gflops = 2 * R * C / wall / 1e9, cpuGflops = 2 * R * C / cpu / 1e9;
      if (t.id === 0) { f32Gflops = gflops; f32Cpu = cpuGflops; }
      rows.push({
        type: t.name, shape: `${R}×${C}${stream ? ' stream' : ''}`, threads, gflops, gbs: bytes.length / wall / 1e9, vsF32: gflops / f32Gflops,
        cpuGflops, cpuVsF32: cpuGflops / f32Cpu,
      });
      process.stderr.write('.');
    }
  }
}
process.stderr.write('\n');

console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} ×${cpus().length}, ${started.toISOString().slice(0, 16)} UTC, load average ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`);
console.log('| type | shape | threads | GFLOP/s | weight GB/s | × f32 kernel | GFLOP/s per CPU-second | × f32 (CPU time) |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.type} | ${r.shape} | ${r.threads} | ${r.gflops.toFixed(1)} | ${r.gbs.toFixed(1)} | ${r.vsF32.toFixed(2)} | ${r.cpuGflops.toFixed(1)} | ${r.cpuVsF32.toFixed(2)} |`);
}
