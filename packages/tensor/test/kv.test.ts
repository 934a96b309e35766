// Reduced-precision KV entries: the stored rows checked against independent references (Q8_0's
// rounding and @petamoriken/float16's half encoding, written here), and attention over them against
// float64 attention computed on the dequantized entries, for every key × value type on both backends.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getFloat16, setFloat16 } from '@petamoriken/float16';
import { KV_TYPES, KvRows, attendHeadKv, checkKvType, createWasmBackend, jsBackend, kvRowBytes, type Backend, type WasmBackend } from '../src/index.js';
import { randomArray, rng } from './helpers.js';

const heap = (n: number) => new Float32Array(n);

/** Q8_0 as ggml defines it: per block of 32, d = max|x| / 127, q = x / d rounded half away from zero (C roundf). */
function refQ8(x: Float32Array, width: number): { q: number[]; d: number[]; ties: Set<number> } {
  const q: number[] = [], d: number[] = [], ties = new Set<number>();
  for (let b = 0; b * 32 < width; b++) {
    const block = Array.from(x.subarray(b * 32, Math.min(width, b * 32 + 32)));
    const amax = block.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const scale = Math.fround(amax / 127);
    d.push(scale);
    block.forEach((v, i) => {
      const t = scale === 0 ? 0 : v / scale;
      if (Math.abs(Math.abs(t) - Math.floor(Math.abs(t)) - 0.5) < 1e-9) ties.add(b * 32 + i);
      q.push(Math.sign(t) * Math.floor(Math.abs(t) + 0.5));
    });
  }
  return { q, d, ties };
}

const halfView = new DataView(new ArrayBuffer(2));
function libraryHalf(v: number): number { setFloat16(halfView, 0, v, true); return getFloat16(halfView, 0, true); }

test('q8 rows: int8 and scales equal Q8_0 rounding (reference written here); read gives q · d', () => {
  const rand = rng(11);
  for (const width of [8, 32, 40, 64, 100]) {
    const rows = new KvRows('q8', width, 3, heap);
    for (let r = 0; r < 3; r++) {
      const x = randomArray(rand, width).map((v) => v * (r + 1) * 3);
      if (r === 2) x.fill(0, 0, Math.min(32, width)); // an all-zero block: scale 0, quants 0
      rows.write(r, x, 0);
      const ref = refQ8(x, width);
      for (let c = 0; c < width; c++) {
        if (ref.ties.has(c)) assert.ok(Math.abs(rows.q[r * width + c]! - ref.q[c]!) <= 1, `tie at ${c}`);
        else assert.is(rows.q[r * width + c], ref.q[c], `width ${width} row ${r} col ${c}`);
      }
      assert.equal(Array.from(rows.scales.subarray(r * rows.blocks, (r + 1) * rows.blocks)), ref.d, `width ${width} row ${r} scales`);
      const back = new Float32Array(width);
      rows.read(r, back, 0);
      for (let c = 0; c < width; c++) {
        assert.is(back[c], Math.fround(ref.q[c]! * ref.d[Math.floor(c / 32)]!));
        // Half a quantization step at most.
        assert.ok(Math.abs(back[c]! - x[c]!) <= ref.d[Math.floor(c / 32)]! / 2 + 1e-7, `error at ${c}`);
      }
    }
  }
});

test('f16 rows: every value is the library\'s half rounding; magnitudes past 65504 saturate instead of becoming Infinity', () => {
  const rand = rng(12), width = 24;
  const rows = new KvRows('f16', width, 2, heap);
  const x = randomArray(rand, width).map((v, i) => v * 10 ** ((i % 7) - 3));
  x[0] = 1e6; x[1] = -70000; x[2] = 65504;
  rows.write(1, x, 0);
  const back = new Float32Array(width);
  rows.read(1, back, 0);
  assert.equal([back[0], back[1], back[2]], [65504, -65504, 65504]);
  for (let c = 3; c < width; c++) assert.is(back[c], libraryHalf(x[c]!), `col ${c}`);
});

test('row bytes per type; move, grow and copyFrom keep rows as stored; storedBytes covers exactly the live rows', () => {
  assert.equal(KV_TYPES.map((t) => kvRowBytes(t, 64)), [256, 128, 64 + 8]);
  assert.is(kvRowBytes('q8', 40), 40 + 8);
  assert.throws(() => checkKvType('q4', '--kv'), /--kv must be one of f32, f16, q8, got "q4"/);
  const rand = rng(13), width = 40;
  for (const type of KV_TYPES) {
    const rows = new KvRows(type, width, 2, heap);
    assert.is(rows.byteLength, 2 * kvRowBytes(type, width));
    const a = randomArray(rand, width), b = randomArray(rand, width);
    rows.write(0, a, 0); rows.write(1, b, 0);
    const before = new Float32Array(width), after = new Float32Array(width);
    rows.read(1, before, 0);
    rows.grow(5, 2);
    assert.is(rows.rows, 5);
    rows.move(0, 1);
    rows.read(0, after, 0);
    assert.equal(after, before, `${type}: grow + move`);
    const copy = new KvRows(type, width, 1, heap);
    copy.copyFrom(rows, 2);
    const got = new Float32Array(width);
    copy.read(0, got, 0);
    assert.equal(got, before, `${type}: copyFrom`);
    assert.is(rows.storedBytes(2).reduce((n, p) => n + p.length, 0), 2 * kvRowBytes(type, width), `${type}: stored bytes`);
  }
  assert.throws(() => new KvRows('f16', 4, 1, heap).copyFrom(new KvRows('q8', 4, 1, heap), 1), /f16×4/);
});

