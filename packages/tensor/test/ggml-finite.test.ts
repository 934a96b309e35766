// findNonFiniteGgml, in JS and as the wasm backend's SIMD scan, against an independent reference:
// the first block (value) whose pure-TS dequantization holds an Inf or NaN. Every supported type,
// a scale or value set to +Inf, -Inf or a NaN at random places (the first run of 4096 values, a
// later one, the last value: the scan's tail), on aligned and unaligned byte views (in the wasm
// heap too), with rows of odd length for the 16-bit types.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GGML, createWasmBackend, dequantizeGgmlRow, findNonFiniteGgml, ggmlTypeInfo, ggmlWeights } from '../src/index.js';
import { KERNEL_TYPES, SCALE_OFFSETS, randomGgmlMatrix, typeName } from './ggml-helpers.js';
import { rng } from './helpers.js';

/** Index of the first block (value) whose decoded values are not all finite, or -1. */
function referenceFirstBad(type: number, bytes: Uint8Array, blocks: number): number {
  const { blockSize, blockBytes } = ggmlTypeInfo(type);
  const out = new Float32Array(blockSize);
  for (let k = 0; k < blocks; k++) {
    dequantizeGgmlRow(type, bytes, k * blockBytes, blockSize, out);
    if (!out.every(Number.isFinite)) return k;
  }
  return -1;
}

/** The bit patterns written over a scale or value: f16 / bf16 / f32 +Inf, -Inf and NaNs. */
const BAD_BITS: Record<number, number[]> = {
  [GGML.F32]: [0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffffffff],
  [GGML.BF16]: [0x7f80, 0xff80, 0x7fc0, 0x7f81, 0xffff],
};
const HALF_BAD = [0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xffff];

/** Overwrites the float at byte `at` (a scale or value of `type`) with `bits`. */
function put(type: number, b: Uint8Array, at: number, bits: number): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (type === GGML.F32) dv.setUint32(at, bits >>> 0, true);
  else dv.setUint16(at, bits, true);
}

/** Byte offsets of the floats a corruption may hit in block k: a plain type's value, or a block type's f16 scales. */
function floatFields(type: number, k: number): number[] {
  const { blockBytes } = ggmlTypeInfo(type), o = k * blockBytes;
  return (SCALE_OFFSETS[type] ?? [0]).map((s) => o + s);
}

const wasm = await createWasmBackend({ threads: 1 });
test.after(async () => { await wasm.dispose(); });

/** Heap copies made by inHeap, freed after each case. */
const held: Uint8Array[] = [];
/** The bytes copied into the wasm heap, `shift` bytes past an aligned address. */
function inHeap(b: Uint8Array, shift: number): Uint8Array {
  const alloc = wasm.allocU8(b.length + shift), view = alloc.subarray(shift);
  held.push(alloc);
  view.set(b);
  return view;
}
test.after.each(() => { for (const a of held.splice(0)) wasm.free(a); });

for (const type of KERNEL_TYPES) {
  test(`${typeName(type)}: the first non-finite scale/value is the first block that decodes to Inf/NaN`, () => {
    const rand = rng(type + 7);
    const { blockSize } = ggmlTypeInfo(type);
    // More than one run of 4096 blocks (values), and an odd count of values for the 16-bit types.
    const cols = blockSize === 1 ? 9001 : 256 * 3, rows = blockSize === 1 ? 1 : Math.ceil(4200 / (cols / blockSize));
    const blocks = (rows * cols) / blockSize;
    const clean = randomGgmlMatrix(rand, type, rows, cols);
    assert.is(findNonFiniteGgml(type, clean), null, 'all finite');
    assert.is(wasm.findNonFiniteGgml(type, inHeap(clean, 1)), null, 'all finite (wasm)');
    const bad = BAD_BITS[type] ?? HALF_BAD;
    for (let trial = 0; trial < 24; trial++) {
      const b = new Uint8Array(clean);
      const where = trial % 3 === 0 ? blocks - 1 : trial % 3 === 1 ? Math.floor(rand() * Math.min(blocks, 4096)) : Math.floor(rand() * blocks);
      const fields = floatFields(type, where), field = fields[Math.floor(rand() * fields.length)]!;
      put(type, b, field, bad[trial % bad.length]!);
      if (trial % 4 === 3 && where < blocks - 1) put(type, b, floatFields(type, blocks - 1)[0]!, bad[0]!); // a later one too: the first is named
      // Unaligned: the same bytes one past a 4-byte boundary.
      const shifted = new Uint8Array(b.length + 1).subarray(1);
      shifted.set(b);
      const scans: [string, Uint8Array, typeof findNonFiniteGgml][] = [
        ['js', b, findNonFiniteGgml], ['js, unaligned', shifted, findNonFiniteGgml],
        ['wasm', inHeap(b, 0), wasm.findNonFiniteGgml], ['wasm, unaligned', inHeap(b, 1), wasm.findNonFiniteGgml],
      ];
      for (const [how, view, scan] of scans) {
        const found = scan(type, view);
        const expected = referenceFirstBad(type, view, blocks);
        assert.ok(found !== null, `${how}, trial ${trial}: nothing found, block ${expected} decodes to non-finite`);
        assert.is(found!.block, expected, `${how}, trial ${trial}`);
        assert.ok(!Number.isFinite(found!.value), `the value named is ${found!.value}`);
        const fieldAt = floatFields(type, found!.block).indexOf(field);
        if (found!.block === where) assert.is(found!.field, blockSize === 1 ? 'value' : ['d', type === GGML.Q4_K || type === GGML.Q5_K ? 'dmin' : 'm'][fieldAt]);
      }
    }
  });
}

