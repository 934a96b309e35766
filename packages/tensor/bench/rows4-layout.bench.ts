// The four-rows layout (quant/rows4.ts) against ggml's plain rows, for the decode matvec: the same
// random Q5_0 / Q8_0 / Q6_K matrix as plain weights and repacked, in one single-thread wasm backend,
// weights cycled through ≥ 64 MiB of copies (from memory), alternating batches, best batch by this
// process's CPU time (a loaded machine slows both alike). Each call includes its activation work
// (the repacked Q5_0 / Q8_0 kernels also widen the split activations). Checks every row bit for bit first.
// --time under 50 ms is a smoke run (the README test's): one copy of each matrix, in cache.
//   node scripts/run-ts.mjs packages/tensor/bench/rows4-layout.bench.ts [--cases Q5_0:1536x576,...] [--time MS]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { GGML, createWasmBackend, ggmlTypeInfo, ggmlWeights, matvecWeights, packRows4, type GgmlWeights } from '../src/index.js';
import { randomGgmlMatrix } from '../test/ggml-helpers.js';
import { rng } from '../test/helpers.js';

const { values } = parseArgs({ options: {
  cases: { type: 'string', default: 'Q5_0:1536x576,Q5_0:576x576,Q5_0:192x576,Q8_0:49152x576,Q8_0:576x1536,Q6_K:576x1536' },
  time: { type: 'string', default: '3000' },
} });
const timeMs = Number(values.time);
if (!(timeMs > 0)) throw new RangeError(`--time must be a positive number of ms, got ${values.time}`);

const backend = await createWasmBackend({ initialBytes: 256 << 20 });
console.log(`load average ${loadavg()[0]!.toFixed(2)}; best batch by CPU time, plain and rows4 alternating, ${timeMs} ms per case`);
for (const spec of values.cases!.split(',')) {
  const match = /^(Q5_0|Q8_0|Q6_K):(\d+)x(\d+)$/.exec(spec), type = match ? GGML[match[1] as 'Q5_0' | 'Q8_0' | 'Q6_K'] : -1;
  if (!match || Number(match[2]) % 4 !== 0 || Number(match[3]) % ggmlTypeInfo(type).blockSize !== 0) throw new RangeError(`--cases: "${spec}" is not Q5_0|Q8_0|Q6_K:ROWSxCOLS with rows a multiple of 4 and cols of the block size`);
  const rows = Number(match[2]), cols = Number(match[3]);
  const bytes = randomGgmlMatrix(rng(2), type, rows, cols), copies = timeMs < 50 ? 1 : Math.max(1, Math.ceil((64 << 20) / bytes.length));
  const packedBytes = bytes.slice();
  packRows4(type, packedBytes, rows, cols);
  const plain = Array.from({ length: copies }, () => ggmlWeights(type, rows, cols, bytes, backend));
  const packed = Array.from({ length: copies }, (): GgmlWeights => {
    const w = ggmlWeights(type, rows, cols, bytes, backend); // (it checks the plain blocks' scales)
    w.data.set(packedBytes);
    return { ...w, layout: 'rows4' };
  });
  const x = backend.alloc(cols), outPlain = backend.alloc(rows), outPacked = backend.alloc(rows), r = rng(3);
  for (let i = 0; i < cols; i++) x[i] = (r() * 2 - 1) * (i % 7 === 0 ? 100 : 1);
  matvecWeights(backend, outPlain, 0, plain[0]!, x, 0);
  matvecWeights(backend, outPacked, 0, packed[0]!, x, 0);
  for (let i = 0; i < rows; i++) if (!Object.is(outPlain[i], outPacked[i])) throw new Error(`${spec}: row ${i} rows4 ${outPacked[i]} vs plain ${outPlain[i]}`);
  const perBatch = Math.max(1, Math.round(1e7 / (rows * cols)));
  const runs = [{ ws: plain, out: outPlain, best: Infinity }, { ws: packed, out: outPacked, best: Infinity }];
  let n = 0;
  for (const end = performance.now() + timeMs; performance.now() < end;) {
    for (const run of runs) {
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < perBatch; i++) matvecWeights(backend, run.out, 0, run.ws[n++ % copies]!, x, 0);
      const cpu = process.cpuUsage(cpu0);
      run.best = Math.min(run.best, (cpu.user + cpu.system) / 1e6 / perBatch);
    }
  }
  const [p, q] = runs.map((run) => (2 * rows * cols) / run.best / 1e9);
  console.log(`${spec.padEnd(16)} ${copies > 1 ? `streaming (${copies} copies)` : 'in cache'}: plain ${p!.toFixed(1)} rows4 ${q!.toFixed(1)} GFLOP/s, rows4/plain ${(q! / p!).toFixed(3)}, every row bit-identical`);
  for (const w of [...plain, ...packed]) backend.free(w.data);
}
