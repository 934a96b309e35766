// Q8 quantisation error bounds, and the SIMD fp16/Q8 matvecs against the plain TypeScript references.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  quantizeF16, quantizeQ8, matvecF16Js, matvecQ8Js, matvecWeights, matmulWeights, dequantizeRow, f32Weights, quantize, weightBytes, quantizeActivations16,
} from '../src/quant/weights.js';
import { float16BitsToNumber } from '../src/fp16.js';
import { jsBackend } from '../src/js-backend.js';
import { createWasmBackend, type WasmBackend } from '../src/wasm/backend.js';
import { buildKernelModule, type KernelExports } from '../src/wasm/kernels.js';
import { ODD_SIZES, assertClose, copyInto, randomArray, rng } from './helpers.js';

const rand = rng(0x9a17);
let wasm: WasmBackend;
test.before(async () => { wasm = await createWasmBackend({ initialBytes: 4 << 20 }); });

test('Q8 quantisation: error at most half a step per block; zero blocks stay zero', () => {
  const rows = 3, cols = 70; // 2 full blocks + a partial one of 6
  const src = randomArray(rand, rows * cols);
  src.fill(0, 32, 64); // row 0, block 1 all zero
  const q8 = quantizeQ8(src, 0, rows, cols);
  assert.is(q8.scales.length, rows * 3);
  assert.is(q8.scales[1], 0);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    const s = q8.scales[r * 3 + Math.floor(c / 32)]!;
    const back = q8.q[r * cols + c]! * s;
    assert.ok(Math.abs(back - src[r * cols + c]!) <= s / 2 + 1e-7, `q8 round trip r${r} c${c}`);
  }
  assert.is(weightBytes(q8), rows * cols + rows * 3 * 4);
  assert.throws(() => quantize('q4' as never, src, 0, rows, cols), /weight type must be one of f32, f16, q8, got "q4"/);
  assert.throws(() => quantizeQ8(src, 10, rows, cols), /exceeds the source length/);
});

test('int16 activation rounding: within half a step of each block scale, zero blocks stay zero', () => {
  const cols = 75;
  const x = randomArray(rand, cols + 3);
  for (let i = 0; i < x.length; i++) x[i]! *= 50;
  x.fill(0, 3 + 32, 3 + 64); // block 1 all zero
  const x16 = new Int16Array(cols), xs = new Float32Array(3);
  quantizeActivations16(x, 3, cols, x16, xs);
  assert.is(xs[1], 0);
  for (let c = 0; c < cols; c++) {
    const s = xs[Math.floor(c / 32)]!;
    assert.ok(Math.abs(x16[c]! * s - x[3 + c]!) <= s / 2 + 1e-6 * Math.abs(x[3 + c]!), `x[${c}]`);
    assert.ok(Math.abs(x16[c]!) <= 32767);
  }
});

test('wasm roundActivations: the block scales of quantizeActivations16 bit for bit, each int16 within 1 of its float64 rounding and within half a step (plus float32 rounding) of x', async () => {
  const memory = new WebAssembly.Memory({ initial: 2 });
  const { instance } = await WebAssembly.instantiate(buildKernelModule({ initialPages: 2, shared: false }), { env: { memory } });
  const k = instance.exports as unknown as KernelExports;
  const blocks = 6, cols = 32 * blocks, xAt = 4, x16At = 4096 + 2, xsAt = 8192; // unaligned on purpose
  const x = new Float32Array(memory.buffer, xAt, cols);
  for (let i = 0; i < cols; i++) x[i] = (rand() * 2 - 1) * 10 ** (Math.floor(i / 32) - 2); // blocks of very different scales
  x.fill(0, 64, 96); // block 2 all zero
  x[100] = 12.5; x[101] = -12.5; // the block's largest |x| (its others are under 10), both signs
  k.roundActivations(xAt, x16At, xsAt, blocks);
  const got = new Int16Array(memory.buffer, x16At, cols), xs = new Float32Array(memory.buffer, xsAt, blocks);
  const ref = new Int16Array(cols), refXs = new Float32Array(blocks);
  quantizeActivations16(x, 0, cols, ref, refXs);
  assert.equal(Array.from(xs), Array.from(refXs), 'block scales');
  for (let c = 0; c < cols; c++) {
    const s = xs[c >> 5]!;
    assert.ok(Math.abs(got[c]! - ref[c]!) <= 1, `x[${c}]: ${got[c]} vs ${ref[c]}`);
    assert.ok(Math.abs(got[c]! * s - x[c]!) <= s / 2 + 2 ** -23 * 32767 * s + 1e-30, `x[${c}] = ${x[c]} rounds to ${got[c]} × ${s}`);
  }
  assert.is(got[100], 32767); assert.is(got[101], -32767);
  assert.ok(got.subarray(64, 96).every((v) => v === 0), 'a zero block rounds to zeros');
});

