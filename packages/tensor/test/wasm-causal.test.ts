// A chunk of queries attending causally at once (kv/causal.ts, wasm kernels/causal.ts): every row
// is bit-identical to the wasm attendHead of that query over the entries it sees (cached ones,
// then the chunk's own up to itself), and within float rounding of a float64 reference written
// here, for odd and even row counts, no or some cached entries, and head sizes with a 4-float tail.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, hasCausalAttention, jsBackend } from '../src/index.js';
import { randomArray, rng } from './helpers.js';

const wasm = await createWasmBackend();

/** Row i of a float64 causal attention: weights and output over the given entries. */
function reference(q: Float32Array, qOff: number, keys: Float32Array[], values: Float32Array[], scale: number): { att: number[]; out: number[] } {
  const hd = keys[0]!.length;
  const s = keys.map((k) => { let d = 0; for (let c = 0; c < hd; c++) d += q[qOff + c]! * k[c]!; return d * scale; });
  const mx = Math.max(...s), e = s.map((x) => Math.exp(x - mx)), sum = e.reduce((a, b) => a + b, 0);
  const att = e.map((x) => x / sum);
  const out = Array.from({ length: hd }, (_, d) => att.reduce((acc, a, j) => acc + a * values[j]![d]!, 0));
  return { att, out };
}

test('attendCausal: each row = attendHead over its cached and chunk entries (bit for bit), and the float64 reference', () => {
  const rand = rng(5);
  for (const headDim of [4, 12, 32, 48, 64, 128]) {
    for (const prior of [0, 1, 6, 37]) {
      for (const rows of [1, 2, 3, 4, 5, 9]) {
        const qStride = 3 * headDim + 4, cStride = 2 * headDim, oStride = headDim + 8, aStride = prior + rows + 3;
        const q = wasm.alloc(rows * qStride), keys = wasm.alloc(Math.max(1, prior) * headDim), values = wasm.alloc(Math.max(1, prior) * headDim);
        const ck = wasm.alloc(rows * cStride + 5), cv = wasm.alloc(rows * cStride + 5);
        for (const a of [q, keys, values, ck, cv]) a.set(randomArray(rand, a.length).map((x) => 2 * x));
        const out = wasm.alloc(rows * oStride), att = wasm.alloc(rows * aStride);
        const scale = 1 / Math.sqrt(headDim);
        assert.ok(wasm.attendCausal(out, 0, oStride, q, 0, qStride, rows, keys, values, prior, ck, cv, 5, cStride, headDim, scale, att, 0, aStride));
        // One query at a time: its entries gathered into contiguous rows.
        for (let i = 0; i < rows; i++) {
          const n = prior + i + 1;
          const k1 = wasm.alloc(n * headDim), v1 = wasm.alloc(n * headDim), o1 = wasm.alloc(headDim), a1 = wasm.alloc(n);
          k1.set(keys.subarray(0, prior * headDim)); v1.set(values.subarray(0, prior * headDim));
          for (let j = 0; j <= i; j++) {
            k1.set(ck.subarray(5 + j * cStride, 5 + j * cStride + headDim), (prior + j) * headDim);
            v1.set(cv.subarray(5 + j * cStride, 5 + j * cStride + headDim), (prior + j) * headDim);
          }
          wasm.attendHead(o1, 0, q, i * qStride, k1, v1, n, headDim, scale, a1, 0);
          const at = `headDim ${headDim}, prior ${prior}, rows ${rows}, row ${i}`;
          assert.equal(Array.from(att.subarray(i * aStride, i * aStride + n)), Array.from(a1), `${at}: weights`);
          assert.equal(Array.from(out.subarray(i * oStride, i * oStride + headDim)), Array.from(o1), `${at}: output`);
          const rows64 = (src: Float32Array) => Array.from({ length: n }, (_, j) => src.slice(j * headDim, (j + 1) * headDim));
          const ref = reference(q, i * qStride, rows64(k1), rows64(v1), scale);
          for (let d = 0; d < headDim; d++) assert.ok(Math.abs(o1[d]! - ref.out[d]!) < 1e-5, `${at}: out[${d}] ${o1[d]} vs ${ref.out[d]}`);
          for (let j = 0; j < n; j++) assert.ok(Math.abs(a1[j]! - ref.att[j]!) < 1e-6, `${at}: att[${j}]`);
          for (const a of [k1, v1, o1, a1]) wasm.free(a);
        }
        for (const a of [q, keys, values, ck, cv, out, att]) wasm.free(a);
      }
    }
  }
});

test('attendCausal: a head size that is not a multiple of 4 is declined; bad strides and ranges are errors naming the argument', () => {
  const f = (n: number) => wasm.alloc(n);
  const q = f(64), k = f(64), v = f(64), out = f(64), att = f(64);
  assert.is(wasm.attendCausal(out, 0, 6, q, 0, 6, 2, k, v, 1, k, v, 0, 6, 6, 1, att, 0, 8), false);
  assert.throws(() => wasm.attendCausal(out, 0, 8, q, 0, 8, 2, k, v, 3, k, v, 0, 8, 8, 1, att, 0, 4), /aStride must be an integer >= 5/);
  assert.throws(() => wasm.attendCausal(out, 0, 4, q, 0, 8, 2, k, v, 1, k, v, 0, 8, 8, 1, att, 0, 8), /oStride must be an integer >= 8/);
  assert.throws(() => wasm.attendCausal(out, 0, 8, q, 0, 8, 2, k, v, 9, k, v, 0, 8, 8, 1, att, 0, 16), /keys\[0 \.\. 72\) is outside its length 64/);
  assert.throws(() => wasm.attendCausal(out, 0, 8, q, 0, 8, 2, k, v, 1, k, v, 0, 8, 8, 1, new Float32Array(64), 0, 8), /att is not in this backend's WebAssembly memory/);
  assert.ok(hasCausalAttention(wasm));
  assert.not.ok(hasCausalAttention(jsBackend));
});

test.after(async () => { await wasm.dispose(); });
test.run();
