import { createWasmBackend } from '@msrnn/tensor';
import { AllThreadsProfiler } from '../src/profile/all-threads.js';
import { selfTimes } from '../src/profile/self-time.js';
if (process.argv[2] === 'flag') {} 
const profiler = process.argv[2] === 'late' ? null : await AllThreadsProfiler.attach(100);
const wasm: any = await createWasmBackend({ threads: 1 });
const p2 = profiler ?? await AllThreadsProfiler.attach(100);
const hd = 64, rows = 64, prior = 256;
const a = (n: number) => wasm.alloc(n).fill(0.01);
const out = a(rows * hd), q = a(rows * hd), keys = a(prior * hd), values = a(prior * hd), ck = a(rows * hd), cv = a(rows * hd), att = a(rows * (prior + rows));
const run = () => wasm.attendCausal(out, 0, hd, q, 0, hd, rows, keys, values, prior, ck, cv, 0, hd, hd, 0.125, att, 0, prior + rows);
for (let i = 0; i < 200; i++) run();
await p2.start();
const t0 = performance.now();
while (performance.now() - t0 < 300) run();
const [main] = await p2.stop();
const t = selfTimes(main!.profile, process.cwd());
console.log(t.rows.slice(0, 6).map((r) => `${r.name} ${(100 * r.share).toFixed(1)}`).join('\n'));
await p2.close(); await wasm.dispose();
