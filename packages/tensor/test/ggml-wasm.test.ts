// The wasm SIMD kernels on ggml blocks against dequantize-then-float64 on random blocks of every
// supported type: odd row counts, several blocks per row, row slices, output offsets, batches,
// and 2 threads equal to 1 thread bit for bit. The kernels split activations into two int16
// terms per value (per 32 values), so the tolerance is that rounding's bound (½ of the residual's
// step per value, times Σ|w|) plus float32 accumulation — not a loose constant.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GGML, createWasmBackend, dequantizeRow, ggmlRowBytes, ggmlTypeInfo, ggmlWeights, matmulWeights, matvecWeights, type WasmBackend } from '../src/index.js';
import { rng } from './helpers.js';
import { KERNEL_TYPES, dequantizeMatrix, randomGgmlMatrix, referenceProduct, typeName } from './ggml-helpers.js';
import { buildKernelModule, type KernelExports } from '../src/wasm/kernels.js';
import { splitActivations16 } from '../src/quant/weights.js';

const rand = rng(0x3a5d);
let one: WasmBackend, two: WasmBackend;
test.before(async () => {
  one = await createWasmBackend({ initialBytes: 16 << 20 });
  two = await createWasmBackend({ initialBytes: 16 << 20, threads: 2 });
});
test.after(async () => { await two.dispose(); });

const colsFor = (type: number): number[] => {
  const bs = ggmlTypeInfo(type).blockSize;
  return bs === 1 ? [1, 7, 33, 64] : [bs, 2 * bs, 3 * bs];
};

/** Per output: the split-int16 activation rounding bound Σ_b (amax_b/32767/65534/2)·Σ_{c∈b}|w_c| + 2e-6·Σ|w·x|. */
function tolerances(w: Float32Array, x: Float32Array, m: number, rows: number, cols: number, scale: Float64Array, quantizedX: boolean): Float64Array {
  const tol = new Float64Array(m * rows);
  for (let i = 0; i < m; i++) for (let r = 0; r < rows; r++) {
    let t = 0;
    if (quantizedX) {
      for (let b = 0; b * 32 < cols; b++) {
        let amax = 0, wsum = 0;
        for (let c = 32 * b; c < Math.min(cols, 32 * b + 32); c++) { amax = Math.max(amax, Math.abs(x[i * cols + c]!)); wsum += Math.abs(w[r * cols + c]!); }
        t += (amax / 32767 / 65534 / 2) * wsum;
      }
    }
    tol[i * rows + r] = t + 2e-6 * scale[i * rows + r]! + 1e-30;
  }
  return tol;
}

function check(got: ArrayLike<number>, ref: Float64Array, tol: Float64Array, what: string): void {
  assert.is(got.length, ref.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i]! - ref[i]!);
    if (!(err <= tol[i]!)) assert.unreachable(`${what}[${i}]: ${got[i]} vs ${ref[i]} (error ${err}, tolerance ${tol[i]})`);
  }
}

for (const type of KERNEL_TYPES) {
  test(`wasm backend: ${typeName(type)} matvec and batched product equal dequantize-then-f64`, () => {
    const plain = ggmlTypeInfo(type).blockSize === 1;
    for (const rows of [1, 3, 17, 33]) for (const cols of colsFor(type)) {
      const skip = 2, all = rows + skip;
      const bytes = randomGgmlMatrix(rand, type, all, cols);
      const w = ggmlWeights(type, all, cols, bytes, one);
      assert.ok(one.heap.owns(w.data), 'copied into wasm memory');
      const wfAll = dequantizeMatrix(type, bytes, 0, all, cols), wf = wfAll.subarray(skip * cols);
      const m = 3, x = one.alloc(1 + m * cols);
      for (let i = 0; i < x.length; i++) x[i] = (rand() * 2 - 1) * 3;
      const what = `${typeName(type)} ${rows}×${cols}`;

      const out = one.alloc(rows + 1);
      matvecWeights(one, out, 1, w, x, 1, skip, rows);
      assert.is(out[0], 0, 'nothing written before oOff');
      const x1 = x.subarray(1, 1 + cols), ref = referenceProduct(wf, x1, 1, rows, cols);
      check(out.subarray(1), ref.out, tolerances(wf, x1, 1, rows, cols, ref.scale, !plain), `${what} matvec`);

      const outB = one.alloc(m * all), xb = x.subarray(1);
      matmulWeights(one, outB, xb, m, w);
      const refB = referenceProduct(wfAll, xb, m, all, cols);
      check(outB, refB.out, tolerances(wfAll, xb, m, all, cols, refB.scale, !plain), `${what} batched`);

      const row = one.alloc(cols);
      dequantizeRow(row, 0, w, skip + rows - 1);
      assert.equal(Array.from(row), Array.from(wfAll.subarray((all - 1) * cols, all * cols)), `${what} dequantizeRow`);
    }
  });
}

