// A prompt's tok/s with exact activations against prefill's opt-in `activations: 'q8_0'` (ggml's
// arithmetic for Q8_0 weights), same model, same process, rounds alternating between the two, so
// a machine that others are loading slows both alike. Reports each mode's best round by wall time
// and by CPU time (process.cpuUsage; meaningful on 1 thread), the ratio, an optional anchor (e.g.
// llama.cpp's 353 tok/s), and how far the last position's logits moved.
//
//   node scripts/run-ts.mjs packages/transformer/bench/prompt-activations.bench.ts --model FILE [--tokens 512] [--chunk 128] [--rounds 5] [--threads 1] [--anchor 353]
//
// The random SmolLM2-shaped Q8_0 file comes from `msrnn bench --shapes smollm2-135m --weights q8` (packages/tensor/WASM.md, Speed).
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { checkThreads, createWasmBackend, type PromptActivations } from '@msrnn/tensor';
import { argmax, createState, loadModel, prefill, type Model } from '../src/index.js';
import { PROMPT_OPTIONS, promptRun } from './prompt-bench-args.js';

const { values } = parseArgs({ options: { ...PROMPT_OPTIONS, rounds: { type: 'string', default: '5' }, threads: { type: 'string', default: '1' }, anchor: { type: 'string' } } });
if (!values.model) throw new Error('--model FILE is required (a Q8_0 GGUF file: see the usage comment)');
const { tokens, chunk, rounds } = promptRun(values);
const anchor = values.anchor === undefined ? null : Number(values.anchor);
if (anchor !== null && !(anchor > 0)) throw new RangeError(`--anchor must be a positive number of tok/s, got ${values.anchor}`);
const threads = checkThreads(Number(values.threads), '--threads');

const backend = await createWasmBackend({ threads });
const model: Model = await loadModel(values.model, { backend });
const prompt = Array.from({ length: tokens }, (_, i) => 3 + ((i * 7919) % (model.config.vocabSize - 3)));
const MODES: PromptActivations[] = ['exact', 'q8_0'];
const best = MODES.map(() => ({ wall: Infinity, cpu: Infinity }));
const last = MODES.map(() => backend.alloc(model.config.vocabSize));

const once = (mode: PromptActivations, k: number, timed: boolean): void => {
  const st = createState(model);
  const c0 = process.cpuUsage(), t0 = performance.now();
  prefill(model, st, prompt, { chunkSize: chunk, activations: mode, logitsOut: last[k] });
  const wall = performance.now() - t0, c = process.cpuUsage(c0);
  st.dispose();
  if (!timed) return;
  best[k]!.wall = Math.min(best[k]!.wall, wall / 1000);
  best[k]!.cpu = Math.min(best[k]!.cpu, (c.user + c.system) / 1e6);
};
MODES.forEach((mode, k) => once(mode, k, false)); // warm-up
for (let r = 0; r < rounds; r++) MODES.forEach((mode, k) => once(mode, k, true));

const load0 = loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`${values.model.split('/').pop()}: ${tokens}-token prompt in chunks of ${chunk}, ${threads} thread(s), best of ${rounds} rounds alternating exact / q8_0; load average ${load0}`);
console.log('| activations | tok/s (wall) | tok/s (CPU time) |' + (anchor ? ` wall / ${anchor} |` : ''));
console.log('|---|---:|---:|' + (anchor ? '---:|' : ''));
MODES.forEach((mode, k) => {
  const w = tokens / best[k]!.wall, c = tokens / best[k]!.cpu;
  console.log(`| ${mode} | ${w.toFixed(1)} | ${c.toFixed(1)} |` + (anchor ? ` ${(w / anchor).toFixed(2)}× |` : ''));
});
const ratio = (f: 'wall' | 'cpu') => (best[0]![f] / best[1]![f]).toFixed(3);
let diff = 0, top = 0;
for (let v = 0; v < last[0]!.length; v++) { diff = Math.max(diff, Math.abs(last[0]![v]! - last[1]![v]!)); top = Math.max(top, Math.abs(last[0]![v]!)); }
console.log(`q8_0 / exact: ${ratio('wall')}× (wall), ${ratio('cpu')}× (CPU time); last position: max |Δlogit| ${diff.toPrecision(3)} of max |logit| ${top.toPrecision(3)}, same argmax: ${argmax(last[0]!) === argmax(last[1]!)}`);
model.dispose();
await backend.dispose();
