// Ren et al.'s profiling, on this runtime: decode speed and state bytes of sentinel compression at
// each compressed share r, against the full state and against windows with the same budget, all in
// one run with interleaved rounds, so the ratios compare like with like on a loaded machine. Speed
// is CPU time of this thread (process.cpuUsage), best of the rounds; ratios are per round, median.
// Run: node scripts/run-ts.mjs packages/transformer/bench/sentinel.bench.ts [--model FILE] [--tokens N] [--rounds R]
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { MultiState, Policy } from '@msrnn/msrnn';
import { chooseSpans, getPolicy } from '@msrnn/policies';
import { createWasmBackend } from '@msrnn/tensor';
import { argmax, createState, listedSpans, loadModel, SentinelStream, step, type Model } from '../src/index.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' }, tokens: { type: 'string', default: '2048' }, rounds: { type: 'string', default: '3' },
    ratios: { type: 'string', default: '0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9' },
  },
});
const modelPath = values.model ?? resolve(import.meta.dirname, '../../../models/sentinel-0.5/model.bin');
const n = Number(values.tokens), rounds = Number(values.rounds), ratios = values.ratios.split(',').map(Number);
// The ids tools/train/finetune.py gives <CL>/<CR> (models/sentinel-0.5/model.json).
const ids = { cl: 2048, cr: 2049 };

interface Outcome { cpuMs: number; meanEntries: number; finalEntries: number; liveBytes: number; allocatedBytes: number }

/** Bytes of the live entries: keys, values, position and the policy's statistics of each. */
function liveBytes(state: MultiState): number {
  let b = 0;
  for (const l of state.layers) for (const h of l.heads) b += h.count * (2 * h.headDim * 4 + 4 + 8 * h.statsPerEntry);
  return b;
}

/** Greedy decoding of n text tokens from BOS; `feed` steps one (and, for sentinels, what follows it). */
function decode(state: MultiState, feed: (token: number) => Float32Array): Outcome {
  const layer0 = state.layers[0]!;
  let token = 1, entries = 0;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    token = argmax(feed(token));
    entries += layer0.maxCount;
  }
  const cpu = process.cpuUsage(cpu0);
  return { cpuMs: (cpu.user + cpu.system) / 1000, meanEntries: entries / n, finalEntries: layer0.maxCount, liveBytes: liveBytes(state), allocatedBytes: state.bytes() };
}

interface Config { name: string; budget: string; run(model: Model): Outcome }

function plain(name: string, budget: string, policy?: () => Policy): Config {
  return { name, budget, run: (m) => { const s = createState(m, policy ? { policy: policy() } : {}); return decode(s, (t) => step(m, s, t)); } };
}

function sentinel(r: number): Config {
  return {
    name: 'sentinel', budget: `r=${r}`,
    run: (m) => {
      const stream = new SentinelStream(m, { ids, spans: listedSpans(chooseSpans(n, r, 25, 0, 0)) });
      return decode(stream.state, (t) => stream.text(t));
    },
  };
}

const configs: Config[] = [plain('full', 'all tokens')];
for (const r of ratios) {
  configs.push(sentinel(r));
  configs.push(plain('local', `ratio ${+(1 - r).toFixed(2)}`, () => getPolicy('local', { ratio: 1 - r })));
  configs.push(plain('window', `k=${Math.round((1 - r) * n)}`, () => getPolicy('window', { capacity: Math.round((1 - r) * n) })));
}

const model = await loadModel(modelPath, { backend: await createWasmBackend() });
if (n > model.config.seqLen) throw new Error(`--tokens ${n} exceeds the model's context ${model.config.seqLen}`);
const loadBefore = loadavg()[0]!;
const results: Outcome[][] = configs.map(() => []);
for (let round = 0; round < rounds; round++) configs.forEach((c, i) => results[i]!.push(c.run(model)));
const loadAfter = loadavg()[0]!;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fullRounds = results[0]!;
console.log(`${modelPath}: greedy decoding of ${n} text tokens from BOS, wasm backend, 1 thread; best of ${rounds} interleaved rounds; load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}`);
console.log('| method | budget | mean entries per layer | entries at the end | live state at the end (bytes) | per text token | allocated | CPU ms per token | tokens per CPU-s | × full (same round, median) |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
configs.forEach((c, i) => {
  const rs = results[i]!, best = rs.reduce((a, b) => (b.cpuMs < a.cpuMs ? b : a));
  const speedup = median(rs.map((r, k) => fullRounds[k]!.cpuMs / r.cpuMs));
  console.log(`| ${c.name} | ${c.budget} | ${best.meanEntries.toFixed(0)} | ${best.finalEntries} | ${best.liveBytes} | ${(best.liveBytes / n).toFixed(0)} | ${best.allocatedBytes} | ${(best.cpuMs / n).toFixed(3)} | ${(n / (best.cpuMs / 1000)).toFixed(0)} | ${speedup.toFixed(2)} |`);
});
