// quantizeGgmlRow against ggml's own quantizer: the shared GGUF files of one model in several types
// were all quantized by ggml (ggml_quantize_chunk, no importance matrix) from the same float32
// weights, which random256-F32.gguf / stories260K-F32.gguf hold exactly. Quantizing those F32
// tensors here must give ggml's files byte for byte. Tensors are read straight from the file bytes
// at data_offset + offset (no GGUF reader needed).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GGML, GGML_TYPES, dequantizeGgmlRow } from '../src/index.js';
import { QUANTIZABLE_GGML_TYPES, bfloat16Bits, quantizeGgmlMatrix, quantizeGgmlRow } from '../src/quant/ggml-quantize.js';
import { haveShared, readSharedBytes, readSharedJson } from './shared.js';

interface FixtureTensor { name: string; type: string; ne: number[]; offset: number; nbytes: number }
interface Fixture { data_offset: number; tensors: FixtureTensor[] }

const PAIRS: [source: string, target: string][] = [
  ['random256-F32', 'random256-F16'], ['random256-F32', 'random256-BF16'], ['random256-F32', 'random256-Q8_0'],
  ['random256-F32', 'random256-Q4_0'], ['random256-F32', 'random256-Q4_1'], ['random256-F32', 'random256-Q5_0'],
  ['random256-F32', 'random256-Q5_1'],
  ['stories260K-F32', 'stories260K-F16'], ['stories260K-F32', 'stories260K-Q8_0'], ['stories260K-F32', 'stories260K-Q4_0'],
];
const files = [...new Set(PAIRS.flat())];

if (haveShared('ggml quantize', ...files.flatMap((f) => [`fixtures/gguf/${f}.json`, `models/gguf/${f}.gguf`]))) {
  for (const [source, target] of PAIRS) {
    test(`${target}: quantizing ${source}'s tensors gives ggml's bytes exactly`, () => {
      const src = readSharedJson<Fixture>(`fixtures/gguf/${source}.json`), srcBytes = readSharedBytes(`models/gguf/${source}.gguf`);
      const dst = readSharedJson<Fixture>(`fixtures/gguf/${target}.json`), dstBytes = readSharedBytes(`models/gguf/${target}.gguf`);
      let checked = 0;
      for (const t of dst.tensors) {
        const s = src.tensors.find((x) => x.name === t.name)!;
        assert.is(s.type, 'F32', `${source} ${t.name} is F32`);
        const cols = t.ne[0]!, rows = t.ne.slice(1).reduce((a, b) => a * b, 1);
        const start = src.data_offset + s.offset;
        const weights = new Float32Array(srcBytes.buffer.slice(srcBytes.byteOffset + start, srcBytes.byteOffset + start + s.nbytes));
        const type = GGML_TYPES.find((x) => x.name === t.type)!.id;
        const ours = quantizeGgmlMatrix(type, weights, 0, rows, cols);
        const theirs = dstBytes.subarray(dst.data_offset + t.offset, dst.data_offset + t.offset + t.nbytes);
        assert.is(ours.length, theirs.length, `${t.name} size`);
        const at = ours.findIndex((b, i) => b !== theirs[i]);
        assert.is(at, -1, `${t.name} (${t.type}) first differs at byte ${at}`);
        checked++;
      }
      assert.ok(checked >= 10, 'every tensor compared');
    });
  }
}

test('quantize → dequantize stays within one step of each type (values in [-1, 1]), zero blocks stay zero', () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const x = Float32Array.from({ length: 256 }, rand);
  x.fill(0, 64, 96); // one all-zero block
  for (const name of QUANTIZABLE_GGML_TYPES) {
    const type = GGML_TYPES.find((t) => t.name === name)!.id;
    const back = new Float32Array(256);
    dequantizeGgmlRow(type, quantizeGgmlMatrix(type, x, 0, 1, 256), 0, 256, back);
    const steps: Record<string, number> = { F32: 0, F16: 1e-3, BF16: 4e-3, Q8_0: 1 / 127, Q4_0: 1 / 8, Q4_1: 2 / 15, Q5_0: 1 / 16, Q5_1: 2 / 31 };
    // Q4_0/Q5_0's clamp at the top level can cost a whole step; the others stay within half.
    for (let i = 0; i < 256; i++) assert.ok(Math.abs(back[i]! - x[i]!) <= steps[name]! * 1.01 + 1e-6, `${name}[${i}]: ${back[i]} vs ${x[i]}`);
    for (let i = 64; i < 96; i++) assert.is(back[i], 0, `${name}: the zero block`);
  }
});

test('bfloat16Bits rounds to nearest even and keeps NaN a NaN', () => {
  assert.is(bfloat16Bits(1), 0x3f80);
  assert.is(bfloat16Bits(1 + 2 ** -8), 0x3f80); // halfway, even stays
  assert.is(bfloat16Bits(1 + 3 * 2 ** -8), 0x3f82); // halfway, odd rounds up
  assert.is(bfloat16Bits(-2), 0xc000);
  assert.ok((bfloat16Bits(NaN) & 0x7f80) === 0x7f80 && (bfloat16Bits(NaN) & 0x7f) !== 0);
});

test('bad arguments are clear errors', () => {
  const x = new Float32Array(64);
  assert.throws(() => quantizeGgmlRow(GGML.Q4_K, x, 0, 256, new Uint8Array(1000)), /cannot write ggml type Q4_K/);
  assert.throws(() => quantizeGgmlRow(GGML.Q8_0, x, 0, 48, new Uint8Array(100)), /not a multiple of the block size 32/);
  assert.throws(() => quantizeGgmlRow(GGML.Q8_0, x, 40, 32, new Uint8Array(100)), /source range \[40, 72\)/);
  assert.throws(() => quantizeGgmlRow(GGML.Q8_0, x, 0, 64, new Uint8Array(60)), /output range \[0, 68\)/);
});

test.run();
