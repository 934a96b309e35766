// A model's state fingerprint (modelFingerprint: what a first save/restore computes) of this
// checkout against an older one, in ONE process, old and new alternating round by round, on the
// same model loaded once on a wasm backend (its Q5_0, Q8_0, Q6_K and Q4_K matrices in the four-rows layout: the
// case the fingerprint has to unpack), or with --backend js on the js backend (the file's layout). Each round hashes afresh (the fingerprint is cached per
// model object, so each call gets a new one holding the same weights); both sides must give the
// same hash, and the js backend's load of the file too (the state saved on wasm restores on js).
// Times are CPU time of this process (process.cpuUsage: less exposed to a loaded machine); a first
// call (what a process's first save pays: cold code) is shown apart from the later rounds.
// Usage (from the repository root):
//   mkdir -p .bench/old && git archive <commit> packages | tar -x -C .bench/old
//   node scripts/run-ts.mjs packages/transformer/bench/fingerprint-ab.bench.ts --old .bench/old --model FILE [--rounds N] [--backend wasm|js]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadSides } from './old-tree.js';

const { values } = parseArgs({ options: { old: { type: 'string' }, model: { type: 'string' }, rounds: { type: 'string', default: '6' }, backend: { type: 'string', default: 'wasm' } } });
if (!values.old || !values.model) throw new Error('--old DIR (an older checkout\'s packages/) and --model FILE are required');
const rounds = Number(values.rounds);
if (!(Number.isInteger(rounds) && rounds > 1)) throw new RangeError(`--rounds must be an integer above 1, got ${values.rounds}`);
if (values.backend !== 'wasm' && values.backend !== 'js') throw new RangeError(`--backend must be wasm or js, got ${values.backend}`);
const sides = await loadSides(values.old);
const [, mine] = sides;
const backend = values.backend === 'wasm' ? await mine.tensor.createWasmBackend() : null;
const jsModel = await mine.api.loadModel(values.model);
const model = backend ? await mine.api.loadModel(values.model, { backend }) : jsModel;
const jsHash = mine.api.modelFingerprint(jsModel).weightsHash;

const cpuMs = (): number => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const times: number[][] = [[], []];
console.log(`CPU ms of modelFingerprint on ${values.model.split('/').pop()} (${backend ? 'wasm, four-rows layout' : 'js, the file\'s layout'}), ${rounds} alternating rounds; load average ${loadavg()[0]!.toFixed(1)}`);
for (let r = 0; r < rounds; r++) {
  for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
    const { name, api } = sides[i]!;
    const fresh = Object.create(model) as typeof model; // the same weights, not yet in the fingerprint cache
    const t0 = cpuMs();
    const hash = api.modelFingerprint(fresh).weightsHash;
    times[i]!.push(cpuMs() - t0);
    if (hash !== jsHash) throw new Error(`${name}: hash ${hash} on wasm differs from the js backend's ${jsHash}`);
  }
}
const [[o0, ...o], [n0, ...n]] = times as [number[], number[]];
const cell = (t: number[]) => `${Math.min(...t).toFixed(0)} (${median(t).toFixed(0)})`;
console.log(`first call: old ${o0!.toFixed(0)}  new ${n0!.toFixed(0)}  old/new ${(o0! / n0!).toFixed(2)}×`);
console.log(`later rounds: old ${cell(o)}  new ${cell(n)}  best (median); old/new best ${(Math.min(...o) / Math.min(...n)).toFixed(2)}×, median ${(median(o) / median(n)).toFixed(2)}×`);
console.log(`hash ${jsHash} on both sides and on the js backend`);
console.log(`load average ${loadavg()[0]!.toFixed(1)} at the end`);
model.dispose();
await backend?.dispose();