for (const type of KERNEL_TYPES) {
  test(`ggmlWeights (${typeName(type)}): a non-finite scale/value is a RangeError naming block, row and columns, on js and wasm; nothing copied`, () => {
    const rand = rng(type + 99);
    const { blockSize, blockBytes } = ggmlTypeInfo(type);
    const cols = blockSize === 1 ? 37 : 2 * blockSize, rows = 5, perRow = cols / blockSize;
    const clean = randomGgmlMatrix(rand, type, rows, cols);
    for (const [trial, k] of [[0, 0], [1, 3 * perRow + perRow - 1], [2, rows * perRow - 1]] as const) {
      const b = new Uint8Array(clean), field = floatFields(type, k).at(-1)!;
      put(type, b, field, (BAD_BITS[type] ?? HALF_BAD)[trial]!);
      const row = Math.floor(k / perRow), col = (k % perRow) * blockSize;
      const where = blockSize === 1 ? `value ${k} \\(row ${row}, column ${col}\\) is` : `block ${k} \\(row ${row}, columns ${col}–${col + blockSize - 1}\\) has scale`;
      const expected = new RegExp(`^blk\\.1\\.ffn_up: ${typeName(type)} ${where} .*(Infinity|NaN) — weights must be finite$`);
      assert.throws(() => ggmlWeights(type, rows, cols, b, undefined, 'blk.1.ffn_up'), (e: Error) => e instanceof RangeError && expected.test(e.message), `js, block ${k}`);
      const before = wasm.heap.usedBytes;
      assert.throws(() => ggmlWeights(type, rows, cols, b, wasm, 'blk.1.ffn_up'), (e: Error) => e instanceof RangeError && expected.test(e.message), `wasm, block ${k}`);
      assert.is(wasm.heap.usedBytes, before, 'no copy allocated for refused bytes');
      const inside = inHeap(b, 1), held = wasm.heap.usedBytes;
      assert.throws(() => ggmlWeights(type, rows, cols, inside, wasm, 'blk.1.ffn_up'), (e: Error) => expected.test(e.message), `wasm, bytes in its heap, block ${k}`);
      assert.is(wasm.heap.usedBytes, held, 'no copy allocated for refused bytes in the heap');
    }
    const w = ggmlWeights(type, rows, cols, clean, wasm);
    assert.equal([...w.data], [...clean], 'finite bytes are copied as they are');
    wasm.free(w.data);
    assert.is(blockBytes * perRow * rows, clean.length);
    assert.throws(() => ggmlWeights(type, rows, cols, new Uint8Array(clean.length + 1)), new RegExp(`needs ${clean.length} bytes, got ${clean.length + 1}`));
  });
}

test('bytes that are not whole blocks, and a type without a known layout, are errors', () => {
  assert.throws(() => findNonFiniteGgml(GGML.Q8_0, new Uint8Array(35)), /35 bytes are not whole Q8_0 blocks of 34/);
  assert.throws(() => findNonFiniteGgml(GGML.Q8_1, new Uint8Array(36)), /Q8_1 has no known scale layout/);
});

test.run();
