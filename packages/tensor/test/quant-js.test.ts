// The pure-TS fp16/Q8 matvecs (8 striped rows at a time) against plain one-row-at-a-time loops
// written here: identical results bit for bit, on odd shapes, with offsets and row slices.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Q8_BLOCK, matvecF16Js, matvecQ8Js, quantizeActivations16, quantizeF16, quantizeQ8 } from '../src/quant/weights.js';
import { float16Table } from '../src/fp16.js';
import { raw } from '../src/index.js';
import { ODD_SIZES, randomArray, rng } from './helpers.js';

const rand = rng(0x51de);
const ROW_COUNTS = [...ODD_SIZES, 8, 15, 16, 24, 65];

/** out[r] = Σ_c half(bits[wOff + r*cols + c]) · x[c], summed left to right in float64. */
function plainF16(bits: Uint16Array, wOff: number, x: Float32Array, rows: number, cols: number): Float32Array {
  const t = float16Table(), out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += t[bits[wOff + r * cols + c]!]! * x[c]!;
    out[r] = s;
  }
  return out;
}

/** The Q8 arithmetic spelled out: integer block sums, then Σ_b sum_b · (scale_w · scale_x) left to right. */
function plainQ8(q: Int8Array, qOff: number, scales: Float32Array, sOff: number, x: Float32Array, rows: number, cols: number): Float32Array {
  const blocks = Math.ceil(cols / Q8_BLOCK), x16 = new Int16Array(cols), xs = new Float32Array(blocks), out = new Float32Array(rows);
  quantizeActivations16(x, 0, cols, x16, xs);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let b = 0; b < blocks; b++) {
      let bs = 0;
      for (let c = b * Q8_BLOCK; c < Math.min(cols, (b + 1) * Q8_BLOCK); c++) bs += q[qOff + r * cols + c]! * x16[c]!;
      s += bs * (scales[sOff + r * blocks + b]! * xs[b]!);
    }
    out[r] = s;
  }
  return out;
}

test('pure-TS fp16 and Q8 matvecs equal plain loops bit for bit (odd shapes, row slices, output offset)', () => {
  for (const rows of ROW_COUNTS) for (const cols of [1, 3, 17, 32, 33, 64, 257]) {
    const skip = 2; // start at row 2 of the matrix: a row slice, as matvecWeights passes it
    const src = randomArray(rand, (rows + skip) * cols), x = randomArray(rand, cols + 1);
    for (let i = 0; i < x.length; i++) x[i]! *= 3;
    const xv = x.subarray(1);

    const h = quantizeF16(src, 0, rows + skip, cols);
    const oh = new Float32Array(rows + 1);
    matvecF16Js(oh, 1, h.bits, skip * cols, x, 1, rows, cols);
    assert.equal(Array.from(oh.subarray(1)), Array.from(plainF16(h.bits, skip * cols, xv, rows, cols)), `f16 ${rows}x${cols}`);
    assert.is(oh[0], 0, 'f16: nothing written before oOff');

    const q = quantizeQ8(src, 0, rows + skip, cols);
    const blocks = Math.ceil(cols / Q8_BLOCK);
    const oq = new Float32Array(rows + 1);
    matvecQ8Js(oq, 1, q.q, skip * cols, q.scales, skip * blocks, x, 1, rows, cols);
    assert.equal(Array.from(oq.subarray(1)), Array.from(plainQ8(q.q, skip * cols, q.scales, skip * blocks, xv, rows, cols)), `q8 ${rows}x${cols}`);
    assert.is(oq[0], 0, 'q8: nothing written before oOff');
  }
});

test('Q8: extreme blocks (all ±127 against full-scale activations) stay exact in int32', () => {
  const rows = 17, cols = 96;
  const src = Float32Array.from({ length: rows * cols }, (_, i) => ((i >> 1) % 2 === 0 ? 1 : -1) * 5);
  const x = Float32Array.from({ length: cols }, (_, i) => ((i >> 1) % 2 === 0 ? 1 : -1) * 7);
  const q = quantizeQ8(src, 0, rows, cols);
  const out = new Float32Array(rows);
  matvecQ8Js(out, 0, q.q, 0, q.scales, 0, x, 0, rows, cols);
  assert.equal(Array.from(out), Array.from(plainQ8(q.q, 0, q.scales, 0, x, rows, cols)));
  for (const v of out) assert.ok(Math.abs(v - cols * 35) < 1e-3 * cols * 35, `${v} ≈ ${cols * 35}`);
});

test('raw matvec: striped rows with a row stride wider than cols equal the sequential sum', () => {
  for (const rows of [8, 17, 40]) for (const cols of [3, 33]) {
    const stride = cols + 5, w = randomArray(rand, 4 + rows * stride), x = randomArray(rand, cols);
    const out = new Float32Array(rows);
    raw.matvec(out, 0, w, 4, x, 0, rows, cols, stride);
    const ref = new Float32Array(rows);
    for (let r = 0; r < rows; r++) { let s = 0; for (let c = 0; c < cols; c++) s += w[4 + r * stride + c]! * x[c]!; ref[r] = s; }
    assert.equal(Array.from(out), Array.from(ref), `${rows}x${cols} stride ${stride}`);
  }
});

test('fp16: a weight beyond f16\'s range is an error naming its place, not an Inf the wasm kernels would read as finite', () => {
  const src = new Float32Array(6 * 8).fill(0.5);
  src[0] = 65504; src[1] = -65504; // the largest halves: kept exactly
  assert.equal(Array.from(quantizeF16(src, 0, 6, 8).bits.subarray(0, 2)), [0x7bff, 0xfbff]);
  for (const big of [65520, -1e6, 2 ** 100]) {
    src[3 * 8 + 5] = big;
    assert.throws(() => quantizeF16(src, 0, 6, 8), (e: Error) => e instanceof RangeError && e.message === `quantizeF16: weight [3, 5] = ${big} does not fit an f16 (largest magnitude 65504): keep these weights in f32 or q8`);
  }
});

test.run();
