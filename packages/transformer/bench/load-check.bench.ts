// What the load-time check for Inf/NaN weights (src/finite-tensor.ts) costs: each file loaded
// `--rounds` times on a one-thread wasm backend, into a fresh backend (as `msrnn bench` times a
// load: the heap's pages are new) and into a reused heap (the model disposed, its memory taken by
// the next load), timing the whole load and, in the same loads, the scans themselves (the
// backend's findNonFiniteGgml, wrapped), so the share is a same-run ratio.
// Usage (from the repository root; `msrnn bench --shapes smollm2-135m --weights q4_k_m` writes such files):
//   node scripts/run-ts.mjs packages/transformer/bench/load-check.bench.ts --model FILE,... [--rounds N]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createWasmBackend, type WasmBackend } from '@msrnn/tensor';
import { loadModel } from '../src/index.js';

const { values } = parseArgs({ options: { model: { type: 'string' }, rounds: { type: 'string', default: '9' } } });
if (!values.model) throw new Error('--model FILE,... is required');
const rounds = Number(values.rounds);
if (!(Number.isInteger(rounds) && rounds > 0)) throw new RangeError(`--rounds must be a positive integer, got ${values.rounds}`);

/** The backend with its scan timed: `scanMs` adds up the time spent in it. */
function timed(backend: WasmBackend): { backend: WasmBackend; scanMs: () => number } {
  const scan = backend.findNonFiniteGgml.bind(backend);
  let ms = 0;
  backend.findNonFiniteGgml = (type, bytes) => {
    const t0 = performance.now();
    try { return scan(type, bytes); } finally { ms += performance.now() - t0; }
  };
  return { backend, scanMs: () => ms };
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const reused = timed(await createWasmBackend({ threads: 1 }));
console.log(`load and scan times in ms, median of ${rounds} (first round of each kind dropped); load average ${loadavg()[0]!.toFixed(1)} at the start`);
for (const path of values.model.split(',')) {
  for (const kind of ['fresh backend', 'reused heap'] as const) {
    const loads: number[] = [], scans: number[] = [], shares: number[] = [];
    for (let r = 0; r <= rounds; r++) {
      const t = kind === 'fresh backend' ? timed(await createWasmBackend({ threads: 1 })) : reused;
      const scan0 = t.scanMs(), t0 = performance.now();
      const model = await loadModel(path, { backend: t.backend });
      const load = performance.now() - t0, scan = t.scanMs() - scan0;
      model.dispose();
      if (kind === 'fresh backend') await t.backend.dispose();
      if (r === 0) continue; // JIT warm-up
      loads.push(load); scans.push(scan); shares.push(scan / load);
    }
    console.log(`${path.split('/').pop()} (${kind}): load ${median(loads).toFixed(1)}, of which the scans ${median(scans).toFixed(2)} (${(100 * median(shares)).toFixed(1)} %)`);
  }
}
await reused.backend.dispose();
console.log(`load average ${loadavg()[0]!.toFixed(1)} at the end`);
