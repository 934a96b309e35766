// Model loads of this checkout against an older one, in ONE process, old and new alternating
// round by round (which goes first alternates too): loadModel(path) (the file as a byte source)
// and modelFromBytes (the file's bytes in memory), on a wasm backend per side, each model disposed
// after its load (its heap memory is reused by the next); with --fresh, on a new backend per load
// (new heap pages, as `msrnn bench` times a load), disposed after it. Times are CPU time of this
// process (process.cpuUsage: what the load itself costs, less exposed to other processes on a
// loaded machine than the wall clock). Without --fresh each model's dispose() is timed too, and
// load + dispose is what a reload into the reused heap costs.
// Usage (from the repository root):
//   mkdir -p .bench/old && git archive <commit> packages | tar -x -C .bench/old
//   node scripts/run-ts.mjs packages/transformer/bench/load-ab.bench.ts --old .bench/old --model FILE,... [--rounds N] [--fresh]
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadSides } from './old-tree.js';

const { values } = parseArgs({ options: { old: { type: 'string' }, model: { type: 'string' }, rounds: { type: 'string', default: '25' }, fresh: { type: 'boolean', default: false } } });
if (!values.old || !values.model) throw new Error('--old DIR (an older checkout\'s packages/) and --model FILE,... are required');
const rounds = Number(values.rounds);
if (!(Number.isInteger(rounds) && rounds > 0)) throw new RangeError(`--rounds must be a positive integer, got ${values.rounds}`);
const sides = await loadSides(values.old);
const backends = await Promise.all(sides.map((s) => s.tensor.createWasmBackend()));

const cpuMs = (): number => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
console.log(`CPU ms, ${rounds} alternating rounds (the first dropped)${values.fresh ? ', a fresh backend per load' : ''}: best (median); load average ${loadavg()[0]!.toFixed(1)}`);
for (const path of values.model.split(',')) {
  const bytes = new Uint8Array(readFileSync(path));
  const times = new Map<string, number[]>();
  const add = (key: string, ms: number) => times.set(key, [...(times.get(key) ?? []), ms]);
  for (let r = 0; r <= rounds; r++) {
    for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const { name, api, tensor } = sides[i]!;
      for (const how of ['loadModel(path)', 'modelFromBytes'] as const) {
        const backend = values.fresh ? await tensor.createWasmBackend() : backends[i]!;
        const t0 = cpuMs();
        const model = how === 'modelFromBytes' ? api.modelFromBytes(bytes, { backend }) : await api.loadModel(path, { backend });
        const t1 = cpuMs();
        if (values.fresh) await backend.dispose(); else model.dispose();
        const t2 = cpuMs();
        if (r === 0) continue; // warm-up
        add(`${how} ${name}`, t1 - t0);
        if (!values.fresh) add(`${how} ${name} cycle`, t2 - t0);
      }
    }
  }
  for (const how of ['loadModel(path)', 'modelFromBytes']) {
    for (const what of values.fresh ? [''] : ['', ' cycle']) {
      const o = times.get(`${how} old${what}`)!, n = times.get(`${how} new${what}`)!;
      const cell = (t: number[]) => `${Math.min(...t).toFixed(1)} (${median(t).toFixed(1)})`;
      console.log(`${path.split('/').pop()} (${(bytes.length / 2 ** 20).toFixed(1)} MiB) ${how}${what ? ' + dispose' : ''}: old ${cell(o)}  new ${cell(n)}  new/old best ${(Math.min(...n) / Math.min(...o)).toFixed(3)}, median ${(median(n) / median(o)).toFixed(3)}`);
    }
  }
}
console.log(`load average ${loadavg()[0]!.toFixed(1)} at the end`);
await Promise.all(backends.map((b) => b.dispose()));
