// Decode (and prefill) speed of this checkout against an older one, in ONE process with the two
// measured in alternating rounds, so a machine that others are loading affects both alike.
// Usage (from the repository root):
//   mkdir -p .bench/old && git archive <commit> packages | tar -x -C .bench/old
//   node scripts/run-ts.mjs scripts/make-random-models.ts .bench/models 15M
//   node scripts/run-ts.mjs packages/transformer/bench/ab.bench.ts --old .bench/old [--model FILE,...] [--backends js,wasm] [--threads 1,2] [--rounds N] [--tokens N] [--chunk N] [--time MS] [--cases step,prefill] [--always-share] [--position N]
// The old tree's packages resolve to its own sources (links under <old>/node_modules/@msrnn are made
// on first use). Prints tok/s per configuration (best round) and new/old; with several --threads,
// also each side's wasm rate at every thread count over its rate at the first.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSides, root, type Side } from './old-tree.js';

const { values } = parseArgs({
  options: {
    old: { type: 'string' }, model: { type: 'string' }, rounds: { type: 'string', default: '7' },
    tokens: { type: 'string', default: '128' }, chunk: { type: 'string', default: '64' }, weights: { type: 'string', default: 'f32,q8' }, backends: { type: 'string', default: 'js,wasm' },
    threads: { type: 'string', default: '1' },
    // Which measurements: decode steps, prefill, or both.
    cases: { type: 'string', default: 'step,prefill' },
    // Every job big enough is shared with the workers (the judge that keeps them on the caller while sharing does not pay is off).
    'always-share': { type: 'boolean', default: false },
    // Decode steps start at this position: each round's state first holds that many random entries
    // per KV head (written untimed), so a step's attention reads a long context without a prefill.
    position: { type: 'string', default: '0' },
    // A time budget per configuration and side (ms): rounds stop once it is spent (at least one
    // runs). Under 1000 it is a smoke run: at most 16 tokens per round and no warm-up round.
    time: { type: 'string' },
  },
});
if (!values.old) throw new Error('--old DIR (an older checkout\'s packages/, see the usage comment) is required');
const models = (values.model ?? [resolve(root, '../shared/models/stories260K.bin'), resolve(root, '.bench/models/random-stories15M.bin')].join(',')).split(',');
const budgetMs = values.time === undefined ? Infinity : Number(values.time), smoke = budgetMs < 1000;
const position = Number(values.position);
if (!(Number.isInteger(position) && position >= 0 && position <= 1 << 20)) throw new RangeError(`--position must be a whole number from 0 to ${1 << 20}, got ${values.position}`);
const rounds = Number(values.rounds), tokens = smoke ? Math.min(16, Number(values.tokens)) : Number(values.tokens), chunk = Number(values.chunk);
for (const [flag, v] of [['--rounds', rounds], ['--tokens', tokens], ['--chunk', chunk], ['--time', budgetMs]] as const) {
  if (!(v > 0) || (flag !== '--time' && !Number.isInteger(v))) throw new RangeError(`${flag} must be a positive ${flag === '--time' ? 'number' : 'integer'}, got ${v}`);
}
const threadCounts = values.threads!.split(',').map(Number);
for (const t of threadCounts) if (!(Number.isInteger(t) && t >= 1 && t <= 16)) throw new RangeError(`--threads: "${values.threads}" must list whole thread counts from 1 to 16`);
const caseKinds = values.cases!.split(',');
for (const k of caseKinds) if (k !== 'step' && k !== 'prefill') throw new RangeError(`--cases: "${k}" is not step or prefill`);
for (const m of models) if (!existsSync(m)) throw new Error(`model ${m} not found (scripts/make-random-models.ts writes the random ones)`);

const sides = await loadSides(values.old);

interface Case { label: string; prepare?: () => void; run: () => void; best: number; bestCpu: number; spent: number }

