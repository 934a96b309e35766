// The wasm ggml block kernels of this checkout against an older one's, in ONE process: the same
// random matrix (`--cases TYPE:ROWSxCOLS,...`) in each side's backend, cycled through copies of at
// least `--stream-mb` MiB so the weights come from memory (0: one copy, in cache), timed in
// alternating batches by this process's CPU time (a loaded machine slows both alike), best batch
// each. Prints GFLOP/s old and new, new/old, and the largest |old − new| output difference.
// --loader-layout: each side lays the matrix out as its GGUF loader would on wasm (the four-rows
// layout, @msrnn/tensor quant/rows4.ts, where that side's rows4Suits takes it), so a new layout is
// measured against the old side's.
// Usage (from the repository root):
//   mkdir -p .bench/old && git archive <commit> packages | tar -x -C .bench/old
//   node scripts/run-ts.mjs packages/transformer/bench/ggml-ab.bench.ts --old .bench/old [--cases Q5_0:1536x576,...] [--stream-mb 64] [--time MS] [--loader-layout]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadSides } from './old-tree.js';
import { randomGgmlMatrix } from '../../tensor/test/ggml-helpers.js';
import { rng } from '../../tensor/test/helpers.js';

const { values } = parseArgs({
  options: {
    old: { type: 'string' },
    cases: { type: 'string', default: 'Q5_0:1536x576,Q8_0:49152x576,Q4_0:1536x576,Q4_K:576x1536,Q6_K:576x1536' },
    'stream-mb': { type: 'string', default: '64' }, time: { type: 'string', default: '3000' }, 'loader-layout': { type: 'boolean', default: false },
  },
});
if (!values.old) throw new Error('--old DIR (an older checkout\'s packages/, see the usage comment) is required');
const streamBytes = Number(values['stream-mb']) * 2 ** 20, timeMs = Number(values.time);
if (!(streamBytes >= 0)) throw new RangeError(`--stream-mb must be a number of MiB ≥ 0, got ${values['stream-mb']}`);
if (!(timeMs > 0)) throw new RangeError(`--time must be a positive number of ms, got ${values.time}`);
const sides = await loadSides(values.old);
const { GGML } = sides[1].tensor;

console.log(`load average ${loadavg()[0]!.toFixed(2)}; best batch by CPU time, old and new alternating, ${timeMs} ms per case`);
for (const spec of values.cases!.split(',')) {
  const m = /^(\w+):(\d+)x(\d+)$/.exec(spec);
  const type = m ? (GGML as Record<string, number>)[m[1]!] : undefined;
  if (!m || type === undefined) throw new RangeError(`--cases: "${spec}" is not TYPE:ROWSxCOLS with a ggml type name (Q5_0:1536x576)`);
  const rows = Number(m[2]), cols = Number(m[3]);
  const bytes = randomGgmlMatrix(rng(2), type, rows, cols);
  const copies = Math.max(1, Math.ceil(streamBytes / bytes.length));
  const runs = await Promise.all(sides.map(async ({ tensor: t }) => {
    const backend = await t.createWasmBackend({ initialBytes: 64 << 20 });
    // The loader's layout: repacked once, copied into each copy (ggmlWeights checks the plain blocks).
    const packed = values['loader-layout'] && backend.rows4Types?.includes(type) && t.rows4Suits(type, rows, cols) ? bytes.slice() : undefined;
    if (packed) t.packRows4(type, packed, rows, cols);
    const weights = Array.from({ length: copies }, () => {
      const w = t.ggmlWeights(type, rows, cols, bytes, backend);
      if (packed) w.data.set(packed);
      return packed ? { ...w, layout: 'rows4' as const } : w;
    });
    const x = backend.alloc(cols), out = backend.alloc(rows), r = rng(3);
    for (let i = 0; i < cols; i++) x[i] = r() * 2 - 1;
    let next = 0;
    return { backend, out, best: Infinity, layout: packed ? 'rows4' : 'plain', call: () => t.matvecWeights(backend, out, 0, weights[next++ % copies]!, x, 0) };
  }));
  for (const run of runs) for (let i = 0; i < 100; i++) run.call(); // warm-up (tier-up, caches)
  let maxDiff = 0;
  for (let i = 0; i < rows; i++) maxDiff = Math.max(maxDiff, Math.abs(runs[0]!.out[i]! - runs[1]!.out[i]!));
  const perBatch = Math.max(1, Math.round(1e7 / (rows * cols)));
  for (const end = performance.now() + timeMs; performance.now() < end;) {
    for (const run of runs) {
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < perBatch; i++) run.call();
      const cpu = process.cpuUsage(cpu0);
      run.best = Math.min(run.best, (cpu.user + cpu.system) / 1e6 / perBatch);
    }
  }
  const gflops = (s: number) => (2 * rows * cols) / s / 1e9;
  const [o, n] = runs.map((run) => gflops(run.best));
  const layouts = values['loader-layout'] ? ` (${runs.map((run) => run.layout).join(' → ')})` : '';
  console.log(`${spec.padEnd(18)} ${copies > 1 ? `streaming (${copies} copies)` : 'in cache'}${layouts}: old ${o!.toFixed(1)} new ${n!.toFixed(1)} GFLOP/s, new/old ${(n! / o!).toFixed(3)}, max |old − new| ${maxDiff.toExponential(1)}`);
  for (const run of runs) await run.backend.dispose();
}
