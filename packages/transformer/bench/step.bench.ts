// Tokens per second of step (unbounded and bounded) and of chunked prefill, measured in one run so
// the ratios are comparable even on a busy machine. Each figure is the best of `--repeats` runs.
// Run: node scripts/run-ts.mjs packages/transformer/bench/step.bench.ts [--model FILE] [--tokens N]
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getPolicy } from '@msrnn/policies';
import { createWasmBackend, jsBackend, type Backend } from '@msrnn/tensor';
import { argmax, createState, loadModel, prefill, step, type CreateStateOptions, type Model } from '../src/index.js';

const { values } = parseArgs({
  options: { model: { type: 'string' }, backend: { type: 'string', default: 'both' }, tokens: { type: 'string', default: '512' }, repeats: { type: 'string', default: '5' } },
});
const modelPath = values.model ?? resolve(import.meta.dirname, '../../../../shared/models/stories260K.bin');
const n = Number(values.tokens), repeats = Number(values.repeats);

function best(fn: () => void): number {
  let bestMs = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    fn();
    bestMs = Math.min(bestMs, performance.now() - t0);
  }
  return (n / bestMs) * 1000;
}

function greedySteps(m: Model, opts: CreateStateOptions): () => void {
  return () => {
    const state = createState(m, opts);
    let token = 1;
    for (let i = 0; i < n; i++) token = argmax(step(m, state, token));
  };
}

async function benchBackend(backend: Backend): Promise<[string, number][]> {
  const model = await loadModel(modelPath, { backend });
  const prompt = Array.from({ length: n }, (_, i) => 3 + ((i * 37) % (model.config.vocabSize - 3)));
  return [
    [`${backend.name}: step, unbounded (${n} tokens)`, best(greedySteps(model, {}))],
    [`${backend.name}: step, window k=32`, best(greedySteps(model, { policy: getPolicy('window', { capacity: 32 }) }))],
    [`${backend.name}: step, window k=32, reindex`, best(greedySteps(model, { policy: getPolicy('window', { capacity: 32 }), positionMode: 'reindex' }))],
    [`${backend.name}: prefill ${n}, chunk 1`, best(() => prefill(model, createState(model), prompt, { chunkSize: 1 }))],
    [`${backend.name}: prefill ${n}, chunk 64`, best(() => prefill(model, createState(model), prompt, { chunkSize: 64 }))],
  ];
}

const which = values.backend;
if (!['js', 'wasm', 'both'].includes(which)) throw new Error(`--backend must be js, wasm or both, got "${which}"`);
const rows: [string, number][] = [];
if (which !== 'wasm') rows.push(...await benchBackend(jsBackend));
if (which !== 'js') rows.push(...await benchBackend(await createWasmBackend()));
console.log(`${modelPath}, best of ${repeats}; ratios vs the first row`);
for (const [what, tps] of rows) console.log(`${what.padEnd(44)} ${tps.toFixed(0).padStart(7)} tok/s  (${(tps / rows[0]![1]).toFixed(2)}x)`);
