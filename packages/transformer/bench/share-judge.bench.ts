// What the thread pool's split judge is worth: decode tok/s of one model file on 1 thread, on 2
// threads as shipped (the caller stops sharing jobs that do not pay), and on 2 threads that share
// every job (alwaysShare), in interleaved rounds (best kept).
//
//   node scripts/run-ts.mjs packages/transformer/bench/share-judge.bench.ts MODEL.gguf [seconds=3] [rounds=5]
// More, shorter rounds make the best round likelier to fall in a minute when the other core was free.
import { loadavg } from 'node:os';
import { createWasmBackend } from '@msrnn/tensor';
import { createState, loadModel, prefill, step } from '../src/index.js';

const file = process.argv[2], seconds = Number(process.argv[3] ?? 3), rounds = Number(process.argv[4] ?? 5);
if (!file) throw new Error('share-judge.bench: give a model file (e.g. .bench/models/random-smollm2-135m-q8.gguf, written by msrnn bench --shapes smollm2-135m)');
if (!(seconds > 0 && seconds < 600)) throw new Error(`share-judge.bench: seconds must be in (0, 600), got ${process.argv[3]}`);
if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 1000)) throw new Error(`share-judge.bench: rounds must be a whole number from 1 to 1000, got ${process.argv[4]}`);
const configs = [
  { name: '1 thread', backend: await createWasmBackend({ threads: 1 }) },
  { name: '2 threads (judged)', backend: await createWasmBackend({ threads: 2 }) },
  { name: '2 threads, every job shared', backend: await createWasmBackend({ threads: 2, alwaysShare: true }) },
];
const runs = [];
for (const c of configs) {
  const model = await loadModel(file, { backend: c.backend });
  const state = createState(model);
  prefill(model, state, [1, 2, 3, 4, 5, 6, 7, 8]);
  let token = 3;
  runs.push({ name: c.name, step: () => { step(model, state, token); token = (token * 7 + 13) % 1000 + 2; }, best: 0 });
}
for (let round = 0; round < rounds; round++) for (const r of runs) {
  await new Promise((done) => setTimeout(done, 30)); // an idle worker spins up to 20 ms: not into the next round
  let n = 0;
  const t0 = performance.now();
  do { r.step(); n++; } while (performance.now() - t0 < (seconds * 1000) / rounds);
  r.best = Math.max(r.best, n / ((performance.now() - t0) / 1000));
}
for (const r of runs) console.log(`${r.name}: ${r.best.toFixed(1)} tok/s (${(r.best / runs[0]!.best).toFixed(3)}× 1 thread)`);
console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
for (const c of configs) await c.backend.dispose();
