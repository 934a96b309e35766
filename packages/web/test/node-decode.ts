// The Node side of the speed test, run as its own process from an esbuild bundle (as the page's
// worker is bundled), so neither side pays for a TypeScript loader: loads the model on wasm with
// the given threads, then for each line "N" on stdin decodes N greedy tokens after a two-token
// prompt (decode-loop.ts) and prints the tokens per second of the decode, by wall time and by the
// main thread's CPU time (Linux /proc).
// Usage (bundled): node node-decode.mjs MODEL THREADS
import { createInterface } from 'node:readline';
import { createWasmBackend } from '@msrnn/tensor';
import { loadModel } from '@msrnn/transformer';
import { timedDecode } from './decode-loop.js';
import { threadCpuNs } from './thread-cpu.js';

const [modelPath, threadsArg] = process.argv.slice(2);
if (!modelPath || !threadsArg) throw new Error('usage: node-decode MODEL THREADS');
const backend = await createWasmBackend({ threads: Number(threadsArg) });
const model = await loadModel(modelPath, { backend });
const logitsOut = backend.alloc(model.config.vocabSize);

console.log('ready');
for await (const line of createInterface({ input: process.stdin })) {
  const steps = Number(line);
  if (!Number.isInteger(steps) || steps <= 0) break;
  const { ms, cpuNs } = timedDecode(model, logitsOut, steps, () => threadCpuNs(process.pid));
  console.log(`${(steps / (ms / 1000)).toFixed(1)} ${(steps / (cpuNs / 1e9)).toFixed(1)}`);
}
await backend.dispose();
