// The Node side of the speed test, run as its own process from an esbuild bundle (as the page's
// worker is bundled), so neither side pays for a TypeScript loader: loads the model on wasm with
// the given threads, then for each line "N" on stdin decodes N greedy tokens after a two-token
// prompt and prints the tokens per second of the decode (prefill not timed, as the page times it),
// by wall time and by the main thread's CPU time (Linux /proc).
// Usage (bundled): node node-decode.mjs MODEL THREADS
import { createInterface } from 'node:readline';
import { createWasmBackend } from '@msrnn/tensor';
import { argmax, createState, loadModel, prefill, step } from '@msrnn/transformer';
import { threadCpuNs } from './thread-cpu.js';

const [modelPath, threadsArg] = process.argv.slice(2);
if (!modelPath || !threadsArg) throw new Error('usage: node-decode MODEL THREADS');
const backend = await createWasmBackend({ threads: Number(threadsArg) });
const model = await loadModel(modelPath, { backend });
const logitsOut = backend.alloc(model.config.vocabSize);

/** Tokens per second of wall time and of the decoding (main) thread's CPU time. */
function decode(steps: number): [number, number] {
  const state = createState(model);
  let logits = prefill(model, state, [1, 403], { logitsOut });
  const t0 = performance.now(), cpu0 = threadCpuNs(process.pid);
  for (let i = 0; i < steps; i++) logits = step(model, state, argmax(logits), logitsOut);
  return [steps / ((performance.now() - t0) / 1000), steps / ((threadCpuNs(process.pid) - cpu0) / 1e9)];
}

console.log('ready');
for await (const line of createInterface({ input: process.stdin })) {
  const steps = Number(line);
  if (!Number.isInteger(steps) || steps <= 0) break;
  console.log(decode(steps).map((x) => x.toFixed(1)).join(' '));
}
await backend.dispose();
