// Where a prompt's time goes, per phase, for several model files in ONE process (rounds alternate
// between the files, so a machine that others are loading affects all alike): the backend's entry
// points are wrapped with timers, so each phase is the time inside its kernels' calls, and "the
// rest" is everything else of the prefill (RoPE, KV appends, the policy's compress, embedding,
// JS glue). One thread; wall time (performance.now: a CPU-time read per call would cost more than
// the short calls it times), with the prefill's CPU time beside it.
//
//   node scripts/run-ts.mjs packages/transformer/bench/prompt-phases.bench.ts --model FILE[,FILE...] [--tokens 512] [--chunk 128] [--rounds 3]
//
// The random SmolLM2-shaped GGUF files come from `msrnn bench` (packages/tensor/WASM.md, Speed).
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createWasmBackend, type WasmBackend } from '@msrnn/tensor';
import { createState, loadModel, prefill, type Model } from '../src/index.js';
import { PROMPT_OPTIONS, promptRun } from './prompt-bench-args.js';

const { values } = parseArgs({ options: { ...PROMPT_OPTIONS, rounds: { type: 'string', default: '3' } } });
if (!values.model) throw new Error('--model FILE[,FILE...] is required (random GGUF files: see the usage comment)');
const { tokens, chunk, rounds } = promptRun(values);

/** Phases and the backend methods whose calls make them up. */
const PHASES: [string, string[]][] = [
  ['projections (matmul, ggml rows converted per panel)', ['matmulGgml', 'matmulT']],
  ['attention over the chunk (scores, softmax, values)', ['deferAttendCausal', 'runDeferredHeads', 'attendCausal', 'attendHead', 'attendHeadKv']],
  ['norms, residual adds, SwiGLU', ['rmsnorm', 'add', 'swiglu']],
  ['classifier (the last token)', ['matvec', 'matvecGgml', 'matvecF16', 'matvecQ8', 'matvecsShared']],
];

interface Side { name: string; model: Model; spent: Float64Array; wall: number; cpu: number; runs: number }

/** Wraps the backend's methods named in PHASES so their calls add to spent[phase]. */
function instrument(backend: WasmBackend, spent: Float64Array): void {
  const b = backend as unknown as Record<string, unknown>;
  PHASES.forEach(([, names], p) => {
    for (const name of names) {
      const f = b[name];
      if (typeof f !== 'function') continue;
      b[name] = function timed(this: unknown, ...args: unknown[]) {
        const t0 = performance.now();
        try { return f.apply(this, args); } finally { spent[p] = spent[p]! + performance.now() - t0; }
      };
    }
  });
}

const sides: Side[] = [];
for (const file of values.model.split(',')) {
  const backend = await createWasmBackend({ threads: 1 });
  const model = await loadModel(file, { backend });
  const spent = new Float64Array(PHASES.length);
  instrument(backend, spent);
  sides.push({ name: file.split('/').pop()!, model, spent, wall: 0, cpu: 0, runs: 0 });
}

const prompt = (m: Model) => Array.from({ length: tokens }, (_, i) => 3 + ((i * 7919) % (m.config.vocabSize - 3)));
for (const s of sides) { const st = createState(s.model); prefill(s.model, st, prompt(s.model).slice(0, Math.min(tokens, 64)), { chunkSize: chunk }); st.dispose(); s.spent.fill(0); }
for (let r = 0; r < rounds; r++) {
  for (const s of sides) {
    const st = createState(s.model), p = prompt(s.model);
    const c0 = process.cpuUsage(), t0 = performance.now();
    prefill(s.model, st, p, { chunkSize: chunk });
    const c = process.cpuUsage(c0);
    s.wall += performance.now() - t0; s.cpu += (c.user + c.system) / 1000; s.runs++;
    st.dispose();
  }
}

console.log(`${tokens}-token prompt in chunks of ${chunk}, 1 thread, ${rounds} rounds alternating between the files; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`| phase | ${sides.map((s) => s.name).join(' | ')} |`);
console.log(`|---|${sides.map(() => '---:').join('|')}|`);
const cell = (ms: number, s: Side) => `${(ms / s.runs).toFixed(0)} ms (${((100 * ms) / s.wall).toFixed(1)} %)`;
PHASES.forEach(([label], p) => console.log(`| ${label} | ${sides.map((s) => cell(s.spent[p]!, s)).join(' | ')} |`));
console.log(`| the rest (RoPE, KV appends, the policy, embedding, JS) | ${sides.map((s) => cell(s.wall - s.spent.reduce((a, b) => a + b, 0), s)).join(' | ')} |`);
console.log(`| prefill, wall (tok/s) | ${sides.map((s) => `${(s.wall / s.runs).toFixed(0)} ms (${((tokens * s.runs * 1000) / s.wall).toFixed(1)})`).join(' | ')} |`);
console.log(`| prefill, CPU time (tok/s) | ${sides.map((s) => `${(s.cpu / s.runs).toFixed(0)} ms (${((tokens * s.runs * 1000) / s.cpu).toFixed(1)})`).join(' | ')} |`);
