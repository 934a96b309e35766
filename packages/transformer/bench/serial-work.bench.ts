// The serial work of a decode step on the calling thread, old tree against this one in ONE process
// (alternating rounds): what a step spends outside the jobs it shares with the workers (KV append,
// RoPE, norms, JS→wasm calls and their checks, rounding activations, jobs too small to split). It
// caps what two threads can give (Amdahl: serial s of a one-thread step t1 gives at most
// t1 / (s + (t1 - s) / 2)). Per step, on a 2-thread backend that shares every job (alwaysShare):
// outside = step time − the caller's time inside shared jobs (WasmBackend.jobTime), and t1 = the
// step on one thread; both as medians over every step, so a machine others load (which stretches
// some steps a lot and most not at all) moves them little. Needs jobTime in both trees.
//   mkdir -p .bench/old && git archive <commit> packages | tar -x -C .bench/old
//   node scripts/run-ts.mjs packages/transformer/bench/serial-work.bench.ts --old .bench/old [--model FILE] [--weights q8,f32] [--tokens 256] [--rounds 8] [--time MS]
// --time under 1000 (ms) is a smoke run: one round of at most 16 steps.
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSides, root, type Side } from './old-tree.js';

const { values } = parseArgs({
  options: {
    old: { type: 'string' }, model: { type: 'string' }, weights: { type: 'string', default: 'q8' },
    tokens: { type: 'string', default: '256' }, rounds: { type: 'string', default: '8' }, time: { type: 'string' },
  },
});
if (!values.old) throw new Error('--old DIR (an older checkout\'s packages/, see the usage comment) is required');
const model = values.model ?? resolve(root, '.bench/models/random-stories15M.bin');
if (!existsSync(model)) throw new Error(`model ${model} not found (scripts/make-random-models.ts writes the random ones)`);
const smoke = values.time !== undefined && Number(values.time) < 1000;
if (values.time !== undefined && !(Number(values.time) > 0)) throw new RangeError(`--time must be a positive number of ms, got ${values.time}`);
const tokens = smoke ? Math.min(16, Number(values.tokens)) : Number(values.tokens), rounds = smoke ? 1 : Number(values.rounds);
for (const [flag, v] of [['--tokens', tokens], ['--rounds', rounds]] as const) if (!(Number.isInteger(v) && v > 0 && v <= 100_000)) throw new RangeError(`${flag} must be a whole number from 1 to 100000, got ${v}`);
const weights = values.weights!.split(',');
for (const w of weights) if (w !== 'f32' && w !== 'f16' && w !== 'q8') throw new RangeError(`--weights: "${w}" is not f32, f16 or q8`);

interface Run { side: Side; weights: string; threads: number; step: () => number; steps: number[]; outside: number[] }
const runs: Run[] = [];
for (const side of await loadSides(values.old)) {
  for (const threads of [1, 2]) {
    const backend = await side.tensor.createWasmBackend({ threads, alwaysShare: true });
    const clock = threads > 1 ? (backend as { jobTime?: { ms: number } | null }).jobTime : null;
    if (threads > 1 && !clock) throw new Error(`the ${side.name} tree's wasm backend has no jobTime: give an older tree that has it`);
    for (const w of weights) {
      const m = side.api.quantizeModel(await side.api.loadModel(model, { backend }), w as 'f32');
      let state = side.api.createState(m), token = 3;
      const run: Run = {
        side, weights: w, threads, steps: [], outside: [],
        // One step; returns the caller's time inside shared jobs during it (0 on one thread).
        step: () => {
          if (state.seen >= tokens) { state.dispose(); state = side.api.createState(m); }
          const inJobs = clock ? clock.ms : 0;
          side.api.step(m, state, token);
          token = (token * 7 + 13) % 1000 + 2;
          return clock ? clock.ms - inJobs : 0;
        },
      };
      runs.push(run);
    }
  }
}
for (const r of runs) for (let i = 0; i < (smoke ? 2 : 32); i++) r.step(); // warm-up (JIT, caches)
for (let round = 0; round < rounds; round++) {
  for (const r of round % 2 === 0 ? runs : [...runs].reverse()) {
    await new Promise((done) => setTimeout(done, 30)); // an idle worker spins a little before it sleeps: not into this round
    for (let i = 0; i < tokens; i++) {
      const t0 = performance.now(), inJobs = r.step(), ms = performance.now() - t0;
      r.steps.push(ms);
      r.outside.push(ms - inJobs);
    }
  }
}
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const us = (ms: number): string => (ms * 1000).toFixed(1).padStart(7);
console.log(`medians over ${rounds} alternating rounds of ${tokens} steps (positions 0..${tokens}); load average ${loadavg()[0]!.toFixed(1)} at the end`);
console.log('tree weights  1-thread step  serial (outside shared jobs)  serial / 1-thread step  Amdahl bound for 2 threads');
for (const w of weights) {
  for (const side of ['old', 'new']) {
    const one = runs.find((r) => r.side.name === side && r.weights === w && r.threads === 1)!;
    const two = runs.find((r) => r.side.name === side && r.weights === w && r.threads === 2)!;
    const t1 = median(one.steps), s = median(two.outside);
    console.log(`${side.padEnd(4)} ${w.padEnd(7)} ${us(t1)} us     ${us(s)} us                  ${(100 * s / t1).toFixed(1).padStart(5)} %                ${(t1 / (s + (t1 - s) / 2)).toFixed(2)}x`);
  }
}
process.exit(0); // the backends' workers (not disposed: the old tree may predate dispose)
