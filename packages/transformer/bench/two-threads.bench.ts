// One model's decode on 1 and 2 wasm threads in alternating rounds, with what each 2-thread round
// did: jobs shared per step, worker chunks the caller took over (late workers), jobs that had to
// wake a sleeping worker (WasmBackend.jobTime), and per busy thread of this process where it ran
// (the CPU it last ran on), how often the OS moved it to another CPU or preempted it, and its CPU
// time (Linux /proc/self/task/*; elsewhere those columns are left out). It starts with the round
// trip of a cache line between two threads (a spin ping-pong): what every job's hand-off costs.
// For the question why a process's 2-thread rate can settle at one of two levels (WASM.md).
// After each round it prints what a plain read of a buffer the model's size streams on 1 and 2
// threads (tensor's bench/read-probe.ts) and how much CPU other processes used meanwhile: a round's
// 2/1 is a quiet-machine figure only when they stayed near 0, and a decode that reads as many bytes
// per token as f32 weights cannot beat the read's 2/1 (tensor's WASM.md, memory bandwidth).
//   node scripts/run-ts.mjs packages/transformer/bench/two-threads.bench.ts MODEL [--weights f32] [--rounds 6] [--seconds 1] [--time MS]
// --time MS caps each round at MS ms (a smoke run, with a 16 MiB read).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { createWasmBackend, type WasmBackend } from '@msrnn/tensor';
import { createState, loadModel, prefill, quantizeModel, step, type Model } from '../src/index.js';
import { otherLoad } from '../../tensor/bench/other-load.js';
import { ReadProbe } from '../../tensor/bench/read-probe.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { weights: { type: 'string', default: 'f32' }, rounds: { type: 'string', default: '6' }, seconds: { type: 'string', default: '1' }, time: { type: 'string' } },
});
const file = positionals[0];
if (!file || !existsSync(file)) throw new Error(`two-threads.bench: give an existing model file (got ${file ?? 'none'})`);
const weights = values.weights!, rounds = Number(values.rounds);
if (values.time !== undefined && !(Number(values.time) > 0)) throw new RangeError(`--time must be a positive number of ms, got ${values.time}`);
const seconds = Math.min(Number(values.seconds), values.time === undefined ? Infinity : Number(values.time) / 1000);
if (weights !== 'f32' && weights !== 'f16' && weights !== 'q8') throw new RangeError(`--weights: "${weights}" is not f32, f16 or q8`);
if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 1000)) throw new RangeError(`--rounds must be a whole number from 1 to 1000, got ${values.rounds}`);
if (!(seconds > 0 && seconds <= 60)) throw new RangeError(`--seconds must be in (0, 60], got ${values.seconds}`);

/** Per thread of this process: CPU last run on, migrations, involuntary switches, CPU ms (null off Linux). */
interface TaskSample { cpu: number; migrations: number; preempted: number; ms: number }
function tasks(): Map<string, TaskSample> | null {
  if (!existsSync('/proc/self/task')) return null;
  const out = new Map<string, TaskSample>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const sched = readFileSync(`/proc/self/task/${tid}/sched`, 'utf8');
      const field = (name: string): number => Number(new RegExp(`^${name}\\s*:\\s*([\\d.]+)`, 'm').exec(sched)?.[1] ?? NaN);
      out.set(tid, {
        cpu: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[36]),
        migrations: field('se.nr_migrations'), preempted: field('nr_involuntary_switches'), ms: field('se.sum_exec_runtime'),
      });
    } catch { /* the thread ended meanwhile */ }
  }
  return out;
}

/** Best round trip of a cache line between this thread and a new one (ns), over 100 batches of 1000. */
async function pingPong(): Promise<number> {
  const flag = new Int32Array(new SharedArrayBuffer(64));
  const w = new Worker(`const a = new Int32Array(require('node:worker_threads').workerData);
    for (;;) { let v; while (((v = Atomics.load(a, 0)) & 1) === 0) {} if (v < 0) break; Atomics.store(a, 0, v + 1); }`, { eval: true, workerData: flag.buffer });
  await new Promise((done) => setTimeout(done, 50));
  let v = 0, best = Infinity;
  for (let b = 0; b < 100; b++) {
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) { Atomics.store(flag, 0, ++v); while (Atomics.load(flag, 0) === v); v++; }
    best = Math.min(best, (performance.now() - t0) * 1000);
  }
  Atomics.store(flag, 0, -1);
  await w.terminate();
  return best;
}

