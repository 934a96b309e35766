// dequantizeGgmlRow against ggml's own dequantized values: the shared GGUF fixtures give, for every
// tensor of files ggml wrote and quantized, its first and last 32 dequantized values (exact
// float32, from ggml's to_float) and float64 sums over all of them. Tensors are read straight from
// the file bytes at data_offset + offset (no GGUF reader needed).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GGML_TYPES, dequantizeGgmlRow, ggmlRowBytes } from '../src/index.js';
import { readFileSync } from 'node:fs';
import { haveShared, readSharedBytes, readSharedJson } from './shared.js';

interface FixtureTensor {
  name: string; type: string; ne: number[]; offset: number; nbytes: number;
  dequant_first32: number[]; dequant_last32: number[]; dequant_sum: number; dequant_sum_abs: number; dequant_sum_sq: number;
}
interface Fixture { data_offset: number; tensors: FixtureTensor[] }

const FILES = ['random256-F32', 'random256-F16', 'random256-BF16', 'random256-Q8_0', 'random256-Q4_0', 'random256-Q4_1',
  'random256-Q5_0', 'random256-Q5_1', 'random256-Q4_K', 'random256-Q5_K', 'random256-Q6_K',
  'stories260K-Q8_0', 'stories260K-Q4_0', 'stories260K-Q4_K'];

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

if (haveShared('ggml dequant', ...FILES.flatMap((f) => [`fixtures/gguf/${f}.json`, `models/gguf/${f}.gguf`]))) {
  for (const f of FILES) {
    test(`${f}: every tensor dequantizes to ggml's values (first/last 32 bit for bit, sums)`, () => {
      const j = readSharedJson<Fixture>(`fixtures/gguf/${f}.json`);
      const bytes = readSharedBytes(`models/gguf/${f}.gguf`);
      for (const t of j.tensors) {
        const type = GGML_TYPES.find((x) => x.name === t.type)!.id;
        const cols = t.ne[0]!, rows = t.ne.slice(1).reduce((a, b) => a * b, 1), rb = ggmlRowBytes(type, cols);
        const all = new Float32Array(rows * cols);
        for (let r = 0; r < rows; r++) dequantizeGgmlRow(type, bytes, j.data_offset + t.offset + r * rb, cols, all, r * cols);
        assert.equal(Array.from(all.subarray(0, 32)), t.dequant_first32.map(Math.fround), `${t.name} first 32`);
        assert.equal(Array.from(all.subarray(all.length - 32)), t.dequant_last32.map(Math.fround), `${t.name} last 32`);
        let s = 0, sa = 0, sq = 0;
        for (const v of all) { s += v; sa += Math.abs(v); sq += v * v; }
        close(s, t.dequant_sum, `${t.name} sum`); close(sa, t.dequant_sum_abs, `${t.name} sum |v|`); close(sq, t.dequant_sum_sq, `${t.name} sum v²`);
      }
    });
  }
}

interface Case { type: string; id: number; cols: number; hex: string; values: number[] }
const independent = JSON.parse(readFileSync(new URL('./fixtures/ggml-dequant.json', import.meta.url), 'utf8')) as { cases: Case[] };

test('random blocks of every supported type (IQ4_NL included) equal the gguf Python package\'s dequantization', () => {
  const seen = new Set<string>();
  for (const c of independent.cases) {
    const bytes = Uint8Array.from(c.hex.match(/../g)!.map((h) => parseInt(h, 16)));
    const out = new Float32Array(c.cols + 2);
    dequantizeGgmlRow(c.id, bytes, 0, c.cols, out, 1);
    assert.equal(Array.from(out.subarray(1, 1 + c.cols)), c.values.map(Math.fround), c.type);
    assert.is(out[0], 0); assert.is(out[c.cols + 1], 0);
    seen.add(c.type);
  }
  const want = GGML_TYPES.filter((t) => t.supported && t.name !== 'F32').map((t) => t.name);
  assert.equal([...seen].sort(), want.sort());
});

test('dequantizeGgmlRow: clear errors for unsupported types, partial blocks, short sources', () => {
  const out = new Float32Array(256);
  assert.throws(() => dequantizeGgmlRow(10, new Uint8Array(84), 0, 256, out), /Q2_K \(id 10\) is not supported/);
  assert.throws(() => dequantizeGgmlRow(12, new Uint8Array(144), 0, 100, out), /not a multiple of the block size 256/);
  assert.throws(() => dequantizeGgmlRow(12, new Uint8Array(143), 0, 256, out), /needs bytes \[0, 144\), the source has 143/);
  assert.throws(() => dequantizeGgmlRow(8, new Uint8Array(68), 0, 64, new Float32Array(63)), /out\[0 \.\. 64\) is outside its length 63/);
});

test.run();
