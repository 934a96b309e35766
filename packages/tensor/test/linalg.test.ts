// Linear algebra kernels against plain float64 references: odd sizes, offsets, and strided /
// transposed views through the checked API.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor, dot, matmul, matmulBatched, matmulT, matmulTBatched, matvec, raw } from '../src/index.js';
import { assertClose, ODD_SIZES, randomArray, rng } from './helpers.js';
import { refMatmulT, refMatvec } from './reference.js';

const rand = rng(7);
const f32 = (a: ArrayLike<number>) => Float32Array.from(a);

/** A random (rows×cols) matrix, optionally embedded as a column slice of a wider one (row stride > cols). */
function matrix(rows: number, cols: number, pad = 0): Tensor {
  const wide = Tensor.from(randomArray(rand, rows * (cols + pad) + 2).subarray(2), [rows, cols + pad]);
  return pad === 0 ? wide : wide.slice(1, pad, cols + pad);
}

test('raw matvec: odd shapes, offsets, and bit-equality with the sequential float64 sum', () => {
  for (const rows of [...ODD_SIZES, 8, 9, 16]) for (const cols of ODD_SIZES) {
    const w = randomArray(rand, 3 + rows * cols), x = randomArray(rand, 1 + cols), out = new Float32Array(rows + 2);
    raw.matvec(out, 2, w, 3, x, 1, rows, cols);
    // Same summation order as the reference, so the float32 results are identical.
    assert.equal(Array.from(out.subarray(2)), Array.from(f32(refMatvec(w.subarray(3), x.subarray(1), rows, cols))), `${rows}x${cols}`);
    assert.equal(Array.from(out.subarray(0, 2)), [0, 0], 'nothing written before oOff');
  }
});

test('raw matmulT and batched: odd shapes equal the reference', () => {
  for (const m of [1, 3, 4, 5, 17]) for (const n of [1, 3, 17, 33]) for (const k of [1, 3, 17]) {
    const a = randomArray(rand, m * k), b = randomArray(rand, 5 + n * k), out = new Float32Array(m * n);
    raw.matmulT(out, 0, a, 0, b, 5, m, n, k);
    assert.equal(Array.from(out), Array.from(f32(refMatmulT(a, b.subarray(5), m, n, k))), `${m}x${n}x${k}`);
  }
  const batch = 3, m = 5, n = 6, k = 7;
  const a = randomArray(rand, batch * m * k), b = randomArray(rand, batch * n * k), out = new Float32Array(batch * m * n);
  raw.matmulTBatched(out, 0, a, 0, b, 0, batch, m, n, k);
  raw.matmulTBatched(out, 0, a, 0, b, 0, 1, m, n, k, 0);
  for (let t = 0; t < batch; t++) {
    const ref = refMatmulT(a.subarray(t * m * k), b.subarray(t * n * k), m, n, k);
    assertClose(out.subarray(t * m * n, (t + 1) * m * n), f32(ref), `batch ${t}`);
  }
});

test('raw matmul (A·B row-major) equals the reference', () => {
  for (const [m, n, k] of [[1, 1, 1], [3, 17, 5], [17, 3, 33], [4, 257, 9]] as const) {
    const a = randomArray(rand, m * k), b = randomArray(rand, k * n), out = new Float32Array(m * n);
    raw.matmul(out, 0, a, 0, b, 0, m, n, k);
    const bT = new Float32Array(n * k);
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) bT[j * k + p] = b[p * n + j]!;
    assertClose(out, f32(refMatmulT(a, bT, m, n, k)), `${m}x${n}x${k}`, 1e-5, 1e-5);
  }
});

test('checked matmul / matmulT accept row-strided and transposed views without copying', () => {
  for (const [m, n, k] of [[1, 3, 17], [5, 17, 3], [17, 33, 33], [3, 1, 257]] as const) {
    const a = matrix(m, k, 3);               // column slice: row stride k+3
    const bRowMajorNK = matrix(n, k, 2);     // B as (n×k), row stride k+2
    const expected = f32(refMatmulT(a.copy().data, bRowMajorNK.copy().data, m, n, k));
    const out = Tensor.zeros([m, n + 4]).slice(1, 4); // out with row stride n+4
    matmulT(out, a, bRowMajorNK);
    assertClose(out.toArray(), expected, `matmulT ${m}x${n}x${k}`);
    // matmul with b = (n×k)ᵀ view dispatches to the A·Bᵀ kernel …
    const out2 = Tensor.zeros([m, n]);
    matmul(out2, a, bRowMajorNK.transpose());
    assertClose(out2.toArray(), expected, `matmul(Bᵀ view) ${m}x${n}x${k}`);
    // … and with a row-major (k×n) b, to the A·B kernel.
    const out3 = Tensor.zeros([m, n]);
    matmul(out3, a, bRowMajorNK.transpose().contiguous());
    assertClose(out3.toArray(), expected, `matmul(row-major B) ${m}x${n}x${k}`, 1e-5, 1e-5);
  }
});

