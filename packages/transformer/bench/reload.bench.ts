// Loading and disposing one model over and over on the wasm backend, three ways, in one run:
//  - shared heap + dispose(): the heap's free list reuses the model's memory (what the library does);
//  - no dispose(): what every load cost before models could be disposed (the heap only grows);
//  - one backend per model: a fresh WebAssembly.Memory + kernel instance per load, dropped after
//    (the other design the issue offered), and what it costs per load.
// Prints ms per load (CPU time, best of 3 rounds) and how far the heap's used part grew.
// Run: node scripts/run-ts.mjs packages/transformer/bench/reload.bench.ts [--model FILE] [--loads N] [--time MS]
// (--time: the most milliseconds one way runs per round, like the tinybench scripts' --time)
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createWasmBackend, type WasmBackend } from '@msrnn/tensor';
import { createState, modelFromBytes, step } from '../src/index.js';

const { values } = parseArgs({
  options: { model: { type: 'string' }, loads: { type: 'string', default: '200' }, time: { type: 'string', default: '60000' } },
});
const modelPath = values.model ?? resolve(import.meta.dirname, '../../../../shared/models/stories260K.bin');
const loads = Number(values.loads), budgetMs = Number(values.time);
if (!(Number.isInteger(loads) && loads > 0)) throw new Error(`--loads must be a positive integer, got ${values.loads}`);
if (!(budgetMs > 0)) throw new Error(`--time must be a positive number of milliseconds, got ${values.time}`);
const bytes = readFileSync(modelPath);

/** One load: the model runs one step (so its working buffers exist), then is disposed or not. */
function loadOnce(backend: WasmBackend, dispose: boolean): void {
  const model = modelFromBytes(bytes, { backend });
  const state = createState(model);
  step(model, state, 1);
  if (dispose) { state.dispose(); model.dispose(); }
}

type Way = { name: string; run: (n: number) => Promise<{ done: number; grewBytes: number }> };
const ways: Way[] = [
  { name: 'shared heap, dispose()', run: async (n) => measureShared(n, true) },
  { name: 'shared heap, no dispose', run: async (n) => measureShared(n, false) },
  {
    name: 'a new backend per model', run: async (n) => {
      const t0 = performance.now();
      let done = 0;
      for (; done < n && (done === 0 || performance.now() - t0 < budgetMs); done++) {
        const backend = await createWasmBackend();
        loadOnce(backend, false);
        await backend.dispose();
      }
      return { done, grewBytes: 0 };
    },
  },
];

async function measureShared(n: number, dispose: boolean): Promise<{ done: number; grewBytes: number }> {
  const backend = await createWasmBackend();
  loadOnce(backend, true); // warm: the backend's own buffers exist before the count starts
  const top0 = backend.heap.highWaterBytes, t0 = performance.now();
  let done = 0;
  for (; done < n && (done === 0 || performance.now() - t0 < budgetMs); done++) loadOnce(backend, dispose);
  const grewBytes = backend.heap.highWaterBytes - top0;
  await backend.dispose();
  return { done, grewBytes };
}

console.log(`${modelPath}: ${bytes.length} bytes, up to ${loads} loads per way, best of 3 rounds (CPU ms per load)`);
const best = new Map<string, { ms: number; grew: number; done: number }>();
for (let round = 0; round < 3; round++) {
  for (const way of ways) {
    const cpu0 = process.cpuUsage();
    const { done, grewBytes } = await way.run(loads);
    const cpu = process.cpuUsage(cpu0);
    const ms = (cpu.user + cpu.system) / 1000 / Math.max(done, 1);
    const prev = best.get(way.name);
    if (!prev || ms < prev.ms) best.set(way.name, { ms, grew: grewBytes, done });
  }
}
const base = best.get(ways[0]!.name)!.ms;
for (const way of ways) {
  const b = best.get(way.name)!;
  console.log(`${way.name.padEnd(26)} ${b.ms.toFixed(2).padStart(7)} ms/load (${(b.ms / base).toFixed(2)}x)  heap grew ${(b.grew / 2 ** 20).toFixed(1)} MiB over ${b.done} loads`);
}
