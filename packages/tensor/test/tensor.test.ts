// Tensor views: reshape/slice/pick/transpose share data, index the right elements, and bad
// arguments throw errors that name the op and the shapes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor, contiguousStrides } from '../src/index.js';

const iota = (n: number) => Float32Array.from({ length: n }, (_, i) => i);

test('row-major strides and element access', () => {
  assert.equal(contiguousStrides([2, 3, 4]), [12, 4, 1]);
  const t = Tensor.from(iota(24), [2, 3, 4]);
  assert.is(t.get(1, 2, 3), 23);
  assert.is(t.get(1, 0, 2), 14);
  t.set([0, 1, 1], -5);
  assert.is(t.data[5], -5);
  assert.ok(t.isContiguous());
  assert.is(t.size, 24);
  assert.is(t.ndim, 3);
});

test('views never copy: they share the Float32Array', () => {
  const t = Tensor.from(iota(12), [3, 4]);
  for (const v of [t.reshape([4, 3]), t.slice(1, 1, 3), t.transpose(), t.pick(0, 2), t.reshape([-1])]) {
    assert.is(v.data, t.data);
  }
  t.transpose().set([3, 2], 100); // element (2, 3) of t
  assert.is(t.get(2, 3), 100);
});

test('slice, step, negative bounds and pick index the right elements', () => {
  const t = Tensor.from(iota(20), [4, 5]);
  assert.equal(t.slice(1, 1, 4).toArray(), [1, 2, 3, 6, 7, 8, 11, 12, 13, 16, 17, 18]);
  assert.equal(t.slice(0, 0, 4, 2).slice(1, 0, 5, 2).toArray(), [0, 2, 4, 10, 12, 14]);
  assert.equal(t.slice(1, -2).pick(0, -1).toArray(), [18, 19]);
  assert.equal(t.pick(1, 3).toArray(), [3, 8, 13, 18]);
  assert.equal(t.slice(0, 2, 2).shape, [0, 5]);
  assert.ok(!t.slice(1, 1, 4).isContiguous());
  assert.ok(t.slice(0, 1, 3).isContiguous(), 'a row range stays contiguous');
});

test('transpose with explicit axes and reshape with -1', () => {
  const t = Tensor.from(iota(24), [2, 3, 4]);
  const p = t.transpose(2, 0, 1);
  assert.equal(p.shape, [4, 2, 3]);
  assert.is(p.get(3, 1, 2), t.get(1, 2, 3));
  assert.equal(t.reshape([4, -1]).shape, [4, 6]);
  assert.equal(t.transpose().transpose().toArray(), t.toArray());
});

test('contiguous() copies only when needed and produces row-major data', () => {
  const t = Tensor.from(iota(6), [2, 3]);
  assert.is(t.contiguous(), t);
  const c = t.transpose().contiguous();
  assert.is.not(c.data, t.data);
  assert.equal(Array.from(c.data), [0, 3, 1, 4, 2, 5]);
});

test('constructor rejects data that does not cover the shape, and bad shapes', () => {
  assert.throws(() => Tensor.from(new Float32Array(5), [2, 3]), /Tensor\.from: data length 5 does not match shape \[2,3\] \(6 elements\)/);
  assert.throws(() => new Tensor(new Float32Array(5), [2, 3]), /shape \[2,3\].*reaches elements \[0, 5\] but data has length 5/);
  assert.throws(() => new Tensor(new Float32Array(10), [2, 3], [3, 1], 5), /offset 5.*length 10/);
  assert.throws(() => new Tensor(new Float32Array(6), [2, 3], [1]), /strides \[1\] do not match shape \[2,3\]/);
  assert.throws(() => Tensor.zeros([2, -1]), /Tensor\.zeros: shape \[2,-1\] must hold non-negative integers/);
  assert.throws(() => new Tensor([1, 2] as unknown as Float32Array, [2]), /data must be a Float32Array, got Array/);
});

test('view errors name the op and the shapes', () => {
  const t = Tensor.from(iota(12), [3, 4]);
  assert.throws(() => t.reshape([5, 3]), /reshape: shape \[3,4\] \(12 elements\) cannot become \[5,3\] \(15 elements\)/);
  assert.throws(() => t.transpose().reshape([12]), /reshape: tensor with shape \[4,3\] and strides \[1,4\] is not contiguous/);
  assert.throws(() => t.reshape([-1, -1]), /at most one -1/);
  assert.throws(() => t.slice(2, 0, 1), /slice: axis 2 is out of range for shape \[3,4\] \(rank 2\)/);
  assert.throws(() => t.slice(1, 0, 5), /slice: range \[0, 5\) is out of bounds for axis 1 of shape \[3,4\]/);
  assert.throws(() => t.slice(1, 0, 4, 0), /slice: step 0/);
  assert.throws(() => t.pick(0, 3), /pick: index 3 is out of range for axis 0 of shape \[3,4\]/);
  assert.throws(() => t.transpose(0, 0), /transpose: axes \[0,0\] are not a permutation/);
  assert.throws(() => t.get(3, 0), /index \[3,0\] is out of range for shape \[3,4\]/);
  assert.throws(() => t.get(0), /index \[0\] has 1 entries for shape \[3,4\]/);
});

test('Tensor.zeros uses a supplied allocator (backend-owned memory)', () => {
  let asked = 0;
  const t = Tensor.zeros([2, 5], (n) => { asked = n; return new Float32Array(n + 3); });
  assert.is(asked, 10);
  assert.is(t.data.length, 13);
  assert.equal(t.toArray(), new Array(10).fill(0));
});

test.run();