/** Random entries for stateAt (every head gets the same ones: the speed does not depend on them). */
let entryPool = new Float32Array(0);
/** A fresh state of `model` at `position`, holding that many random entries per KV head. */
function stateAt(side: Side, model: import('../src/index.js').Model, at: number) {
  const state = side.api.createState(model, { initialSlots: at + tokens });
  const hd = state.layers[0]?.headDim ?? 0;
  if (entryPool.length < 2 * at * hd) {
    entryPool = new Float32Array(2 * at * hd);
    let seed = 12345;
    for (let i = 0; i < entryPool.length; i++) { seed = (seed * 1103515245 + 12345) & 0x7fffffff; entryPool[i] = seed / 0x7fffffff - 0.5; }
  }
  for (const layer of state.layers) for (const head of layer.heads) {
    for (let i = 0; i < at; i++) head.writeEntry(head.push(i), entryPool, 2 * i * hd, entryPool, (2 * i + 1) * hd);
  }
  state.seen = at;
  return state;
}
type Make = (side: Side) => Promise<Case>;
// Each (side, model, backend, weights) is loaded once and shared by the cases that use it.
const loaded = new Map<string, Promise<import('../src/index.js').Model>>();
function opened(side: Side, modelPath: string, backendName: 'js' | 'wasm', threads: number, weights: 'f32' | 'f16' | 'q8') {
  const key = [side.name, modelPath, backendName, threads, weights].join('|');
  if (!loaded.has(key)) {
    loaded.set(key, (async () => {
      const backend = backendName === 'js' ? side.tensor.jsBackend : await side.tensor.createWasmBackend({ threads, alwaysShare: values['always-share'] });
      return side.api.quantizeModel(await side.api.loadModel(modelPath, { backend }), weights);
    })());
  }
  return loaded.get(key)!;
}
const configs: Make[] = [];
for (const modelPath of models) {
  const short = modelPath.split('/').pop()!;
  for (const backendName of values.backends!.split(',') as ('js' | 'wasm')[]) {
    if (backendName !== 'js' && backendName !== 'wasm') throw new RangeError(`--backends: "${backendName}" is not js or wasm`);
    for (const threads of backendName === 'js' ? [1] : threadCounts) {
      const open = (side: Side, weights: 'f32' | 'f16' | 'q8') => opened(side, modelPath, backendName, threads, weights);
      const on = backendName === 'js' ? 'js' : `wasm×${threads}`;
      for (const weights of values.weights!.split(',') as ('f32' | 'f16' | 'q8')[]) {
        if ((backendName === 'js' && weights !== 'f32') || !caseKinds.includes('step')) continue;
        configs.push(async (side) => {
          const model = await open(side, weights);
          let state: ReturnType<typeof stateAt> | null = null;
          return {
            label: `${short} ${on} ${weights}: step ×${tokens}${position > 0 ? ` @${position}` : ''}`, best: Infinity, bestCpu: Infinity, spent: 0,
            prepare: () => { (state as { dispose?: () => void } | null)?.dispose?.(); state = stateAt(side, model, position); },
            run: () => {
              let token = 1;
              for (let i = 0; i < tokens; i++) token = side.api.argmax(side.api.step(model, state!, token));
            },
          };
        });
      }
      if (caseKinds.includes('prefill')) configs.push(async (side) => {
        const model = await open(side, 'f32');
        const prompt = Array.from({ length: tokens }, (_, i) => 3 + ((i * 37) % (model.config.vocabSize - 3)));
        return {
          label: `${short} ${on} f32: prefill ${tokens}, chunk ${chunk}`, best: Infinity, bestCpu: Infinity, spent: 0,
          run: () => {
            const state = side.api.createState(model);
            side.api.prefill(model, state, prompt, { chunkSize: chunk });
            (state as { dispose?: () => void }).dispose?.(); // its memory back (an older tree's states have no dispose)
          },
        };
      });
    }
  }
}
const cases: Case[][] = [];
for (const make of configs) cases.push([await make(sides[0]!), await make(sides[1]!)]);

if (!smoke) for (const pair of cases) for (const c of pair) { c.prepare?.(); c.run(); } // warm-up (JIT, caches)
for (let r = 0; r < rounds; r++) {
  for (const pair of cases) {
    const order = r % 2 === 0 ? pair : [...pair].reverse(); // alternate which side goes first
    for (const c of order) {
      if (c.spent > budgetMs) continue;
      // An idle worker spins up to 20 ms (src/threads/spin.ts) before it sleeps: let it, so no
      // case (and no CPU-time rate: this process's CPU time counts every thread) pays for the last.
      c.prepare?.();
      if (threadCounts.some((t) => t > 1)) await new Promise((done) => setTimeout(done, 30));
      const t0 = performance.now(), cpu0 = process.cpuUsage();
      c.run();
      c.best = Math.min(c.best, performance.now() - t0);
      c.spent += performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      c.bestCpu = Math.min(c.bestCpu, (cpu.user + cpu.system) / 1000);
    }
  }
}
// Wall time counts the time other processes took the core; CPU time (this process, user + system)
// does not, so on a loaded machine its ratio is the steadier one. Both are the best round.
console.log(`best of ${rounds} alternating rounds, ${tokens} tokens each; tok/s by wall time and by CPU time`);
console.log(`${'configuration'.padEnd(50)} ${'old wall'.padStart(9)} ${'new wall'.padStart(9)} ${'ratio'.padStart(6)} ${'old cpu'.padStart(9)} ${'new cpu'.padStart(9)} ${'ratio'.padStart(6)}`);
const tps = (ms: number): number => (tokens / ms) * 1000;
for (const [o, n] of cases) {
  const cols = [tps(o!.best), tps(n!.best), tps(n!.best) / tps(o!.best), tps(o!.bestCpu), tps(n!.bestCpu), tps(n!.bestCpu) / tps(o!.bestCpu)];
  console.log(`${o!.label.padEnd(50)} ${cols.map((v, i) => (i % 3 === 2 ? v.toFixed(3).padStart(6) : v.toFixed(0).padStart(9))).join(' ')}`);
}
if (threadCounts.length > 1) {
  // Thread scaling within each side: the wasm case at each thread count over the same case at the first.
  console.log(`\nthreads: each side's rate over its rate at ${threadCounts[0]} thread(s) (wall; CPU time counts every thread, so it is not a scaling measure)`);
  const first = `wasm×${threadCounts[0]} `;
  for (const [o, n] of cases) {
    if (!o!.label.includes('wasm×') || o!.label.includes(first)) continue;
    const base = cases.find(([b]) => b!.label === o!.label.replace(/wasm×\d+ /, first))!;
    console.log(`${o!.label.padEnd(50)} old ${(base[0]!.best / o!.best).toFixed(3).padStart(6)}  new ${(base[1]!.best / n!.best).toFixed(3).padStart(6)}`);
  }
}