test('wasm fp16 and Q8 matvecs match the TypeScript references on odd shapes', () => {
  for (const rows of ODD_SIZES) for (const cols of [1, 3, 17, 32, 33, 64, 257]) {
    const src = randomArray(rand, rows * cols), x = randomArray(rand, cols);
    const xv = wasm.alloc(cols); xv.set(x);

    const h = quantizeF16(src, 0, rows, cols, wasm);
    const eh = new Float32Array(rows), oh = wasm.alloc(rows);
    matvecF16Js(eh, 0, h.bits, 0, x, 0, rows, cols);
    wasm.matvecF16(oh, 0, h.bits, 0, xv, 0, rows, cols);
    assertClose(oh, eh, `f16 matvec ${rows}x${cols}`, 1e-5, 1e-5);

    const q = quantizeQ8(src, 0, rows, cols, wasm);
    const eq = new Float32Array(rows), oq = wasm.alloc(rows);
    matvecQ8Js(eq, 0, q.q, 0, q.scales, 0, x, 0, rows, cols);
    wasm.matvecQ8(oq, 0, q.q, 0, q.scales, 0, xv, 0, rows, cols);
    assertClose(oq, eq, `q8 matvec ${rows}x${cols}`, 1e-5, 1e-5);

    // Both stay close to the f32 product (quantisation error only).
    const ef = new Float32Array(rows);
    jsBackend.matvec(ef, 0, src, 0, x, 0, rows, cols);
    assertClose(eh, ef, `f16 vs f32 ${rows}x${cols}`, 2e-3, 2e-3 * Math.sqrt(cols));
    assertClose(eq, ef, `q8 vs f32 ${rows}x${cols}`, 2e-2, 1e-2 * Math.sqrt(cols));
  }
});

test('wasm fp16 matvec converts subnormal, zero and negative halves exactly', () => {
  const rows = 4, cols = 16;
  const src = Float32Array.from({ length: rows * cols }, (_, i) => [3e-7, -6e-8, 0, -0, 1e-5, -2.5e-6, 30000, -1][i % 8]! * (1 + (i % 5) / 7));
  const x = Float32Array.from({ length: cols }, (_, i) => (i % 3) - 1 + 0.25);
  const xv = wasm.alloc(cols); xv.set(x);
  const h = quantizeF16(src, 0, rows, cols, wasm);
  const e = new Float32Array(rows), o = wasm.alloc(rows);
  matvecF16Js(e, 0, h.bits, 0, x, 0, rows, cols);
  wasm.matvecF16(o, 0, h.bits, 0, xv, 0, rows, cols);
  assertClose(o, e, 'f16 special values', 1e-6, 0);
});

test('matvecWeights: same row slice for every weight type on both backends', () => {
  const rows = 40, cols = 96;
  const src = randomArray(rand, rows * cols), x = randomArray(rand, cols);
  const xv = copyInto(wasm, x), wsrc = copyInto(wasm, src);
  for (const type of ['f32', 'f16', 'q8'] as const) {
    const onJs = type === 'f32' ? f32Weights(src, 0, rows, cols) : quantize(type, src, 0, rows, cols);
    const onWasm = type === 'f32' ? f32Weights(wsrc, 0, rows, cols) : quantize(type, src, 0, rows, cols, wasm);
    const a = new Float32Array(12), b = wasm.alloc(12);
    matvecWeights(jsBackend, a, 2, onJs, x, 0, 5, 10);
    matvecWeights(wasm, b, 2, onWasm, xv, 0, 5, 10);
    assertClose(b, a, `matvecWeights ${type}`, 1e-5, 1e-5);
    assert.throws(() => matvecWeights(jsBackend, a, 0, onJs, x, 0, 35, 10), /rows \[35, 45\) outside 0..40/);
  }
});

test('matmulWeights: row i of the product is matvecWeights of row i, for every weight type on both backends', () => {
  const n = 37, k = 70, m = 5; // odd sizes: a partial Q8 block, rows not a multiple of 8
  const src = randomArray(rand, n * k), a = randomArray(rand, m * k);
  const wsrc = copyInto(wasm, src), wa = copyInto(wasm, a);
  for (const type of ['f32', 'f16', 'q8'] as const) {
    for (const [backend, w, x] of [
      [jsBackend, type === 'f32' ? f32Weights(src, 0, n, k) : quantize(type, src, 0, n, k), a],
      [wasm, type === 'f32' ? f32Weights(wsrc, 0, n, k) : quantize(type, src, 0, n, k, wasm), wa],
    ] as const) {
      const out = backend.alloc(m * n), row = backend.alloc(n);
      matmulWeights(backend, out, x, m, w);
      for (let i = 0; i < m; i++) {
        matvecWeights(backend, row, 0, w, x, i * k);
        assertClose(out.subarray(i * n, (i + 1) * n), row, `matmulWeights ${type} on ${backend.name}, row ${i}`, 1e-6, 1e-6);
      }
    }
  }
});

test('dequantizeRow: the stored value of every element, for every weight type', () => {
  const rows = 6, cols = 45;
  const src = randomArray(rand, rows * cols);
  const f16 = quantizeF16(src, 0, rows, cols), q8 = quantizeQ8(src, 0, rows, cols), f32 = f32Weights(src, 0, rows, cols);
  const out = new Float32Array(cols + 2);
  for (let r = 0; r < rows; r++) {
    dequantizeRow(out, 2, f32, r);
    for (let c = 0; c < cols; c++) assert.is(out[2 + c], src[r * cols + c], `f32 r${r} c${c}`);
    dequantizeRow(out, 2, f16, r);
    for (let c = 0; c < cols; c++) assert.is(out[2 + c], Math.fround(float16BitsToNumber(f16.bits[r * cols + c]!)), `f16 r${r} c${c}`);
    dequantizeRow(out, 2, q8, r);
    for (let c = 0; c < cols; c++) assert.is(out[2 + c], Math.fround(q8.q[r * cols + c]! * q8.scales[r * 2 + Math.floor(c / 32)]!), `q8 r${r} c${c}`);
  }
  assert.throws(() => dequantizeRow(out, 0, q8, rows), /row 6 outside 0..5/);
});

test.run();
