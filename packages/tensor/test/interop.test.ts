// @msrnn/tensor/interop: zero-copy ndarray conversion, and ndarray-ops as an independent
// implementation cross-checking the elementwise ops on views.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import ndarray from 'ndarray';
import ops from 'ndarray-ops';
import { Tensor, add, mul, scale } from '@msrnn/tensor';
import { fromNdarray, toNdarray } from '@msrnn/tensor/interop';
import { randomArray, rng } from './helpers.js';

const rand = rng(23);

test('toNdarray / fromNdarray share data, shape, strides and offset', () => {
  const t = Tensor.from(randomArray(rand, 60), [3, 4, 5]).slice(2, 1, 5, 2).transpose(2, 0, 1);
  const nd = toNdarray(t);
  assert.is(nd.data, t.data);
  assert.equal(nd.shape, t.shape);
  assert.equal(nd.stride, t.strides);
  assert.is(nd.offset, t.offset);
  assert.is(nd.get(1, 2, 3), t.get(1, 2, 3));
  nd.set(0, 1, 2, 42);
  assert.is(t.get(0, 1, 2), 42, 'a write through the ndarray is visible in the tensor');
  const back = fromNdarray(nd);
  assert.is(back.data, t.data);
  assert.equal(back.toArray(), t.toArray());
  // ndarray's own views (step/lo/hi/transpose) come back as equivalent tensors.
  const v = ndarray(randomArray(rand, 24), [4, 6]).hi(3, 5).lo(1, 1).step(1, 2).transpose(1, 0);
  const tv = fromNdarray(v);
  for (let i = 0; i < v.shape[0]!; i++) for (let j = 0; j < v.shape[1]!; j++) assert.is(tv.get(i, j), v.get(i, j));
});

test('negative ndarray strides are supported (data reached backwards)', () => {
  const v = ndarray(Float32Array.from([0, 1, 2, 3, 4]), [5]).step(-1);
  assert.equal(fromNdarray(v).toArray(), [4, 3, 2, 1, 0]);
});

test('fromNdarray rejects non-float32 storage and non-ndarrays', () => {
  assert.throws(() => fromNdarray(ndarray(new Float64Array(4), [2, 2])), /fromNdarray: ndarray \[2,2\] stores Float64Array; only Float32Array/);
  assert.throws(() => fromNdarray(ndarray([1, 2, 3], [3]) as never), /stores Array/);
  assert.throws(() => fromNdarray({} as never), /fromNdarray: argument must be an ndarray/);
});

test('add / mul / scale on strided and transposed views agree with ndarray-ops', () => {
  for (const [r, c] of [[1, 1], [3, 17], [33, 5], [17, 33]] as const) {
    const a = Tensor.from(randomArray(rand, r * c), [c, r]).transpose();              // transposed storage
    const b = Tensor.from(randomArray(rand, r * 2 * c), [r, 2 * c]).slice(1, 1, 2 * c, 2); // every other column
    const out = Tensor.zeros([r, c]), expected = ndarray(new Float32Array(r * c), [r, c]);
    add(out, a, b); ops.add(expected, toNdarray(a), toNdarray(b));
    assert.equal(out.toArray(), Array.from(expected.data as Float32Array), `add ${r}x${c}`);
    mul(out, a, b); ops.mul(expected, toNdarray(a), toNdarray(b));
    assert.equal(out.toArray(), Array.from(expected.data as Float32Array), `mul ${r}x${c}`);
    // Output through a view as well: write into the transposed layout.
    const outT = Tensor.zeros([c, r]).transpose();
    scale(outT, b, 0.3); ops.muls(expected, toNdarray(b), 0.3);
    assert.equal(outT.toArray(), Array.from(expected.data as Float32Array), `scale ${r}x${c}`);
  }
});

test.run();