console.log(`cache-line round trip between two threads: ${(await pingPong()).toFixed(0)} ns (best of 100 × 1000)`);
const configs: { threads: number; backend: WasmBackend; model: Model }[] = [];
for (const threads of [1, 2]) {
  const backend = await createWasmBackend({ threads });
  const model = quantizeModel(await loadModel(file, { backend }), weights as 'f32');
  configs.push({ threads, backend, model });
}
// The read: as many bytes as the file (whole MiB), or 16 MiB in a smoke run.
const readBytes = values.time === undefined ? Math.max(1, Math.floor(statSync(file).size / 2 ** 20)) * 2 ** 20 : 16 * 2 ** 20;
const probe = await ReadProbe.start(readBytes);
const states = configs.map((c) => { const s = createState(c.model); prefill(c.model, s, [1, 2, 3, 4, 5, 6, 7, 8]); return s; });
const rates: number[][] = [[], []];
let token = 3;
for (let round = 0; round < rounds; round++) {
  const others = otherLoad();
  for (const [i, c] of configs.entries()) {
    await new Promise((done) => setTimeout(done, 50)); // an idle worker stops spinning before the next round
    const before = tasks(), jobs0 = { ...(c.backend.jobTime ?? { jobs: 0, ms: 0, takenOver: 0, wakes: 0 }) };
    let n = 0;
    const t0 = performance.now();
    do { step(c.model, states[i]!, token); token = (token * 7 + 13) % 1000 + 2; n++; } while (performance.now() - t0 < seconds * 1000);
    const rate = n / ((performance.now() - t0) / 1000), after = tasks();
    rates[i]!.push(rate);
    let line = `round ${round} ${c.threads} thread${c.threads > 1 ? 's' : ' '}: ${rate.toFixed(1).padStart(7)} tok/s`;
    const j = c.backend.jobTime;
    if (j) line += ` | per step: ${((j.jobs - jobs0.jobs) / n).toFixed(1)} shared jobs, ${((j.takenOver - jobs0.takenOver) / n).toFixed(2)} taken over, ${((j.wakes - jobs0.wakes) / n).toFixed(2)} wakes`;
    if (before && after) {
      // The busiest threads this round: the caller and (on 2 threads) its worker.
      const busy = [...after].map(([tid, a]) => ({ tid, a, b: before.get(tid) })).filter((t) => t.b)
        .map((t) => ({ ...t, ms: t.a.ms - t.b!.ms })).sort((x, y) => y.ms - x.ms).slice(0, c.threads);
      line += ' | ' + busy.map((t) => `${t.tid === String(process.pid) ? 'caller' : `tid ${t.tid}`}: cpu ${t.a.cpu}, ${t.ms.toFixed(0)} ms, ${t.a.migrations - t.b!.migrations} moves, ${t.a.preempted - t.b!.preempted} preempted`).join('; ');
    }
    console.log(line);
  }
  const read1 = probe.rate(1, 2), read2 = probe.rate(2, 2), used = others();
  console.log(`round ${round} read of ${readBytes / 2 ** 20} MiB: 1 thread ${read1.toFixed(1)}, 2 threads ${read2.toFixed(1)} GB/s (${(read2 / read1).toFixed(2)}x)`
    + (used === null ? '' : `; other processes used ${used.toFixed(2)} cores during the round`));
}
await probe.dispose();
const best = rates.map((r) => Math.max(...r));
console.log(`best round: 1 thread ${best[0]!.toFixed(1)}, 2 threads ${best[1]!.toFixed(1)} tok/s (${(best[1]! / best[0]!).toFixed(2)}x); load average ${loadavg()[0]!.toFixed(1)}`);
for (const c of configs) await c.backend.dispose();
