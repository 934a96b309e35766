// The Node side of the speed test, run as its own process from an esbuild bundle (as the page's
// worker is bundled), so neither side pays for a TypeScript loader: loads the model on wasm with
// the given threads, then for each line "N" on stdin decodes N greedy tokens after the prompt's
// tokens (decode-loop.ts) and prints a JSON line: tokens per second of the decode by wall time and
// by the main thread's CPU time (Linux /proc), the tokens, and the jobs shared with the workers (decode-loop.ts).
// Usage (bundled): node node-decode.mjs MODEL THREADS PROMPT_TOKENS (comma-separated ids)
import { createInterface } from 'node:readline';
import { createWasmBackend } from '@msrnn/tensor';
import { loadModel } from '@msrnn/transformer';
import { timedDecode } from './decode-loop.js';
import { threadCpuNs } from './thread-cpu.js';

const [modelPath, threadsArg, promptArg] = process.argv.slice(2);
if (!modelPath || !threadsArg || !promptArg) throw new Error('usage: node-decode MODEL THREADS PROMPT_TOKENS');
const prompt = promptArg.split(',').map(Number);
const backend = await createWasmBackend({ threads: Number(threadsArg) });
const model = await loadModel(modelPath, { backend });
const logitsOut = backend.alloc(model.config.vocabSize);

console.log('ready');
for await (const line of createInterface({ input: process.stdin })) {
  const steps = Number(line);
  if (!Number.isInteger(steps) || steps <= 0) break;
  const r = timedDecode(model, logitsOut, prompt, steps, backend.jobTime, () => threadCpuNs(process.pid));
  console.log(JSON.stringify({ tokPerS: steps / (r.ms / 1000), cpuTokPerS: steps / (r.cpuNs / 1e9), tokens: r.tokens, threadJobs: r.threadJobs }));
}
await backend.dispose();
