// The four-rows layout (quant/rows4.ts, kernels/rows4.ts): repacking keeps every byte (a row
// unpacked is the file's row), and each reader of repacked weights gives the plain weights' results
// bit for bit: the decode matvec (the plain kernel), any slice of rows, several matrices as one job,
// a prompt's product (per row and through f32 panels), 2 threads, and dequantizeRow (the exact JS
// dequantizer) — on random blocks with extreme scales (largest and smallest halves, subnormals, 0).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  GGML, createWasmBackend, dequantizeGgmlRow, dequantizeRow, ggmlRowBytes, ggmlTypeInfo, ggmlWeights, jsBackend, matmulWeights,
  matvecWeights, matvecWeightsShared, packRows4, rows4Suits, unpackRow4, type GgmlWeights, type WasmBackend,
} from '../src/index.js';
import { encodeFloat16 } from '../src/fp16.js';
import { SCALE_OFFSETS, randomGgmlMatrix } from './ggml-helpers.js';
import { rng } from './helpers.js';

const rand = rng(0x4a11);
const TYPES = [GGML.Q5_0, GGML.Q8_0, GGML.Q6_K, GGML.Q4_K];
/** A width given for 32-value blocks, scaled to type's block (Q6_K, Q4_K: 256 values): the same count of blocks per row. */
const width = (type: number, cols: number): number => (cols / 32) * ggmlTypeInfo(type).blockSize;
let one: WasmBackend, two: WasmBackend;
test.before(async () => {
  one = await createWasmBackend({ initialBytes: 32 << 20 });
  two = await createWasmBackend({ initialBytes: 32 << 20, threads: 2, alwaysShare: true });
});
test.after(async () => { await two.dispose(); });

const EXTREME_SCALES = [65504, -65504, 6.103515625e-5, 5.960464477539063e-8, -5.960464477539063e-8, 0];

/** Random blocks, one in three with an extreme f16 scale (Q6_K: and its first int8 scales −128, 127, 0; Q4_K: its dmin too, one in two of those). */
function matrixBytes(type: number, rows: number, cols: number): Uint8Array {
  const b = randomGgmlMatrix(rand, type, rows, cols), bb = ggmlTypeInfo(type).blockBytes, d = SCALE_OFFSETS[type]![0]!;
  for (let o = 0, i = 0; o < b.length; o += bb, i++) {
    if (i % 3 !== 0) continue;
    const h = encodeFloat16(new Float32Array([EXTREME_SCALES[(i / 3) % EXTREME_SCALES.length]!]))[0]!;
    b[o + d] = h & 255; b[o + d + 1] = h >> 8;
    if (type === GGML.Q6_K) b.set([0x80, 0x7f, 0], o + 192);
    if (type === GGML.Q4_K && i % 2 === 0) { b[o + 2] = h & 255; b[o + 3] = h >> 8; }
  }
  return b;
}

/** The same matrix twice in the backend's memory: plain, and repacked (layout 'rows4'). */
function both(backend: WasmBackend, type: number, rows: number, cols: number): { plain: GgmlWeights; packed: GgmlWeights } {
  const bytes = matrixBytes(type, rows, cols);
  const plain = ggmlWeights(type, rows, cols, bytes, backend), packed = ggmlWeights(type, rows, cols, bytes, backend);
  packRows4(type, packed.data, rows, cols);
  return { plain, packed: { ...packed, layout: 'rows4' } };
}

function activations(backend: WasmBackend, n: number): Float32Array {
  const x = backend.alloc(n);
  for (let i = 0; i < n; i++) x[i] = (rand() * 2 - 1) * (i % 11 === 0 ? 1e4 : i % 5 === 0 ? 1e-4 : 1);
  return x;
}

function sameBits(got: Float32Array, want: Float32Array, what: string): void {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) if (!Object.is(got[i], want[i])) assert.unreachable(`${what}[${i}]: ${got[i]} vs ${want[i]}`);
}

const name = (t: number) => ggmlTypeInfo(t).name;