test('checked matvec: row-major, row-strided and transposed weights', () => {
  for (const rows of ODD_SIZES) for (const cols of [1, 17, 33]) {
    const w = matrix(rows, cols, 5), x = Tensor.from(randomArray(rand, cols), [cols]);
    const expected = f32(refMatvec(w.copy().data, x.data, rows, cols));
    const out = Tensor.zeros([rows]);
    matvec(out, w, x);
    assertClose(out.data, expected, `matvec ${rows}x${cols}`);
    // The same weights stored transposed (cols×rows), viewed back as rows×cols.
    const wT = w.transpose().contiguous().transpose();
    out.data.fill(0);
    matvec(out, wT, x);
    assertClose(out.data, expected, `matvec(transposed view) ${rows}x${cols}`, 1e-5, 1e-5);
  }
});

test('checked batched matmul: per-batch and shared weights, transposed per-batch views', () => {
  const batch = 3, m = 4, n = 5, k = 17;
  const a = Tensor.from(randomArray(rand, batch * m * k), [batch, m, k]);
  const w = Tensor.from(randomArray(rand, n * k), [n, k]);
  const out = Tensor.zeros([batch, m, n]);
  matmulTBatched(out, a, w);
  for (let t = 0; t < batch; t++) assertClose(out.pick(0, t).toArray(), f32(refMatmulT(a.pick(0, t).copy().data, w.data, m, n, k)), `shared w, batch ${t}`);
  const bs = Tensor.from(randomArray(rand, batch * n * k), [batch, n, k]);
  matmulBatched(out, a, bs.transpose(0, 2, 1));
  for (let t = 0; t < batch; t++) assertClose(out.pick(0, t).toArray(), f32(refMatmulT(a.pick(0, t).copy().data, bs.pick(0, t).copy().data, m, n, k)), `per-batch b, batch ${t}`);
});

test('dot: contiguous and strided', () => {
  for (const n of ODD_SIZES) {
    const a = Tensor.from(randomArray(rand, n), [n]), b2 = Tensor.from(randomArray(rand, 2 * n), [n, 2]).pick(1, 1);
    let ref = 0;
    for (let i = 0; i < n; i++) ref += a.data[i]! * b2.get(i);
    assert.ok(Math.abs(dot(a, b2) - ref) <= 1e-6 * (1 + Math.abs(ref)), `strided n=${n}`);
    assert.ok(Math.abs(dot(a, a) - raw.dot(a.data, 0, a.data, 0, n)) <= 1e-12, `contiguous n=${n}`);
  }
});

test('shape mismatches and unusable layouts throw errors naming the op and shapes', () => {
  const a = Tensor.zeros([3, 4]), b = Tensor.zeros([5, 4]);
  assert.throws(() => matmul(Tensor.zeros([3, 5]), a, b), /matmul: shapes do not chain: a \[3,4\], b \[5,4\], out \[3,5\]/);
  assert.throws(() => matmulT(Tensor.zeros([3, 6]), a, b), /matmulT: shapes do not chain: a \[3,4\], b \[5,4\], out \[3,6\]/);
  assert.throws(() => matvec(Tensor.zeros([3]), a, Tensor.zeros([5])), /matvec: shapes do not chain: w \[3,4\], x \[5\], out \[3\]/);
  assert.throws(() => matvec(Tensor.zeros([3]), a, Tensor.zeros([4, 2]).pick(1, 0)), /matvec: x must be contiguous along its last axis, got shape \[4\] with strides \[2\]/);
  assert.throws(() => matmulT(Tensor.zeros([5, 5]).transpose().slice(0, 0, 3), a, b), /matmulT: out must be row-major/);
  const noUnitAxis = Tensor.zeros([6, 8]).slice(0, 0, 6, 2).slice(1, 0, 8, 2); // [3,4] strides [16,2]
  assert.throws(() => matmulT(Tensor.zeros([3, 5]), noUnitAxis, b), /matmulT: a with shape \[3,4\] and strides \[16,2\] has no unit-stride axis/);
  assert.throws(() => matmul(Tensor.zeros([3, 4]), Tensor.zeros([3, 4]), Tensor.zeros([4])), /matmul: b must have rank 2, got shape \[4\]/);
  const shared = Tensor.zeros([4, 4]);
  assert.throws(() => matmulT(shared, shared, Tensor.zeros([4, 4])), /matmulT: out must not share memory with a/);
  assert.throws(() => matmulTBatched(Tensor.zeros([2, 3, 5]), Tensor.zeros([3, 3, 4]), b), /matmulTBatched: batch sizes differ: out \[2,3,5\], a \[3,3,4\], b \[5,4\]/);
  assert.throws(() => dot(Tensor.zeros([3]), Tensor.zeros([4])), /dot: lengths differ: a \[3\], b \[4\]/);
});

test.run();
