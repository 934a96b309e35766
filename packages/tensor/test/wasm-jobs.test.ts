// The fused jobs and the thread pool's learning: several matvecs over one input as one job
// (matvecsShared), a layer's attention heads as one job (deferAttendHead + runDeferredHeads) and a
// prompt chunk's causal heads as one job of head × query-row blocks (deferAttendCausal) give, on 1,
// 2 and 3 threads, exactly the bits of one plain call each on one thread — for f32, fp16, Q8 and
// ggml block weights (the pool's own behaviour: wasm-pool-learning.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, type WasmBackend } from '../src/wasm/backend.js';
import { CAUSAL_ARGS, CausalArg, causalRowBounds } from '../src/threads/protocol.js';
import { GGML, KvRows, ggmlWeights, matvecWeights, matvecWeightsShared, quantizeF16, quantizeQ8, type WeightMatrix } from '../src/index.js';
import { jsBackend } from '../src/js-backend.js';
import { assertClose, copyInto, randomArray, rng } from './helpers.js';
import { randomGgmlMatrix } from './ggml-helpers.js';

const rand = rng(0x51ab);
const backends: WasmBackend[] = [];
test.before(async () => {
  for (const threads of [1, 2, 3]) backends.push(await createWasmBackend({ initialBytes: 32 << 20, threads, alwaysShare: true }));
});
test.after(async () => { for (const b of backends) await b.dispose(); });

type Kind = 'f32' | 'f16' | 'q8' | number;
/** rows × cols weights of `kind` (a ggml type id for the block types) in b's memory, from the same values/bytes on every backend. */
function weights(b: WasmBackend, kind: Kind, values: Float32Array, bytes: Uint8Array | null, rows: number, cols: number): WeightMatrix {
  if (kind === 'f32') return { type: 'f32', rows, cols, data: copyInto(b, values), offset: 0 };
  if (kind === 'f16') return quantizeF16(values, 0, rows, cols, b);
  if (kind === 'q8') return quantizeQ8(values, 0, rows, cols, b);
  return ggmlWeights(kind, rows, cols, bytes!, b);
}

const KINDS: Kind[] = ['f32', 'f16', 'q8', GGML.Q8_0, GGML.Q4_0, GGML.Q4_K, GGML.Q6_K, GGML.Q4_1];

test('matvecsShared (q/k/v- and gate/up-shaped, every weight type) equals one matvec per matrix on one thread, bit for bit, on 1, 2 and 3 threads', () => {
  for (const kind of KINDS) {
    for (const [cols, rowsList] of [[256, [512, 128, 128]], [576, [576, 192, 192]], [512, [1536, 1536]], [64, [8, 4]]] as const) {
      if (typeof kind === 'number' && cols % 256 !== 0 && (kind === GGML.Q4_K || kind === GGML.Q6_K)) continue;
      const x = randomArray(rand, cols);
      const mats = rowsList.map((rows) => ({ rows, values: randomArray(rand, rows * cols), bytes: typeof kind === 'number' ? randomGgmlMatrix(rand, kind, rows, cols) : null }));
      // Reference: one plain matvec per matrix, one thread.
      const ref = backends[0]!;
      const refOut = mats.map((m) => {
        const out = ref.alloc(m.rows);
        matvecWeights(ref, out, 0, weights(ref, kind, m.values, m.bytes, m.rows, cols), copyInto(ref, x), 0);
        return Float32Array.from(out);
      });
      for (const b of backends) {
        const ws = mats.map((m) => weights(b, kind, m.values, m.bytes, m.rows, cols));
        const outs = mats.map((m) => b.alloc(m.rows));
        const xb = copyInto(b, x);
        for (let rep = 0; rep < 3; rep++) {
          matvecWeightsShared(b, xb, 0, outs[0]!, ws[0]!, outs[1]!, ws[1]!, outs[2] ?? null, ws[2] ?? null);
          mats.forEach((_, i) => assertClose(outs[i]!, refOut[i]!, `${kind} ${cols} cols, matrix ${i}, ${b.threads} threads`, 0, 0));
        }
      }
    }
  }
});