test('packRows4: a row unpacked is the plain row, byte for byte; bad input is refused', () => {
  for (const type of TYPES) for (const [rows, cols32] of [[4, 32], [8, 96], [12, 576]] as const) {
    const cols = width(type, cols32), bytes = matrixBytes(type, rows, cols), packed = bytes.slice(), rb = ggmlRowBytes(type, cols);
    packRows4(type, packed, rows, cols);
    assert.is(packed.length, bytes.length);
    assert.not.equal(Array.from(packed), Array.from(bytes), 'the layout differs from the plain one');
    const row = new Uint8Array(rb);
    for (let r = 0; r < rows; r++) {
      unpackRow4(type, packed, cols, r, row);
      assert.equal(Array.from(row), Array.from(bytes.subarray(r * rb, (r + 1) * rb)), `${name(type)} ${rows}×${cols} row ${r}`);
    }
  }
  assert.throws(() => packRows4(GGML.Q4_0, new Uint8Array(4 * 18), 4, 32), /Q4_0 has no four-row layout/);
  assert.throws(() => packRows4(GGML.Q8_0, new Uint8Array(6 * 34), 6, 32), /rows must be a positive multiple of 4, got 6/);
  assert.throws(() => packRows4(GGML.Q8_0, new Uint8Array(34), 4, 32), /4×32 needs 136 bytes, got 34/);
  assert.throws(() => packRows4(GGML.Q6_K, new Uint8Array(6 * 210), 6, 256), /rows must be a positive multiple of 4, got 6/);
  assert.throws(() => packRows4(GGML.Q4_K, new Uint8Array(4 * 144), 4, 128), /Q4_K row: 128 columns is not a multiple of the block size 256/);
  assert.throws(() => packRows4(GGML.Q6_K, new Uint8Array(210), 4, 256), /4×256 needs 840 bytes, got 210/);
  assert.ok(rows4Suits(GGML.Q5_0, 576, 576) && rows4Suits(GGML.Q5_0, 49152, 1024) && rows4Suits(GGML.Q8_0, 49152, 576, true) && rows4Suits(GGML.Q6_K, 576, 1536) && rows4Suits(GGML.Q4_K, 576, 1536));
  assert.ok(!rows4Suits(GGML.Q5_0, 6, 576) && !rows4Suits(GGML.Q5_0, 576, 1536) && !rows4Suits(GGML.Q8_0, 576, 576) && !rows4Suits(GGML.Q4_0, 576, 576, true) && !rows4Suits(GGML.Q6_K, 6, 256) && !rows4Suits(GGML.Q4_K, 6, 256));
});

test('matvecWeights on repacked weights: the plain kernel\'s bits, whole and for any slice of rows, 1 and 2 threads', () => {
  for (const backend of [one, two]) for (const type of TYPES) for (const [rows, cols32] of [[4, 32], [24, 64], [12, 576], [1028, 96]] as const) {
    const cols = width(type, cols32), { plain, packed } = both(backend, type, rows, cols), x = activations(backend, cols + 3);
    const want = backend.alloc(rows), got = backend.alloc(rows + 2);
    matvecWeights(backend, want, 0, plain, x, 3);
    matvecWeights(backend, got, 2, packed, x, 3);
    sameBits(got.subarray(2), want, `${name(type)} ${rows}×${cols} (${backend.threads} threads)`);
    for (const [start, count] of [[0, 1], [1, 3], [3, 5], [5, 4], [2, 7], [4, 8], [7, rows - 7]] as const) {
      if (count <= 0 || start + count > rows) continue;
      got.fill(NaN);
      matvecWeights(backend, got, 0, packed, x, 3, start, count);
      sameBits(got.subarray(0, count), want.subarray(start, start + count), `${name(type)} ${rows}×${cols} rows [${start}, ${start + count})`);
    }
  }
});

test('matvecWeightsShared (one job) and matmulWeights (a prompt: per row, and through f32 panels) on repacked weights give the plain weights\' bits', () => {
  for (const backend of [one, two]) for (const type of TYPES) {
    const cols = width(type, 576), a = both(backend, type, 576, cols), b = both(backend, type, 192, cols), x = activations(backend, cols);
    const outs = [backend.alloc(576), backend.alloc(192), backend.alloc(576), backend.alloc(192)];
    matvecWeightsShared(backend, x, 0, outs[0]!, a.plain, outs[1]!, b.plain);
    matvecWeightsShared(backend, x, 0, outs[2]!, a.packed, outs[3]!, b.packed);
    sameBits(outs[2]!, outs[0]!, `${name(type)} shared 576`); sameBits(outs[3]!, outs[1]!, `${name(type)} shared 192`);
    for (const m of [3, 9]) {
      const xs = activations(backend, m * cols), want = backend.alloc(m * 576), got = backend.alloc(m * 576);
      matmulWeights(backend, want, xs, m, a.plain);
      matmulWeights(backend, got, xs, m, a.packed);
      sameBits(got, want, `${name(type)} matmul m=${m} (${backend.threads} threads)`);
    }
  }
});

