// The wasm attention kernels of this checkout against an older one, in ONE process, old and new
// alternating round by round, GFLOP/s by CPU time (best round): a prompt chunk's causal attention
// (attendCausal: 128 query rows after 0, 128 and 384 cached entries) and a decode step's heads
// (attendHead: 9 query heads over 3 KV heads, as SmolLM2-135M, at several entry counts; the larger
// ones come from memory, not cache), also as the layer runs them (deferAttendHeadKv + runDeferredHeads:
// since the grouped heads, each KV head's 3 queries in one pass) over f32, f16 and q8 entries.
// FLOPs: 4·headDim per (query, entry) pair, scores and value sums.
// Usage (from the repository root):
//   mkdir -p .bench/old && git archive <commit> packages | tar -x -C .bench/old
//   node scripts/run-ts.mjs packages/transformer/bench/attention-ab.bench.ts --old .bench/old [--head-dim 64] [--entries 64,512,8192,32768] [--rounds 5] [--time MS]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { WasmBackend } from '@msrnn/tensor';
import { loadSides, type Side } from './old-tree.js';

const { values } = parseArgs({
  options: {
    old: { type: 'string' }, 'head-dim': { type: 'string', default: '64' }, entries: { type: 'string', default: '64,512,8192,32768' },
    rounds: { type: 'string', default: '5' },
    // CPU time per measurement (ms); under 1000 a smoke run (one round, small counts).
    time: { type: 'string', default: '150' },
  },
});
if (!values.old) throw new Error('--old DIR (an older checkout\'s packages/, see the usage comment) is required');
const hd = Number(values['head-dim']), time = Number(values.time), smoke = time < 100;
const rounds = smoke ? 1 : Number(values.rounds);
const entries = values.entries!.split(',').map(Number).map((n) => (smoke ? Math.min(n, 256) : n));
if (!(Number.isInteger(hd) && hd > 0 && hd % 4 === 0)) throw new RangeError(`--head-dim must be a positive multiple of 4, got ${values['head-dim']}`);
if (!(time > 0)) throw new RangeError(`--time must be a positive number of ms, got ${values.time}`);
if (!(Number.isInteger(rounds) && rounds > 0)) throw new RangeError(`--rounds must be a positive integer, got ${values.rounds}`);
for (const n of entries) if (!(Number.isInteger(n) && n > 0)) throw new RangeError(`--entries: "${values.entries}" must list positive entry counts`);

let seed = 1;
const fill = (a: Float32Array) => { for (let i = 0; i < a.length; i++) { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; a[i] = seed / 2 ** 32 - 0.5; } };

interface Case { label: string; flops: number; run: (() => void)[] }
/** The cases, each with one runner per side (the same inputs in each side's own wasm memory). */
function cases(backends: WasmBackend[], sides: Side[]): Case[] {
  const out: Case[] = [];
  const rows = smoke ? 8 : 128;
  for (const prior of smoke ? [0, 16] : [0, 128, 384]) {
    const qStride = 9 * hd, cStride = 3 * hd, aStride = prior + rows;
    out.push({
      label: `attendCausal: ${rows} rows after ${prior} entries`, flops: 4 * hd * (rows * prior + (rows * (rows + 1)) / 2),
      run: backends.map((b) => {
        const q = b.alloc(rows * qStride), keys = b.alloc(Math.max(1, prior) * hd), values = b.alloc(Math.max(1, prior) * hd);
        const ck = b.alloc(rows * cStride), cv = b.alloc(rows * cStride), o = b.alloc(rows * qStride), att = b.alloc(rows * aStride);
        for (const a of [q, keys, values, ck, cv]) fill(a);
        return () => { b.attendCausal(o, 0, qStride, q, 0, qStride, rows, keys, values, prior, ck, cv, 0, cStride, hd, 0.125, att, 0, aStride); };
      }),
    });
  }
  for (const count of entries) {
    out.push({
      label: `attendHead: 9 heads over 3 KV heads, ${count} entries`, flops: 9 * 4 * hd * count,
      run: backends.map((b) => {
        const heads = Array.from({ length: 3 }, () => { const k = b.alloc(count * hd), v = b.alloc(count * hd); fill(k); fill(v); return [k, v] as const; });
        const q = b.alloc(hd), o = b.alloc(hd), att = b.alloc(count);
        fill(q);
        return () => { for (const [k, v] of heads) for (let g = 0; g < 3; g++) b.attendHead(o, 0, q, 0, k, v, count, hd, 0.125, att, 0); };
      }),
    });
    for (const type of ['f32', 'f16', 'q8'] as const) {
      out.push({
        label: `deferred heads, ${type} entries: 9 over 3 KV heads, ${count} entries`, flops: 9 * 4 * hd * count,
        run: backends.map((b, side) => {
          const { KvRows, deferAttendHeadKv, runDeferredHeads } = sides[side]!.tensor;
          const rows = () => { const r = new KvRows(type, hd, count, (n: number) => b.alloc(n)), x = new Float32Array(hd); for (let i = 0; i < count; i++) { fill(x); r.write(i, x, 0); } return r; };
          const heads = Array.from({ length: 3 }, () => [rows(), rows()] as const);
          const q = b.alloc(9 * hd), o = b.alloc(9 * hd), att = b.alloc(9 * count);
          fill(q);
          return () => {
            heads.forEach(([k, v], h) => { for (let g = 0; g < 3; g++) deferAttendHeadKv(b, o, (3 * h + g) * hd, q, (3 * h + g) * hd, k, v, count, hd, 0.125, att, (3 * h + g) * count); });
            runDeferredHeads(b);
          };
        }),
      });
    }
  }
  return out;
}

const sides = await loadSides(values.old);
const backends = await Promise.all(sides.map((s) => s.tensor.createWasmBackend({ initialBytes: 256 << 20 }) as Promise<WasmBackend>));
const all = cases(backends, sides);
const best = all.map(() => [0, 0]);
for (let r = 0; r < rounds; r++) {
  all.forEach((c, ci) => {
    for (const side of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const run = c.run[side]!;
      run();
      const c0 = process.cpuUsage();
      let reps = 0, us = 0;
      do { run(); reps++; const u = process.cpuUsage(c0); us = u.user + u.system; } while (us < time * 1000);
      best[ci]![side] = Math.max(best[ci]![side]!, (c.flops * reps) / (us / 1e6) / 1e9);
    }
  });
}
console.log(`head size ${hd}, GFLOP/s by CPU time, best of ${rounds} alternating rounds; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log('| case | old | new | new/old |\n|---|---:|---:|---:|');
all.forEach((c, ci) => { const [o, n] = best[ci]!; console.log(`| ${c.label} | ${o!.toFixed(1)} | ${n!.toFixed(1)} | ${(n! / o!).toFixed(3)} |`); });
await Promise.all(backends.map((b) => b.dispose()));