test('matvecWeightsShared on the pure-TS backend equals one matvecWeights per matrix; bad inputs are clear errors', () => {
  const cols = 96, x = randomArray(rand, cols);
  const w0 = quantizeQ8(randomArray(rand, 40 * cols), 0, 40, cols), w1 = quantizeQ8(randomArray(rand, 8 * cols), 0, 8, cols);
  const a0 = new Float32Array(40), a1 = new Float32Array(8), e0 = new Float32Array(40), e1 = new Float32Array(8);
  matvecWeightsShared(jsBackend, x, 0, a0, w0, a1, w1);
  matvecWeights(jsBackend, e0, 0, w0, x, 0); matvecWeights(jsBackend, e1, 0, w1, x, 0);
  assertClose(a0, e0, 'js shared 0', 0, 0); assertClose(a1, e1, 'js shared 1', 0, 0);
  const b = backends[1]!;
  const f = (rows: number, c: number): WeightMatrix => ({ type: 'f32', rows, cols: c, data: b.alloc(rows * c), offset: 0 });
  assert.throws(() => b.matvecsShared(b.alloc(64), 0, b.alloc(8), f(8, 64), b.alloc(8), f(8, 32), null, null), /the matrices have 64, 32 columns; they must read the same x/);
  assert.throws(() => b.matvecsShared(new Float32Array(64), 0, b.alloc(8), f(8, 64), b.alloc(8), f(8, 64), null, null), /x is not in this backend's WebAssembly memory/);
  assert.throws(() => b.matvecsShared(b.alloc(64), 0, b.alloc(4), f(8, 64), b.alloc(8), f(8, 64), null, null), /out0\[0 \.\. 8\) is outside its length 4/);
});

test('deferred attention heads (one job over the threads) equal attendHead one by one on one thread, bit for bit', () => {
  for (const [heads, kvHeads, hd, count] of [[9, 3, 64, 700], [6, 6, 48, 33], [4, 2, 17, 5], [2, 1, 64, 4096]] as const) {
    const group = heads / kvHeads, scale = 1 / Math.sqrt(hd);
    const q = randomArray(rand, heads * hd);
    const keys = Array.from({ length: kvHeads }, () => randomArray(rand, count * hd));
    const values = Array.from({ length: kvHeads }, () => randomArray(rand, count * hd));
    const ref = backends[0]!;
    const refOut = ref.alloc(heads * hd), refAtt = ref.alloc(heads * count);
    const rq = copyInto(ref, q), rk = keys.map((k) => copyInto(ref, k)), rv = values.map((v) => copyInto(ref, v));
    const rows = (b: WasmBackend, src: Float32Array): KvRows => { const r = new KvRows('f32', hd, count, (n) => b.alloc(n)); r.f32.set(src); return r; };
    for (let h = 0; h < heads; h++) ref.attendHead(refOut, h * hd, rq, h * hd, rk[Math.floor(h / group)]!, rv[Math.floor(h / group)]!, count, hd, scale, refAtt, h * count);
    for (const b of backends) {
      const out = b.alloc(heads * hd), att = b.alloc(heads * count);
      const bq = copyInto(b, q), bk = keys.map((k) => rows(b, k)), bv = values.map((v) => rows(b, v));
      for (let rep = 0; rep < 3; rep++) {
        out.fill(0); att.fill(0);
        for (let h = 0; h < heads; h++) assert.ok(b.deferAttendHeadKv(out, h * hd, bq, h * hd, bk[Math.floor(h / group)]!, bv[Math.floor(h / group)]!, count, hd, scale, att, h * count));
        b.runDeferredHeads();
        assertClose(out, refOut, `${heads} heads × ${count}, ${b.threads} threads: out`, 0, 0);
        assertClose(att, refAtt, `${heads} heads × ${count}, ${b.threads} threads: att`, 0, 0);
      }
    }
  }
  const b = backends[1]!;
  const one = (): KvRows => new KvRows('f32', 4, 1, (n) => b.alloc(n));
  assert.throws(() => b.deferAttendHeadKv(b.alloc(4), 0, b.alloc(4), 0, one(), one(), 0, 4, 1, b.alloc(1), 0), /deferAttendHeadKv: count must be >= 1/);
  assert.throws(() => b.deferAttendHeadKv(b.alloc(4), 0, new Float32Array(4), 0, one(), one(), 1, 4, 1, b.alloc(1), 0), /q is not in this backend's WebAssembly memory/);
});

test('deferred causal heads (a prompt chunk\'s queries, one job of head × row blocks) equal attendCausal per head on one thread, bit for bit', () => {
  for (const [heads, kvHeads, hd, rows, prior] of [[9, 3, 64, 128, 0], [9, 3, 64, 128, 300], [6, 6, 48, 37, 5], [1, 1, 64, 200, 0], [4, 2, 12, 9, 2]] as const) {
    const group = heads / kvHeads, scale = 1 / Math.sqrt(hd), qDim = heads * hd, kvDim = kvHeads * hd;
    // The transformer's chunk layout: token-major queries, outputs and chunk entries; token i's
    // weights for head h at (i·heads + h)·aStride.
    const aStride = prior + rows + 3, attRow = heads * aStride;
    const q = randomArray(rand, rows * qDim), ck = randomArray(rand, rows * kvDim), cv = randomArray(rand, rows * kvDim);
    const keys = Array.from({ length: kvHeads }, () => randomArray(rand, Math.max(1, prior) * hd));
    const values = Array.from({ length: kvHeads }, () => randomArray(rand, Math.max(1, prior) * hd));
    const run = (b: WasmBackend, defer: boolean): [Float32Array, Float32Array] => {
      const bq = copyInto(b, q), bck = copyInto(b, ck), bcv = copyInto(b, cv), bk = keys.map((k) => copyInto(b, k)), bv = values.map((v) => copyInto(b, v));
      const out = b.alloc(rows * qDim), att = b.alloc(rows * attRow);
      for (let h = 0; h < heads; h++) {
        const kvh = Math.floor(h / group);
        const args = [out, h * hd, qDim, bq, h * hd, qDim, rows, bk[kvh]!, bv[kvh]!, prior, bck, bcv, kvh * hd, kvDim, hd, scale, att, h * aStride, attRow] as const;
        assert.ok(defer ? b.deferAttendCausal(...args) : b.attendCausal(...args));
      }
      if (defer) b.runDeferredHeads();
      return [out, att];
    };
    const [refOut, refAtt] = run(backends[0]!, false);
    for (const b of backends) {
      for (let rep = 0; rep < 2; rep++) {
        const [out, att] = run(b, true), at = `${heads} heads, ${rows} rows after ${prior}, ${b.threads} threads`;
        assertClose(out, refOut, `${at}: out`, 0, 0);
        assertClose(att, refAtt, `${at}: att`, 0, 0);
      }
    }
  }
  const b = backends[1]!, f = (n: number) => b.alloc(n);
  assert.throws(() => b.deferAttendCausal(f(64), 0, 8, f(64), 0, 8, 2, f(64), f(64), 3, f(64), f(64), 0, 8, 8, 1, f(64), 0, 4), /deferAttendCausal: aStride must be an integer >= 5/);
  assert.throws(() => b.deferAttendCausal(f(64), 0, 8, new Float32Array(64), 0, 8, 2, f(64), f(64), 1, f(64), f(64), 0, 8, 8, 1, f(64), 0, 8), /q is not in this backend's WebAssembly memory/);
  assert.is(b.deferAttendCausal(f(64), 0, 6, f(64), 0, 6, 2, f(64), f(64), 1, f(64), f(64), 0, 6, 6, 1, f(64), 0, 8), false);
});

test('causalRowBounds: blocks tile the rows at multiples of 4, each about an equal share of the work; a row of the table is one 64-byte line', () => {
  const bounds = new Int32Array(65);
  const work = (r0: number, r1: number, prior: number) => { let w = 0; for (let i = r0; i < r1; i++) w += prior + i + 1; return w; };
  // [rows, prior, parts, whether every part gets rows]: few rows for many parts merge blocks.
  for (const [rows, prior, parts, all] of [[128, 0, 2, true], [128, 0, 4, true], [128, 384, 3, true], [64, 0, 8, true], [37, 5, 8, false], [5, 0, 4, false], [1, 0, 2, false], [200, 0, 64, false]] as const) {
    const count = causalRowBounds(rows, prior, parts, bounds), at = `${rows} rows after ${prior}, ${parts} parts`;
    assert.ok(count >= 1 && count <= parts, `${at}: ${count} blocks`);
    if (all) assert.is(count, parts, `${at}: every part has rows`);
    assert.is(bounds[0], 0); assert.is(bounds[count], rows);
    // Rounding each bound to a multiple of 4 moves it by at most 2 rows: a block's work is then
    // within 4 of the most expensive rows' work of an equal share.
    const total = work(0, rows, prior), slack = work(Math.max(0, rows - 4), rows, prior);
    for (let b = 0; b < count; b++) {
      assert.ok(bounds[b + 1]! > bounds[b]!, `${at}: block ${b} not empty`);
      if (b + 1 < count) assert.is(bounds[b + 1]! % 4, 0, `${at}: bound ${b + 1} a multiple of 4`);
      if (all) assert.ok(Math.abs(work(bounds[b]!, bounds[b + 1]!, prior) - total / parts) <= slack, `${at}: block ${b}'s share`);
    }
  }
  assert.is(CAUSAL_ARGS * 4, 64);
  assert.is(CausalArg.END_ROW, CAUSAL_ARGS - 1);
});

test.run();
