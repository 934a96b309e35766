// What freeing costs on a shared wasm heap (the default in Node: a model's dispose frees every
// weight): heap.free zeroes the allocation through a Float64Array view; before, it zeroed through a
// byte view, which V8 fills element by element on shared memory. Both timed on the same 64 MiB
// allocation, alternating, in one process (CPU time).
// Usage (from the repository root): node scripts/run-ts.mjs packages/tensor/bench/heap-free.bench.ts [--rounds N]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { WasmHeap } from '../src/wasm/heap.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '9' } } });
const rounds = Number(values.rounds);
if (!(Number.isInteger(rounds) && rounds > 0)) throw new RangeError(`--rounds must be a positive integer, got ${values.rounds}`);

const heap = new WasmHeap({ initialBytes: 80 << 20, shared: true });
const n = 64 << 20;
const cpuMs = (): number => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const bytesFill: number[] = [], free: number[] = [];
for (let r = 0; r <= rounds; r++) {
  const a = heap.u8(n);
  a.fill(1);
  let t0 = cpuMs();
  new Uint8Array(a.buffer, a.byteOffset, n).fill(0); // the old zeroing
  const old = cpuMs() - t0;
  a.fill(1);
  t0 = cpuMs();
  heap.free(a);
  const now = cpuMs() - t0;
  if (r > 0) { bytesFill.push(old); free.push(now); }
}
console.log(`64 MiB, shared heap, median of ${rounds} (CPU ms; load average ${loadavg()[0]!.toFixed(1)}): byte-view zeroing ${median(bytesFill).toFixed(1)}, heap.free ${median(free).toFixed(1)}, ratio ${(median(bytesFill) / median(free)).toFixed(1)}x`);
