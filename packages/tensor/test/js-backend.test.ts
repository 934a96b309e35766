// jsBackend keeps the Backend contract (backend.ts) while routing to the optimized raw kernels.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsBackend } from '../src/index.js';
import { assertClose, ODD_SIZES, randomArray, rng } from './helpers.js';
import { refMatmulT, refMatvec, refRmsnorm, refSilu, refSoftmax } from './reference.js';

const rand = rng(2);

test('matvec at offsets equals the reference for odd shapes', () => {
  for (const rows of ODD_SIZES) for (const cols of [1, 3, 17, 33]) {
    const w = randomArray(rand, 5 + rows * cols), x = randomArray(rand, 2 + cols), out = new Float32Array(rows + 3);
    jsBackend.matvec(out, 3, w, 5, x, 2, rows, cols);
    const ref = refMatvec(w.subarray(5), x.subarray(2), rows, cols);
    assertClose(out.subarray(3), Float32Array.from(ref), `matvec ${rows}x${cols}`);
    assert.is(out[0], 0, 'matvec wrote before oOff');
  }
});

test('matmulT with bOff equals the reference', () => {
  for (const [m, n, k] of [[1, 7, 5], [4, 4, 4], [5, 9, 17], [17, 33, 3], [8, 257, 2]] as const) {
    const a = randomArray(rand, m * k), b = randomArray(rand, 11 + n * k), out = new Float32Array(m * n);
    jsBackend.matmulT(out, a, b, 11, m, n, k);
    assertClose(out, Float32Array.from(refMatmulT(a, b.subarray(11), m, n, k)), `matmulT ${m}x${n}x${k}`);
  }
});

test('rmsnorm in place (out aliases x) and at offsets', () => {
  for (const n of ODD_SIZES) {
    const x = randomArray(rand, n + 4), w = randomArray(rand, n);
    const expected = refRmsnorm(x.subarray(4), w, 1e-5);
    jsBackend.rmsnorm(x, 4, x, 4, w, n, 1e-5);
    assertClose(x.subarray(4), Float32Array.from(expected), `rmsnorm n=${n}`);
  }
});

test('attendHead matches softmax(scale·Kq)·V and writes the probabilities', () => {
  for (const count of [1, 3, 4, 17]) for (const headDim of [1, 8, 33]) {
    const q = randomArray(rand, 3 + headDim), keys = randomArray(rand, count * headDim), values = randomArray(rand, count * headDim);
    const out = new Float32Array(headDim + 2), att = new Float32Array(count + 1);
    const scale = 1 / Math.sqrt(headDim);
    jsBackend.attendHead(out, 2, q, 3, keys, values, count, headDim, scale, att, 1);
    const probs = refSoftmax(Array.from(refMatvec(keys, q.subarray(3), count, headDim), (s) => s * scale));
    const expected = new Float64Array(headDim);
    for (let i = 0; i < count; i++) for (let d = 0; d < headDim; d++) expected[d]! += probs[i]! * values[i * headDim + d]!;
    assertClose(att.subarray(1), Float32Array.from(probs), `att count=${count} d=${headDim}`, 1e-5, 1e-6);
    assertClose(out.subarray(2), Float32Array.from(expected), `out count=${count} d=${headDim}`, 1e-5, 1e-6);
  }
});

test('swiglu and add allow out to alias their first input', () => {
  for (const n of ODD_SIZES) {
    const gate = randomArray(rand, n), up = randomArray(rand, n);
    const expected = Float32Array.from(gate, (g, i) => refSilu(g) * up[i]!);
    jsBackend.swiglu(gate, gate, up, n);
    assertClose(gate, expected, `swiglu n=${n}`);
    const a = randomArray(rand, n), b = randomArray(rand, n);
    const sum = Float32Array.from(a, (v, i) => v + b[i]!);
    jsBackend.add(a, a, b, n);
    assertClose(a, sum, `add n=${n}`, 0, 0);
  }
});

test('alloc returns zeroed float32 storage', () => {
  const a = jsBackend.alloc(10);
  assert.ok(a instanceof Float32Array);
  assert.equal(Array.from(a), new Array(10).fill(0));
});

test.run();
