// One attention head over entries stored as f32, f16 or q8 (keys and values of one type), on the
// wasm SIMD kernels and the pure-TS ones: microseconds per head and the ratio to f32 in the same
// run. Cases run in alternating short batches and each keeps its fastest batch (on a shared
// machine the fastest batch is the one no other job interrupted).
//
//   node scripts/run-ts.mjs packages/tensor/bench/kv-attention.bench.ts [--time MS]
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { KV_TYPES, KvRows, attendHeadKv, createWasmBackend, jsBackend, type Backend, type KvType } from '@msrnn/tensor';
import { randomArray, rng } from '../test/helpers.js';

const { values: flags } = parseArgs({ options: { time: { type: 'string', default: '400' } } });
const timeMs = Number(flags.time);
if (!(timeMs > 0)) throw new Error(`kv-attention.bench: --time must be a positive number of ms, got ${flags.time}`);

const HEAD_DIM = 64;
const COUNTS = timeMs < 50 ? [256] : [256, 2048, 8192];

function head(backend: Backend, type: KvType, count: number): () => void {
  const rand = rng(count), alloc = (n: number) => backend.alloc(n);
  const keys = new KvRows(type, HEAD_DIM, count, alloc), values = new KvRows(type, HEAD_DIM, count, alloc);
  for (let i = 0; i < count; i++) { keys.write(i, randomArray(rand, HEAD_DIM), 0); values.write(i, randomArray(rand, HEAD_DIM), 0); }
  const q = alloc(HEAD_DIM), out = alloc(HEAD_DIM), att = alloc(count);
  q.set(randomArray(rand, HEAD_DIM));
  return () => attendHeadKv(backend, out, 0, q, 0, keys, values, count, HEAD_DIM, 0.125, att, 0);
}

/** Fastest seconds per call of each case, batches of ~2 ms alternating over the cases for timeMs each. */
function fastest(cases: (() => void)[]): number[] {
  const perBatch = cases.map((call) => {
    let n = 0;
    for (const t0 = performance.now(); performance.now() - t0 < 2; n++) call();
    return Math.max(1, n);
  });
  const best = cases.map(() => Infinity);
  for (const end = performance.now() + timeMs * cases.length; performance.now() < end;) {
    cases.forEach((call, k) => {
      const t0 = performance.now();
      for (let i = 0; i < perBatch[k]!; i++) call();
      best[k] = Math.min(best[k]!, (performance.now() - t0) / 1000 / perBatch[k]!);
    });
  }
  return best;
}

const load0 = loadavg()[0]!;
const wasm = await createWasmBackend({ initialBytes: 64 << 20 });
console.log(`| backend | entries | ${KV_TYPES.map((t) => `${t} µs`).join(' | ')} | ${KV_TYPES.slice(1).map((t) => `${t} / f32 time`).join(' | ')} |`);
console.log(`|---|---:|${KV_TYPES.map(() => '---:').join('|')}|${KV_TYPES.slice(1).map(() => '---:').join('|')}|`);
for (const backend of [wasm, jsBackend] as Backend[]) {
  for (const count of COUNTS) {
    const t = fastest(KV_TYPES.map((type) => head(backend, type, count)));
    console.log(`| ${backend.name} | ${count} | ${t.map((s) => (s * 1e6).toFixed(1)).join(' | ')} | ${t.slice(1).map((s) => (s / t[0]!).toFixed(2)).join(' | ')} |`);
  }
}
console.log(`\nhead dim ${HEAD_DIM}; ${cpus().length} cores, load average ${load0.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end`);
await wasm.dispose();
