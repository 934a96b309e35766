// Row-wise ops (rmsnorm, layernorm, softmax, RoPE) against references, including hard numerics.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor, layernorm, raw, rmsnorm, rope, softmax } from '../src/index.js';
import { assertClose, ODD_SIZES, randomArray, rng } from './helpers.js';
import { refLayernorm, refRmsnorm, refRope, refSoftmax } from './reference.js';

const rand = rng(13);

/** A (rows×n) tensor whose rows are contiguous but whose row stride is n+3 (a column slice). */
function paddedRows(rows: number, n: number): Tensor {
  return Tensor.from(randomArray(rand, rows * (n + 3)), [rows, n + 3]).slice(1, 3);
}

test('rmsnorm and layernorm per row, padded rows, odd sizes', () => {
  for (const n of ODD_SIZES) {
    const x = paddedRows(4, n), w = Tensor.from(randomArray(rand, n), [n]), b = Tensor.from(randomArray(rand, n), [n]);
    const out = Tensor.zeros([4, n]);
    rmsnorm(out, x, w, 1e-5);
    for (let r = 0; r < 4; r++) assertClose(out.pick(0, r).toArray(), refRmsnorm(x.pick(0, r).toArray(), w.data, 1e-5), `rmsnorm n=${n} row ${r}`, 1e-5, 1e-6);
    layernorm(out, x, w, b, 1e-5);
    for (let r = 0; r < 4; r++) assertClose(out.pick(0, r).toArray(), refLayernorm(x.pick(0, r).toArray(), w.data, b.data, 1e-5), `layernorm n=${n} row ${r}`, 1e-5, 1e-5);
    layernorm(out, x, w, null, 1e-5);
    assertClose(out.pick(0, 0).toArray(), refLayernorm(x.pick(0, 0).toArray(), w.data, null, 1e-5), `layernorm no bias n=${n}`, 1e-5, 1e-5);
  }
});

test('rmsnorm of zeros is zeros, not NaN; layernorm of a constant row is the bias', () => {
  const zeros = new Float32Array(33), w = Float32Array.from({ length: 33 }, (_, i) => i + 1), out = new Float32Array(33).fill(7);
  raw.rmsnorm(out, 0, zeros, 0, w, 0, 33, 1e-6);
  assert.equal(Array.from(out), new Array(33).fill(0));
  const constant = new Float32Array(17).fill(1e6), bias = randomArray(rand, 17), ones = new Float32Array(17).fill(1), o2 = new Float32Array(17);
  raw.layernorm(o2, 0, constant, 0, ones, 0, bias, 0, 17, 1e-5);
  assertClose(o2, bias, 'layernorm(constant) = bias', 0, 1e-6);
});

test('layernorm keeps precision with a large common offset (two-pass variance)', () => {
  const n = 257, x = new Float32Array(n), ones = new Float32Array(n).fill(1), out = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 1e4 + (i % 7) - 3;
  raw.layernorm(out, 0, x, 0, ones, 0, null, 0, n, 0);
  assertClose(out, refLayernorm(x, ones, null, 0), 'offset 1e4', 1e-5, 1e-5);
});

test('softmax: random rows, ±1e4, all equal, single element, +Inf', () => {
  for (const n of ODD_SIZES) {
    const x = paddedRows(3, n), before = [0, 1, 2].map((r) => x.pick(0, r).toArray());
    softmax(x);
    for (let r = 0; r < 3; r++) assertClose(x.pick(0, r).toArray(), refSoftmax(before[r]!), `softmax n=${n} row ${r}`, 1e-6, 1e-7);
  }
  const big = Float32Array.from([1e4, -1e4, 0, 1e4 - 1]);
  raw.softmax(big, 0, 4);
  const e1 = Math.exp(-1);
  assertClose(big, [1 / (1 + e1), 0, 0, e1 / (1 + e1)], 'softmax ±1e4', 1e-6, 1e-30);
  const neg = Float32Array.from([-1e4, -1e4 - 2]);
  raw.softmax(neg, 0, 2);
  assertClose(neg, [1 / (1 + Math.exp(-2)), Math.exp(-2) / (1 + Math.exp(-2))], 'softmax -1e4', 1e-6, 0);
  const flat = new Float32Array(17).fill(3);
  raw.softmax(flat, 0, 17);
  assertClose(flat, new Array(17).fill(1 / 17), 'softmax of equal values', 1e-6, 0);
  const one = Float32Array.from([-42]);
  raw.softmax(one, 0, 1);
  assert.is(one[0], 1);
  const inf = Float32Array.from([Infinity, 0, Infinity, -Infinity]);
  raw.softmax(inf, 0, 4);
  assert.equal(Array.from(inf), [0.5, 0, 0.5, 0], '+Inf entries share the mass');
  const masked = Float32Array.from([-Infinity, -Infinity]);
  raw.softmax(masked, 0, 2);
  assert.ok(masked.every(Number.isNaN), 'an all -Inf row has no softmax: NaN, never a made-up distribution');
});

