// Every wasm SIMD kernel against the pure-TS backend (itself checked against float64 references)
// on random data and odd sizes, plus the backend's memory contract: ownership checks, bounds
// checks, views surviving growth of a shared heap, a clear error when a fixed heap is full.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsBackend } from '../src/js-backend.js';
import { createWasmBackend, type WasmBackend } from '../src/wasm/backend.js';
import { WasmHeap } from '../src/wasm/heap.js';
import { uleb, sleb } from '../src/wasm/emitter.js';
import { ODD_SIZES, assertClose, copyInto, randomArray, rng } from './helpers.js';

const rand = rng(0x5eed);
let wasm: WasmBackend;

/** Copies a heap array into the wasm backend's memory. */
const inWasm = (src: Float32Array): Float32Array => copyInto(wasm, src);

test.before(async () => { wasm = await createWasmBackend({ initialBytes: 4 << 20 }); });

test('LEB128 encodings', () => {
  assert.equal(uleb(0), [0]);
  assert.equal(uleb(127), [127]);
  assert.equal(uleb(128), [0x80, 1]);
  assert.equal(uleb(624485), [0xe5, 0x8e, 0x26]);
  assert.equal(sleb(-1), [0x7f]);
  assert.equal(sleb(63), [63]);
  assert.equal(sleb(64), [0xc0, 0]);
  assert.equal(sleb(-123456), [0xc0, 0xbb, 0x78]);
  assert.throws(() => uleb(-1), /not a u32/);
});

test('matvec matches jsBackend on odd shapes, with offsets', () => {
  for (const rows of ODD_SIZES) for (const cols of ODD_SIZES) {
    const w = randomArray(rand, rows * cols + 5), x = randomArray(rand, cols + 2);
    const expected = new Float32Array(rows + 3);
    jsBackend.matvec(expected, 3, w, 5, x, 2, rows, cols);
    const out = wasm.alloc(rows + 3);
    wasm.matvec(out, 3, inWasm(w), 5, inWasm(x), 2, rows, cols);
    assertClose(out, expected, `matvec ${rows}x${cols}`, 1e-5, 1e-5);
  }
});

test('matmulT matches jsBackend on odd shapes', () => {
  for (const m of [1, 3, 5, 17]) for (const n of ODD_SIZES) for (const k of [1, 3, 17, 33]) {
    const a = randomArray(rand, m * k), b = randomArray(rand, n * k + 7);
    const expected = new Float32Array(m * n);
    jsBackend.matmulT(expected, a, b, 7, m, n, k);
    const out = wasm.alloc(m * n);
    wasm.matmulT(out, inWasm(a), inWasm(b), 7, m, n, k);
    assertClose(out, expected, `matmulT ${m}x${n}x${k}`, 1e-5, 1e-5);
  }
});

test('rmsnorm, swiglu, add match jsBackend; aliasing allowed where documented', () => {
  for (const n of [...ODD_SIZES, 288]) {
    const x = randomArray(rand, n + 1), w = randomArray(rand, n);
    for (let i = 0; i < n; i++) x[i]! *= 3;
    const e1 = new Float32Array(n + 2);
    jsBackend.rmsnorm(e1, 2, x, 1, w, n, 1e-5);
    const o1 = wasm.alloc(n + 2);
    wasm.rmsnorm(o1, 2, inWasm(x), 1, inWasm(w), n, 1e-5);
    assertClose(o1, e1, `rmsnorm ${n}`, 1e-5, 1e-6);
    const xs = inWasm(x.subarray(1, n + 1)); // in place: out aliases x
    wasm.rmsnorm(xs, 0, xs, 0, inWasm(w), n, 1e-5);
    assertClose(xs, e1.subarray(2), `rmsnorm in place ${n}`, 1e-5, 1e-6);

    // Gate values spanning the clamp range of the polynomial exp (±100).
    const gate = Float32Array.from(randomArray(rand, n), (v, i) => (i === 0 ? -100 : i === 1 ? 100 : v * 12));
    const up = randomArray(rand, n);
    const e2 = new Float32Array(n);
    jsBackend.swiglu(e2, gate, up, n);
    const g = inWasm(gate);
    wasm.swiglu(g, g, inWasm(up), n);
    assertClose(g, e2, `swiglu ${n}`, 2e-6, 1e-7);

    const a = randomArray(rand, n), b = randomArray(rand, n);
    const e3 = new Float32Array(n);
    jsBackend.add(e3, a, b, n);
    const av = inWasm(a);
    wasm.add(av, av, inWasm(b), n);
    assertClose(av, e3, `add ${n}`, 0, 0);
  }
});

