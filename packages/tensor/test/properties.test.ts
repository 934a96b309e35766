// Property tests over random shapes and random view layouts (fast-check, fixed seeds so failures
// reproduce): the checked ops must agree with plain references whatever the strides.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Tensor, add, assign, matmul, matmulT, matvec, rmsnorm, softmax } from '../src/index.js';
import { assertClose, randomArray, rng } from './helpers.js';
import { refMatmulT, refMatvec, refRmsnorm, refSoftmax } from './reference.js';

const rand = rng(29);

/**
 * The logical (r×c) matrix `values` laid out one of four ways: packed, stored transposed, as a
 * column slice of a wider matrix, or with every other row and column of a 2× larger one.
 */
function layout(values: Float32Array, r: number, c: number, kind: number): Tensor {
  const packed = Tensor.from(values, [r, c]);
  switch (kind) {
    case 0: return packed;
    case 1: return packed.transpose().copy().transpose();
    case 2: { const t = Tensor.zeros([r, c + 5]).slice(1, 2, c + 2); return assign(t, packed); }
    default: { const t = Tensor.zeros([2 * r, 2 * c]).slice(0, 0, 2 * r, 2).slice(1, 1, 2 * c, 2); return assign(t, packed); }
  }
}

const dim = fc.integer({ min: 1, max: 37 });
const kind = fc.integer({ min: 0, max: 3 });

test('matmul / matmulT agree with the reference for random shapes and every usable layout', () => {
  fc.assert(fc.property(dim, dim, dim, kind, kind, (m, n, k, ka, kb) => {
    const av = randomArray(rand, m * k), bv = randomArray(rand, n * k); // b as (n×k)
    const expected = Float32Array.from(refMatmulT(av, bv, m, n, k));
    const b = layout(bv, n, k, kb);
    // a needs unit stride on its last axis: layouts 0 and 2 (others throw a layout error).
    const a = layout(av, m, k, ka);
    const aUsable = ka === 0 || ka === 2 || k === 1 || (ka === 1 && m === 1);
    const bUsable = kb !== 3 || k === 1 || n === 1;
    const out = Tensor.zeros([m, n]);
    if (!aUsable || !bUsable) {
      assert.throws(() => matmulT(out, a, b), /has no unit-stride axis|must be row-major/);
      return;
    }
    matmulT(out, a, b);
    assertClose(out.data, expected, `matmulT ${m}x${n}x${k} layouts ${ka},${kb}`, 1e-5, 1e-5);
    out.data.fill(0);
    matmul(out, a, b.transpose());
    assertClose(out.data, expected, `matmul ${m}x${n}x${k} layouts ${ka},${kb}`, 1e-5, 1e-5);
  }), { numRuns: 150, seed: 1 });
});

test('matvec agrees with the reference for random shapes and weight layouts', () => {
  fc.assert(fc.property(dim, dim, fc.integer({ min: 0, max: 2 }), (rows, cols, kw) => {
    const wv = randomArray(rand, rows * cols), x = Tensor.from(randomArray(rand, cols), [cols]);
    const out = Tensor.zeros([rows]);
    matvec(out, layout(wv, rows, cols, kw), x);
    assertClose(out.data, Float32Array.from(refMatvec(wv, x.data, rows, cols)), `matvec ${rows}x${cols} layout ${kw}`, 1e-5, 1e-5);
  }), { numRuns: 100, seed: 2 });
});

test('add over random rank-0..4 shapes with random axis permutations and steps', () => {
  const shape = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 0, maxLength: 4 });
  fc.assert(fc.property(shape, fc.integer(), (dims, seed) => {
    const local = rng(seed);
    const n = dims.reduce((p, d) => p * d, 1);
    // A permuted view of a permuted allocation: logical shape `dims`, scrambled strides.
    const perm = dims.map((_, i) => i).sort(() => local() - 0.5);
    const inverse = perm.map((_, i) => perm.indexOf(i));
    const scrambled = (values: Float32Array) => {
      const storage = Tensor.from(values, dims).transpose(...perm).copy();
      return storage.transpose(...inverse);
    };
    const av = randomArray(local, n), bv = randomArray(local, n);
    const a = dims.length ? scrambled(av) : Tensor.from(av, []), b = Tensor.from(bv, dims);
    const out = dims.length ? scrambled(new Float32Array(n)) : Tensor.zeros([]);
    add(out, a, b);
    assert.equal(out.toArray(), Array.from(av, (v, i) => Math.fround(v + bv[i]!)));
  }), { numRuns: 150, seed: 3 });
});

test('rmsnorm and softmax over random batch shapes with strided leading axes', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), dim, (b0, b1, n) => {
    const base = Tensor.from(randomArray(rand, b1 * b0 * n), [b1, b0, n]).transpose(1, 0, 2); // [b0,b1,n], leading axes swapped
    const rows = base.copy().reshape([-1, n]).toArray();
    const w = Tensor.from(randomArray(rand, n), [n]);
    const out = Tensor.zeros([b0, b1, n]);
    rmsnorm(out, base, w, 1e-6);
    const got = out.reshape([-1, n]);
    for (let r = 0; r < b0 * b1; r++) {
      assertClose(got.pick(0, r).toArray(), refRmsnorm(rows.slice(r * n, (r + 1) * n), w.data, 1e-6), `rmsnorm row ${r}`, 1e-5, 1e-6);
    }
    softmax(base);
    const sm = base.copy().reshape([-1, n]);
    for (let r = 0; r < b0 * b1; r++) {
      assertClose(sm.pick(0, r).toArray(), refSoftmax(rows.slice(r * n, (r + 1) * n)), `softmax row ${r}`, 1e-6, 1e-7);
    }
  }), { numRuns: 60, seed: 4 });
});

test.run();