/** float64 attention of q over the dequantized rows: the reference every kernel is held to. */
function refAttention(q: Float32Array, keys: KvRows, values: KvRows, count: number, scale: number): { out: Float64Array; att: Float64Array } {
  const hd = keys.width, k = new Float32Array(hd), v = new Float32Array(hd);
  const s = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    keys.read(i, k, 0);
    let dot = 0;
    for (let d = 0; d < hd; d++) dot += k[d]! * q[d]!;
    s[i] = dot * scale;
  }
  const max = Math.max(...s);
  let z = 0;
  for (let i = 0; i < count; i++) { s[i] = Math.exp(s[i]! - max); z += s[i]!; }
  const out = new Float64Array(hd);
  for (let i = 0; i < count; i++) {
    s[i] = s[i]! / z;
    values.read(i, v, 0);
    for (let d = 0; d < hd; d++) out[d] = out[d]! + s[i]! * v[d]!;
  }
  return { out, att: s };
}

async function attentionMatchesReference(backend: Backend | WasmBackend): Promise<void> {
  const rand = rng(21);
  for (const hd of [8, 12, 64, 96]) {
    for (const count of [1, 5, 33, 130]) {
      for (const kt of KV_TYPES) {
        for (const vt of KV_TYPES) {
          const keys = new KvRows(kt, hd, count, (n) => backend.alloc(n)), values = new KvRows(vt, hd, count, (n) => backend.alloc(n));
          for (let i = 0; i < count; i++) { keys.write(i, randomArray(rand, hd).map((x) => 3 * x), 0); values.write(i, randomArray(rand, hd), 0); }
          const q = backend.alloc(hd); q.set(randomArray(rand, hd));
          // Garbage in out and att first: a kernel must overwrite both, not accumulate into them.
          const out = backend.alloc(hd), att = backend.alloc(count);
          out.fill(7); att.fill(7);
          const scale = 1 / Math.sqrt(hd);
          // The wasm backend's own kernel must take every shape it can (headDim a multiple of 8), not the fallback.
          if ('attendHeadKv' in backend && (kt !== 'f32' || vt !== 'f32')) assert.is(backend.attendHeadKv(out, 0, q, 0, keys, values, count, hd, scale, att, 0), hd % 8 === 0);
          else attendHeadKv(backend, out, 0, q, 0, keys, values, count, hd, scale, att, 0);
          if (hd % 8 !== 0) attendHeadKv(backend, out, 0, q, 0, keys, values, count, hd, scale, att, 0);
          const ref = refAttention(q, keys, values, count, scale);
          const what = `${backend.name} hd ${hd} count ${count} keys ${kt} values ${vt}`;
          // q8 keys: the integer dot products round q to int16 per block (relative 1.5e-5 of the block's largest |q|).
          const tol = kt === 'q8' ? 2e-4 : 2e-5;
          for (let i = 0; i < count; i++) assert.ok(Math.abs(att[i]! - ref.att[i]!) <= tol * (1 + ref.att[i]!), `${what}: att[${i}] ${att[i]} vs ${ref.att[i]}`);
          for (let d = 0; d < hd; d++) assert.ok(Math.abs(out[d]! - ref.out[d]!) <= tol * (1 + Math.abs(ref.out[d]!)), `${what}: out[${d}] ${out[d]} vs ${ref.out[d]}`);
        }
      }
    }
  }
}

test('js: attention over f32/f16/q8 keys × values equals float64 attention on the dequantized entries', () => attentionMatchesReference(jsBackend));
test('wasm: attention over f32/f16/q8 keys × values equals float64 attention on the dequantized entries', async () => attentionMatchesReference(await createWasmBackend()));

test('attendHeadKv refuses rows of another width', () => {
  const k = new KvRows('f16', 8, 2, heap), v = new KvRows('f16', 4, 2, heap);
  assert.throws(() => attendHeadKv(jsBackend, new Float32Array(8), 0, new Float32Array(8), 0, k, v, 2, 8, 1, new Float32Array(2), 0), /4 values for head dim 8/);
});

test.run();
