// argmax and top-k against a full sort, with ties, NaN, ±Inf and random property checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Tensor, argmax, raw, topk } from '../src/index.js';
import { ODD_SIZES, randomArray, rng } from './helpers.js';
import { refTopk } from './reference.js';

const rand = rng(17);

test('argmax: first maximum, offsets, NaN skipped, -Inf, empty', () => {
  for (const n of ODD_SIZES) {
    const x = randomArray(rand, n + 2);
    let best = 0;
    for (let i = 1; i < n; i++) if (x[2 + i]! > x[2 + best]!) best = i;
    assert.is(raw.argmax(x, 2, n), best, `n=${n}`);
  }
  assert.is(raw.argmax(Float32Array.from([1, 5, 5, 2]), 0, 4), 1, 'ties: first');
  assert.is(raw.argmax(Float32Array.from([NaN, 2, NaN, 3]), 0, 4), 3, 'NaN skipped');
  assert.is(raw.argmax(Float32Array.from([-Infinity, -Infinity]), 0, 2), 0, 'all -Inf: first');
  assert.is(raw.argmax(Float32Array.from([NaN, NaN]), 0, 2), -1, 'all NaN: none');
  assert.is(raw.argmax(new Float32Array(0), 0, 0), -1, 'empty');
  assert.is(argmax(Tensor.from([0, 9, 1, 9], [4]).slice(0, 2)), 1, 'checked argmax on a slice');
});

test('topk equals a full sort (value desc, index asc) on random vectors with many ties', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 0, maxLength: 300 }),
    fc.integer({ min: 0, max: 40 }),
    (ints, k) => {
      const x = Float32Array.from(ints, (v) => v / 2);
      const idx = new Int32Array(k), val = new Float32Array(k);
      const found = raw.topk(idx, val, x, 0, x.length, k);
      const ref = refTopk(x, k);
      assert.is(found, ref.index.length);
      assert.equal(Array.from(idx.subarray(0, found)), ref.index);
      assert.equal(Array.from(val.subarray(0, found)), ref.value);
      for (let s = found; s < k; s++) { assert.is(idx[s], -1); assert.ok(Number.isNaN(val[s])); }
    }), { numRuns: 200, seed: 42 });
});

test('topk skips NaN, keeps ±Inf, works at an offset and on odd sizes', () => {
  const x = Float32Array.from([7, NaN, -Infinity, 3, Infinity, NaN, 3, 0]);
  const idx = new Int32Array(8), val = new Float32Array(8);
  assert.is(raw.topk(idx, val, x, 1, 7, 8), 5);
  assert.equal(Array.from(idx), [3, 2, 5, 6, 1, -1, -1, -1]);
  assert.equal(Array.from(val.subarray(0, 5)), [Infinity, 3, 3, 0, -Infinity]);
  for (const n of ODD_SIZES) {
    const v = randomArray(rand, n), k = Math.min(n, 5);
    const found = topk(new Int32Array(k), new Float32Array(k), Tensor.from(v, [n]), k);
    assert.is(found, k);
  }
});

test('checked topk and argmax reject bad arguments', () => {
  const x = Tensor.zeros([4]);
  assert.throws(() => topk(new Int32Array(2), new Float32Array(2), x, 3), /topk: outputs hold 2 indices and 2 values, fewer than k = 3 \(x \[4\]\)/);
  assert.throws(() => topk(new Int32Array(2), new Float32Array(2), x, -1), /topk: k must be a non-negative integer, got -1/);
  assert.throws(() => argmax(Tensor.zeros([2, 2])), /argmax: x must have rank 1, got shape \[2,2\]/);
  assert.throws(() => argmax(Tensor.zeros([4, 2]).pick(1, 0)), /argmax: x must be contiguous along its last axis, got shape \[4\] with strides \[2\]/);
});

test.run();
