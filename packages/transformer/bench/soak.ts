// Soak: 100,000 tokens of bounded generation (TOVA, k = 128) on the default model, a checkpoint
// every 10,000 tokens (RSS after a full GC, state bytes, wasm heap live bytes, tok/s by wall clock
// and by CPU time). Passes when no logit is NaN, RSS is flat within 5 % and speed (CPU time, which a busy
// machine disturbs less than wall time) within 10 %; prints each verdict, and with --strict exits 1
// when one fails (a NaN stops the run with an error either way).
// Run: node scripts/run-ts.mjs packages/transformer/bench/soak.ts [--tokens N] [--checkpoints N] [--warmup N] [--capacity K] [--backend wasm|js] [--model FILE] [--strict]
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createWasmBackend, jsBackend } from '@msrnn/tensor';
import { loadModel } from '../src/index.js';
import { soak, spread, type Checkpoint } from './soak-loop.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' }, tokens: { type: 'string', default: '100000' }, checkpoints: { type: 'string', default: '10' },
    capacity: { type: 'string', default: '128' }, backend: { type: 'string', default: 'wasm' }, seed: { type: 'string', default: '42' },
    warmup: { type: 'string', default: '1000' }, strict: { type: 'boolean', default: false },
  },
});
const modelPath = values.model ?? resolve(import.meta.dirname, '../../../models/default/model.bin');
if (values.backend !== 'wasm' && values.backend !== 'js') throw new Error(`--backend must be wasm or js, got "${values.backend}"`);
const tokens = Number(values.tokens), checkpoints = Number(values.checkpoints);
if (!(Number.isInteger(checkpoints) && checkpoints >= 2)) throw new Error(`--checkpoints must be an integer of at least 2, got ${values.checkpoints}`);
const wasm = values.backend === 'wasm' ? await createWasmBackend() : null;
const backend = wasm ?? jsBackend;
const model = await loadModel(modelPath, { backend });
const every = Math.max(1, Math.floor(tokens / checkpoints));

const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
console.log(`soak: ${modelPath} (${model.format}), ${backend.name}, TOVA k=${values.capacity}, ${values.warmup} warm-up tokens, then ${tokens} measured, checkpoint every ${every}`);
console.log('| tokens | RSS MiB | state bytes | wasm heap live bytes | tok/s (wall) | tok/s (CPU) |');
console.log('|---|---|---|---|---|---|');
// RSS is read after a full garbage collection, so it shows memory still in use, not garbage not yet collected.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const options = { tokens, every, capacity: Number(values.capacity), seed: Number(values.seed), warmup: Number(values.warmup), beforeSample: collectGarbage };
const rows: Checkpoint[] = soak(model, options, (c) => {
  console.log(`| ${c.tokens} | ${mib(c.rssBytes)} | ${c.stateBytes} | ${c.heapUsedBytes ?? '-'} | ${c.wallTokPerSec.toFixed(0)} | ${c.cpuTokPerSec.toFixed(0)} |`);
});
const full = rows.filter((c, i) => i === 0 || c.tokens - rows[i - 1]!.tokens === every); // a short last interval is not a speed sample
const checks = [
  { what: 'no NaN or infinite logit', ok: true, value: `${tokens} tokens` },
  { what: 'RSS flat within 5%', ok: spread(rows.map((c) => c.rssBytes)) <= 0.05, value: `${(100 * spread(rows.map((c) => c.rssBytes))).toFixed(1)}%` },
  { what: 'speed (CPU time) flat within 10%', ok: spread(full.map((c) => c.cpuTokPerSec)) <= 0.1, value: `${(100 * spread(full.map((c) => c.cpuTokPerSec))).toFixed(1)}%` },
  { what: 'state bytes constant', ok: spread(rows.map((c) => c.stateBytes)) === 0, value: `${rows[0]!.stateBytes} bytes` },
];
for (const c of checks) console.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.what}: ${c.value}`);
console.log(`speed (wall clock) spread: ${(100 * spread(full.map((c) => c.wallTokPerSec))).toFixed(1)}% (a busy machine moves it; not judged)`);
model.dispose();
await wasm?.dispose();
process.exit(values.strict && !checks.every((c) => c.ok) ? 1 : 0);