test('2 threads: every ggml type gives the 1-thread results bit for bit (rows split across threads)', () => {
  for (const type of KERNEL_TYPES) {
    const cols = ggmlTypeInfo(type).blockSize === 1 ? 288 : 2 * ggmlTypeInfo(type).blockSize * (ggmlTypeInfo(type).blockSize === 32 ? 8 : 1);
    const rows = 1001;
    const bytes = randomGgmlMatrix(rand, type, rows, cols);
    const w1 = ggmlWeights(type, rows, cols, bytes, one), w2 = ggmlWeights(type, rows, cols, bytes, two);
    const x1 = one.alloc(cols), x2 = two.alloc(cols);
    for (let i = 0; i < cols; i++) x1[i] = x2[i] = rand() * 2 - 1;
    const o1 = one.alloc(rows), o2 = two.alloc(rows);
    matvecWeights(one, o1, 0, w1, x1, 0);
    matvecWeights(two, o2, 0, w2, x2, 0);
    assert.equal(Array.from(o2), Array.from(o1), `${typeName(type)} ${rows}×${cols}`);
  }
});

test('every ggml type: a row\'s result does not depend on the rows computed with it (any slice of rows gives the full product\'s bits)', () => {
  // The 32-value kernels take four rows per step (a quarter of the slice apart) and reduce across
  // them: a row must come out the same whichever rows share its step, or a thread split would change bits.
  for (const type of KERNEL_TYPES) {
    const bs = ggmlTypeInfo(type).blockSize, cols = bs === 1 ? 40 : bs === 256 ? 512 : 6 * bs;
    const rows = 23;
    const bytes = randomGgmlMatrix(rand, type, rows, cols);
    const w = ggmlWeights(type, rows, cols, bytes, one);
    const x = one.alloc(cols), full = one.alloc(rows), part = one.alloc(rows);
    for (let i = 0; i < cols; i++) x[i] = rand() * 2 - 1;
    matvecWeights(one, full, 0, w, x, 0);
    for (const [start, count] of [[0, 1], [0, 2], [1, 3], [5, 4], [3, 5], [2, 7], [7, 16], [0, 22]] as const) {
      part.fill(NaN);
      matvecWeights(one, part, start, w, x, 0, start, count);
      for (let r = start; r < start + count; r++) {
        if (!Object.is(part[r], full[r])) assert.unreachable(`${typeName(type)} rows [${start}, ${start + count}): row ${r} ${part[r]} vs ${full[r]}`);
      }
    }
  }
});