test('attendHead matches jsBackend (weights and output), head sizes 1..64, counts up to 257', () => {
  for (const headDim of [1, 3, 8, 17, 48, 64]) for (const count of ODD_SIZES) {
    const q = randomArray(rand, headDim + 1), keys = randomArray(rand, count * headDim), values = randomArray(rand, count * headDim);
    for (let i = 0; i < keys.length; i++) keys[i]! *= 4; // spread scores so softmax is not flat
    const scale = 1 / Math.sqrt(headDim);
    const eOut = new Float32Array(headDim + 2), eAtt = new Float32Array(count + 1);
    jsBackend.attendHead(eOut, 2, q, 1, keys, values, count, headDim, scale, eAtt, 1);
    const out = wasm.alloc(headDim + 2), att = wasm.alloc(count + 1);
    wasm.attendHead(out, 2, inWasm(q), 1, inWasm(keys), inWasm(values), count, headDim, scale, att, 1);
    assertClose(att, eAtt, `attention weights hd=${headDim} n=${count}`, 2e-6, 1e-7);
    assertClose(out, eOut, `attention out hd=${headDim} n=${count}`, 1e-5, 1e-6);
  }
});

test('softmax exp stays accurate across a wide score range', () => {
  const count = 200, headDim = 1;
  const keys = Float32Array.from({ length: count }, (_, i) => -80 + i * 0.45); // scores -80..+9.5
  const q = Float32Array.of(1);
  const e = new Float32Array(count), eo = new Float32Array(1);
  jsBackend.attendHead(eo, 0, q, 0, keys, keys, count, headDim, 1, e, 0);
  const att = wasm.alloc(count), out = wasm.alloc(1);
  wasm.attendHead(out, 0, inWasm(q), 0, inWasm(keys), inWasm(keys), count, headDim, 1, att, 0);
  assertClose(att, e, 'wide softmax', 3e-6, 1e-30);
});

test('arrays outside the wasm memory and out-of-range offsets are rejected clearly', () => {
  const w = wasm.alloc(16), x = wasm.alloc(4), out = wasm.alloc(4);
  assert.throws(() => wasm.matvec(out, 0, new Float32Array(16), 0, x, 0, 4, 4), /matvec: w is not in this backend's WebAssembly memory/);
  assert.throws(() => wasm.matvec(out, 1, w, 0, x, 0, 4, 4), /matvec: out\[1 \.\. 5\) is outside its length 4/);
  assert.throws(() => wasm.add(out, out, new Float32Array(4), 4), /add: b is not in this backend's/);
  assert.throws(() => wasm.matvec(out, 0, w, 0, x, 0, 4, -1), /cols must be a non-negative integer/);
  assert.throws(() => wasm.attendHead(out, 0, x, 0, w, w, 0, 4, 1, out, 0), /count must be >= 1/);
});

test('a shared heap grows on demand and earlier views stay valid', () => {
  const heap = new WasmHeap({ shared: true, initialBytes: 65536, maximumBytes: 8 << 20 });
  const first = heap.f32(1000);
  first.fill(7);
  const big = heap.f32(500_000); // forces growth past the first 64 KiB page
  big[499_999] = 3;
  assert.ok(heap.capacityBytes >= 2_000_000);
  assert.is(first.length, 1000, 'old view not detached');
  assert.is(first[999], 7);
  assert.ok(heap.owns(first) && heap.owns(big));
  assert.throws(() => heap.f32(4 << 20), /wasm heap full: .* maximum is 8 MiB/);
});

test('a non-shared heap never grows (that would detach views) and says how to fix it', () => {
  const heap = new WasmHeap({ shared: false, initialBytes: 1 << 20 });
  heap.f32(100_000);
  assert.throws(() => heap.f32(200_000), /wasm heap full: 1 MiB reserved.*larger initialBytes/);
});

test('a non-shared wasm backend computes the same results', async () => {
  const b = await createWasmBackend({ shared: false, initialBytes: 1 << 20 });
  const rows = 33, cols = 17;
  const w = randomArray(rand, rows * cols), x = randomArray(rand, cols);
  const expected = new Float32Array(rows);
  jsBackend.matvec(expected, 0, w, 0, x, 0, rows, cols);
  const wv = copyInto(b, w), xv = copyInto(b, x);
  const out = b.alloc(rows);
  b.matvec(out, 0, wv, 0, xv, 0, rows, cols);
  assertClose(out, expected, 'non-shared matvec', 1e-5, 1e-5);
  assert.throws(() => b.matvec(out, 0, wasm.alloc(rows * cols), 0, xv, 0, rows, cols), /not in this backend's WebAssembly memory/);
});

test.run();