test('RoPE interleaved and half-split match the complex-rotation definition, any base, partial rotary', () => {
  for (const style of ['interleaved', 'half'] as const) {
    for (const [heads, headDim, rotaryDim, base] of [[1, 2, 2, 10000], [3, 8, 8, 10000], [2, 48, 48, 500000], [4, 16, 8, 10000], [1, 64, 32, 1e6]] as const) {
      for (const pos of [0, 1, 7, 255, 4095]) {
        const x = Tensor.from(randomArray(rand, heads * headDim), [heads, headDim]);
        const expected = refRope(x.data, headDim, rotaryDim, pos, base, style);
        rope(x, pos, { style, base, rotaryDim });
        assertClose(x.data, expected, `${style} h=${heads} d=${headDim} r=${rotaryDim} base=${base} pos=${pos}`, 1e-5, 1e-6);
      }
    }
  }
});

test('RoPE conventions differ exactly by a permutation of dims (interleaved ⇔ half-split)', () => {
  const d = 16, x = randomArray(rand, d);
  // Moving pair (2i, 2i+1) to (i, i+d/2) turns the interleaved rotation into the half-split one.
  const perm = Float32Array.from({ length: d }, (_, j) => (j < d / 2 ? x[2 * j]! : x[2 * (j - d / 2) + 1]!));
  raw.rope(x, 0, 1, d, d, 37, 10000, 'interleaved');
  raw.rope(perm, 0, 1, d, d, 37, 10000, 'half');
  for (let i = 0; i < d / 2; i++) {
    assert.is(perm[i], x[2 * i]);
    assert.is(perm[i + d / 2], x[2 * i + 1]);
  }
});

test('RoPE at position 0 is the identity and preserves each pair norm', () => {
  const x = randomArray(rand, 32), copy = x.slice();
  raw.rope(x, 0, 2, 16, 16, 0, 10000, 'half');
  assert.equal(Array.from(x), Array.from(copy));
  raw.rope(x, 0, 2, 16, 16, 1000, 10000, 'interleaved');
  for (let p = 0; p < 16; p++) {
    const before = Math.hypot(copy[2 * p]!, copy[2 * p + 1]!), after = Math.hypot(x[2 * p]!, x[2 * p + 1]!);
    assert.ok(Math.abs(before - after) < 1e-6, `pair ${p} norm`);
  }
});

test('row ops reject bad shapes, strides and parameters with named errors', () => {
  const x = Tensor.zeros([2, 4]);
  assert.throws(() => rmsnorm(Tensor.zeros([2, 4]), x, Tensor.zeros([5])), /rmsnorm: w \[5\] must have length 4 \(the last axis of x\)/);
  assert.throws(() => rmsnorm(Tensor.zeros([2, 5]), x, Tensor.zeros([4])), /rmsnorm: shapes of out, x must match, got \[2,5\] vs \[2,4\]/);
  assert.throws(() => rmsnorm(Tensor.zeros([4, 2]), x.transpose(), Tensor.zeros([2])), /rmsnorm: x must be contiguous along its last axis, got shape \[4,2\] with strides \[1,4\]/);
  assert.throws(() => rmsnorm(Tensor.zeros([2, 4]), x, Tensor.zeros([4]), -1), /rmsnorm: eps must be a number >= 0, got -1/);
  assert.throws(() => layernorm(Tensor.zeros([2, 4]), x, Tensor.zeros([4]), Tensor.zeros([3])), /layernorm: b \[3\] must have length 4/);
  assert.throws(() => softmax(x.transpose()), /softmax: x must be contiguous along its last axis/);
  assert.throws(() => rope(x, 0, { style: 'interleaved', rotaryDim: 3 }), /rope: rotaryDim 3 must be even and at most the head size 4 \(x shape \[2,4\]\)/);
  assert.throws(() => rope(x, -1, { style: 'half' }), /rope: pos must be a non-negative integer, got -1/);
  assert.throws(() => rope(x, 0, { style: 'neox' as 'half' }), /rope: style must be 'interleaved' or 'half', got neox/);
});

test.run();