test('matmulWeights on repacked Q6_K / Q4_K of 512 columns: panels of several chunks on 2 threads give the plain weights\' bits', () => {
  // At 512 columns a prompt panel holds 96 rows, which two threads take in chunks of 12: the
  // dequantizers then start at groups past the panel's first (at 4608 columns a panel is one chunk).
  for (const backend of [one, two]) for (const type of [GGML.Q6_K, GGML.Q4_K]) {
    const rows = 576, cols = 512, { plain, packed } = both(backend, type, rows, cols), m = 9;
    const xs = activations(backend, m * cols), want = backend.alloc(m * rows), got = backend.alloc(m * rows);
    matmulWeights(backend, want, xs, m, plain);
    matmulWeights(backend, got, xs, m, packed);
    sameBits(got, want, `${name(type)} ${rows}×${cols} matmul m=${m} (${backend.threads} threads)`);
  }
});

test('one job with repacked matrices that read widened (Q5_0) and split (Q4_K) activations gives each its plain bits', () => {
  for (const backend of [one, two]) {
    const cols = 512, a = both(backend, GGML.Q5_0, 192, cols), b = both(backend, GGML.Q4_K, 576, cols), x = activations(backend, cols);
    const outs = [backend.alloc(192), backend.alloc(576), backend.alloc(192), backend.alloc(576)];
    matvecWeightsShared(backend, x, 0, outs[0]!, a.plain, outs[1]!, b.plain);
    matvecWeightsShared(backend, x, 0, outs[2]!, a.packed, outs[3]!, b.packed);
    sameBits(outs[2]!, outs[0]!, `Q5_0 beside Q4_K (${backend.threads} threads)`); sameBits(outs[3]!, outs[1]!, `Q4_K beside Q5_0 (${backend.threads} threads)`);
  }
});

test('dequantizeRow on repacked weights is the exact JS dequantizer of the file\'s row', () => {
  for (const type of TYPES) {
    const rows = 8, cols = width(type, 96), bytes = matrixBytes(type, rows, cols), rb = ggmlRowBytes(type, cols);
    const w = ggmlWeights(type, rows, cols, bytes, one);
    packRows4(type, w.data, rows, cols);
    const packed: GgmlWeights = { ...w, layout: 'rows4' }, got = new Float32Array(cols), want = new Float32Array(cols);
    for (let r = 0; r < rows; r++) {
      dequantizeRow(got, 0, packed, r);
      dequantizeGgmlRow(type, bytes, r * rb, cols, want, 0);
      sameBits(got, want, `${name(type)} row ${r}`);
    }
  }
});

test('repacked weights on a backend without the layout\'s kernels, or a partial group passed to the backend, are refused by name', () => {
  for (const type of TYPES) {
    const cols = width(type, 32), { packed } = both(one, type, 4, cols), x = new Float32Array(cols), out = new Float32Array(4), t = name(type);
    assert.throws(() => matvecWeights(jsBackend, out, 0, packed, x, 0), new RegExp(`matvecWeights: ${t} weights in the four-rows layout need a backend that runs it .*got js`));
    assert.throws(() => matmulWeights(jsBackend, new Float32Array(8), new Float32Array(2 * cols), 2, packed), new RegExp(`matmulWeights: ${t} weights in the four-rows layout`));
    assert.throws(() => one.matvecGgml(type | 0x100, one.alloc(3), 0, packed.data, 0, one.alloc(cols), 0, 3, cols), /matvecGgml: four-rows layout needs whole groups, got 3 rows/);
    assert.throws(() => one.matmulGgml(type | 0x100, one.alloc(6), 0, packed.data, 0, one.alloc(2 * cols), 0, 2, 3, cols), /matmulGgml: four-rows layout needs whole groups, got 3 rows/);
  }
  const { packed } = both(one, GGML.Q4_K, 4, 256);
  assert.throws(() => one.matvecGgml(GGML.Q4_K | 0x100, one.alloc(4), 0, packed.data, 0, one.alloc(128), 0, 4, 128), /Q4_K row: 128 columns is not a multiple of the block size 256/);
  assert.throws(() => one.matvecGgml(GGML.Q4_0 | 0x100, one.alloc(4), 0, packed.data, 0, one.alloc(32), 0, 4, 32), /type 2 has no four-rows layout/);
});

test.run();
