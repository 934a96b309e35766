// The Node side of the speed test, run as its own process from an esbuild bundle (as the page's
// worker is bundled), so neither side pays for a TypeScript loader: loads the model on wasm with
// the given threads, then for each line "N" on stdin decodes N greedy tokens after a two-token
// prompt and prints the tokens per second of the decode (prefill not timed, as the page times it).
// Usage (bundled): node node-decode.mjs MODEL THREADS
import { createInterface } from 'node:readline';
import { createWasmBackend } from '@msrnn/tensor';
import { argmax, createState, loadModel, prefill, step } from '@msrnn/transformer';

const [modelPath, threadsArg] = process.argv.slice(2);
if (!modelPath || !threadsArg) throw new Error('usage: node-decode MODEL THREADS');
const backend = await createWasmBackend({ threads: Number(threadsArg) });
const model = await loadModel(modelPath, { backend });
const logitsOut = backend.alloc(model.config.vocabSize);

function decode(steps: number): number {
  const state = createState(model);
  let logits = prefill(model, state, [1, 403], { logitsOut });
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) logits = step(model, state, argmax(logits), logitsOut);
  return steps / ((performance.now() - t0) / 1000);
}

console.log('ready');
for await (const line of createInterface({ input: process.stdin })) {
  const steps = Number(line);
  if (!Number.isInteger(steps) || steps <= 0) break;
  console.log(decode(steps).toFixed(1));
}
await backend.dispose();