test('wasm matvecGgml: clear errors for data outside wasm memory and out-of-range rows', () => {
  const bytes = new Uint8Array(ggmlRowBytes(8, 64) * 2);
  const x = one.alloc(64), out = one.alloc(3);
  assert.throws(() => one.matvecGgml(8, out, 0, bytes, 0, x, 0, 2, 64), /data is not in this backend's WebAssembly memory/);
  const inHeap = one.allocU8(bytes.length);
  assert.throws(() => one.matvecGgml(8, out, 0, inHeap, 0, x, 0, 3, 64), /data\[0 \.\. 204\) is outside its length 136/);
  assert.throws(() => one.matvecGgml(10, out, 0, inHeap, 0, x, 0, 2, 256), /Q2_K \(id 10\) is not supported/);
});


for (const type of KERNEL_TYPES) {
  test(`wasm backend: ${typeName(type)} products of 3, 9 and 17 rows over several panels (F32, and the other types from 4 rows: through the f32 matmul, within float rounding; else one matvec per row, bit for bit), 2 threads = 1`, () => {
    const bs = ggmlTypeInfo(type).blockSize, cols = bs === 1 ? 33 : bs === 256 ? 512 : 96; // 33: conversions with a tail
    const rows = 1031; // several panels
    const bytes = randomGgmlMatrix(rand, type, rows, cols);
    const w = ggmlWeights(type, rows, cols, bytes, one), w2 = ggmlWeights(type, rows, cols, bytes, two);
    const wf = dequantizeMatrix(type, bytes, 0, rows, cols);
    for (const m of [3, 9, 17]) {
      const viaF32 = type === GGML.F32 || m >= 4, what = `${typeName(type)} m=${m}`;
      const x = one.alloc(m * cols);
      for (let i = 0; i < x.length; i++) x[i] = (rand() * 2 - 1) * 3;
      const batched = one.alloc(m * rows), single = one.alloc(m * rows);
      matmulWeights(one, batched, x, m, w);
      for (let i = 0; i < m; i++) matvecWeights(one, single, i * rows, w, x, i * cols);
      for (let i = 0; i < m * rows && !viaF32; i++) {
        if (!Object.is(batched[i], single[i])) assert.unreachable(`${what} [${i}]: batched ${batched[i]} vs matvec ${single[i]}`);
      }
      const ref = referenceProduct(wf, x, m, rows, cols);
      check(batched, ref.out, tolerances(wf, x, m, rows, cols, ref.scale, bs !== 1 && !viaF32), `${what} batched`);
      const x2 = two.alloc(m * cols), batched2 = two.alloc(m * rows);
      x2.set(x);
      matmulWeights(two, batched2, x2, m, w2);
      assert.equal(Array.from(batched2), Array.from(batched), `${what}: 2 threads = 1 thread`);
    }
  });
}

test('wasm splitActivations: the same block scales as splitActivations16, h + l/65534 within float32 rounding of x, block sums', async () => {
  const memory = new WebAssembly.Memory({ initial: 2 });
  const { instance } = await WebAssembly.instantiate(buildKernelModule({ initialPages: 2, shared: false }), { env: { memory } });
  const k = instance.exports as unknown as KernelExports;
  const blocks = 6, cols = 32 * blocks, xAt = 0, outAt = 4096, xsAt = 8192, sumAt = 9216;
  const x = new Float32Array(memory.buffer, xAt, cols);
  for (let i = 0; i < cols; i++) x[i] = (rand() * 2 - 1) * 10 ** (Math.floor(i / 32) - 2); // blocks of very different scales
  x.fill(0, 64, 96); // block 2 all zero
  x[100] = 7.5; x[101] = -7.5; // ties at the block's largest value
  k.splitActivations(xAt, outAt, xsAt, sumAt, blocks);
  const got = new Int16Array(memory.buffer, outAt, 64 * blocks), xs = new Float32Array(memory.buffer, xsAt, blocks), sums = new Float32Array(memory.buffer, sumAt, blocks);
  const ref = new Int16Array(64 * blocks), refXs = new Float32Array(blocks);
  splitActivations16(x, 0, cols, ref, refXs);
  assert.equal(Array.from(xs), Array.from(refXs), 'block scales');
  for (let b = 0; b < blocks; b++) {
    let amax = 0, sum = 0;
    for (let c = 32 * b; c < 32 * b + 32; c++) { amax = Math.max(amax, Math.abs(x[c]!)); sum += x[c]!; }
    for (let c = 0; c < 32; c++) {
      const v = x[32 * b + c]!, back = xs[b]! * (got[64 * b + c]! + got[64 * b + 32 + c]! / 65534);
      // Half a residual step plus the float32 rounding of x/scale (2^-24 relative, up to 32767 h steps).
      assert.ok(Math.abs(back - v) <= amax * (1 / 32767 / 65534 / 2 + 2 ** -23) + 1e-30, `block ${b} value ${c}: ${back} vs ${v}`);
      assert.ok(Math.abs(got[64 * b + c]! - ref[64 * b + c]!) <= 1, `block ${b} value ${c}: h ${got[64 * b + c]} vs ${ref[64 * b + c]}`);
    }
    assert.ok(Math.abs(sums[b]! - sum) <= 32 * 2 ** -23 * amax * 32 + 1e-30, `block ${b} sum ${sums[b]} vs ${sum}`);
  }
  assert.ok(got.subarray(128, 192).every((v) => v === 0), 'a zero block splits to zeros');
});

test.run();
