// Elementwise ops against plain references, contiguous and through strided/transposed views.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor, add, assign, axpy, gelu, mul, raw, scale, silu, swiglu } from '../src/index.js';
import { assertClose, ODD_SIZES, randomArray, rng } from './helpers.js';
import { refErf, refGeluErf, refGeluTanh, refSilu } from './reference.js';

const rand = rng(11);

/** Three layouts of the same logical (r×c) values: packed, transposed storage, and every-other-column. */
function layouts(r: number, c: number): Tensor[] {
  const packed = Tensor.from(randomArray(rand, r * c), [r, c]);
  const transposedStorage = packed.transpose().copy().transpose();
  const wide = Tensor.zeros([r, 2 * c]);
  const everyOther = wide.slice(1, 0, 2 * c, 2);
  assign(everyOther, packed);
  return [packed, transposedStorage, everyOther];
}

type Unary = { name: string; run: (out: Tensor, x: Tensor) => void; ref: (x: number) => number; rtol: number };
const unaries: Unary[] = [
  { name: 'silu', run: (o, x) => silu(o, x), ref: refSilu, rtol: 1e-6 },
  { name: 'gelu tanh', run: (o, x) => gelu(o, x, 'tanh'), ref: refGeluTanh, rtol: 1e-6 },
  { name: 'gelu erf', run: (o, x) => gelu(o, x, 'erf'), ref: refGeluErf, rtol: 3e-7 },
  { name: 'scale', run: (o, x) => scale(o, x, -2.5), ref: (x) => Math.fround(-2.5 * x), rtol: 0 },
];

test('binary ops (add, mul, axpy, swiglu) on every layout combination and odd sizes', () => {
  for (const [r, c] of [[1, 1], [3, 17], [33, 3], [1, 257]] as const) {
    for (const a of layouts(r, c)) for (const b of layouts(r, c)) for (const out of layouts(r, c)) {
      const av = a.toArray(), bv = b.toArray();
      add(out, a, b); assertClose(out.toArray(), av.map((v, i) => Math.fround(v + bv[i]!)), `add ${r}x${c}`, 0, 0);
      mul(out, a, b); assertClose(out.toArray(), av.map((v, i) => Math.fround(v * bv[i]!)), `mul ${r}x${c}`, 0, 0);
      swiglu(out, a, b); assertClose(out.toArray(), av.map((v, i) => refSilu(v) * bv[i]!), `swiglu ${r}x${c}`, 1e-6, 1e-7);
      assign(out, a); axpy(out, 0.75, b);
      assertClose(out.toArray(), av.map((v, i) => v + 0.75 * bv[i]!), `axpy ${r}x${c}`, 1e-6, 1e-7);
    }
  }
});

test('unary ops on every layout against float64 references', () => {
  for (const n of ODD_SIZES) for (const x of layouts(n, 3)) for (const out of layouts(n, 3)) {
    for (const u of unaries) {
      for (let i = 0; i < 3 * n; i++) x.data[i] = (rand() * 2 - 1) * 8;
      const xv = x.toArray();
      u.run(out, x);
      assertClose(out.toArray(), xv.map(u.ref), `${u.name} n=${n}`, u.rtol, 1e-7);
    }
  }
});

test('in place: out may be the input view itself', () => {
  const x = Tensor.from(randomArray(rand, 17), [17]);
  const expected = x.toArray().map(refSilu);
  silu(x, x);
  assertClose(x.data, expected, 'silu in place', 1e-6, 1e-7);
  const y = Tensor.from(randomArray(rand, 17), [17]), yv = y.toArray();
  add(y, y, y);
  assertClose(y.data, yv.map((v) => 2 * v), 'add in place', 0, 0);
});

test('GELU and SiLU saturate without NaN at extreme inputs', () => {
  const x = Float32Array.from([-1e4, -100, -30, -10, 0, 10, 30, 100, 1e4, -0]);
  const out = new Float32Array(x.length);
  for (const kernel of [raw.geluErf, raw.geluTanh, raw.silu]) {
    kernel(out, 0, x, 0, x.length);
    for (let i = 0; i < x.length; i++) {
      assert.ok(Number.isFinite(out[i]), `${kernel.name}(${x[i]}) = ${out[i]}`);
      if (x[i]! >= 30) assert.ok(Math.abs(out[i]! - x[i]!) <= 1e-5 * x[i]!, `${kernel.name}(${x[i]}) ≈ x`);
      if (x[i]! <= -30) assert.ok(Math.abs(out[i]!) < 1e-6, `${kernel.name}(${x[i]}) ≈ 0`);
    }
  }
});

test('erf/erfc are accurate to float32 precision across the range', () => {
  // The series reference is exact in float64 for |x| <= 4; beyond, erf is within 1.6e-8 of ±1.
  for (let x = -4; x <= 4; x += 0.0137) {
    const ref = refErf(x);
    assert.ok(Math.abs(raw.erf(x) - ref) <= 2e-7, `erf(${x}) = ${raw.erf(x)}, ref ${ref}`);
  }
  for (const x of [4.5, 6, 30]) assert.ok(Math.abs(raw.erf(x) - 1) <= 2e-8 && Math.abs(raw.erf(-x) + 1) <= 2e-8, `erf(±${x})`);
  // erfc keeps relative accuracy in the tail where 1 - erf would cancel (tabulated values).
  for (const [x, erfc] of [[3, 2.209049699858544e-5], [4, 1.541725790028002e-8], [5, 1.5374597944280349e-12]] as const) {
    assert.ok(Math.abs(raw.erfc(x) / erfc - 1) < 2e-7, `erfc(${x}) = ${raw.erfc(x)}, expected ${erfc}`);
  }
});

test('shape mismatch, partial overlap and bad arguments throw named errors', () => {
  assert.throws(() => add(Tensor.zeros([3]), Tensor.zeros([3]), Tensor.zeros([4])), /add: shapes of out, a, b must match, got \[3\] vs \[3\] vs \[4\]/);
  assert.throws(() => mul(Tensor.zeros([2, 3]), Tensor.zeros([3, 2]), Tensor.zeros([2, 3])), /mul: shapes of out, a, b must match, got \[2,3\] vs \[3,2\] vs \[2,3\]/);
  const buf = Tensor.zeros([10]);
  assert.throws(() => silu(buf.slice(0, 1, 6), buf.slice(0, 0, 5)), /silu: out \[5\] overlaps x \[5\] in memory without being the same view/);
  assert.throws(() => gelu(Tensor.zeros([2]), Tensor.zeros([2]), 'fast' as 'erf'), /gelu: approximation must be 'tanh' or 'erf', got fast/);
  assert.throws(() => scale(Tensor.zeros([2]), Tensor.zeros([2]), NaN), /scale: s must be a number, got NaN/);
  assert.throws(() => add(Tensor.zeros([2]), [1, 2] as unknown as Tensor, Tensor.zeros([2])), /add: a must be a Tensor, got Array/);
});

test.run();
