// The public weight constructors (f32Weights, quantize, quantizeF16, quantizeQ8, quantizeGgmlMatrix)
// refuse an Inf or NaN in the values they are given, in the loaders' wording, naming the value's
// index, row and column (counted from the given offset), on a JS array and on one in the wasm
// heap; quantizeQ8 refuses before it allocates anything. The same values made finite are taken.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, f32Weights, GGML, quantize, quantizeF16, quantizeQ8, type WasmBackend } from '../src/index.js';
import { quantizeGgmlMatrix } from '../src/quant/ggml-quantize.js';
import { rng } from './helpers.js';

const wasm: WasmBackend = await createWasmBackend({ threads: 1 });
test.after(async () => { await wasm.dispose(); });

const rows = 5, cols = 64, offset = 7;

/** rows × cols random values after `offset` filler values, in a JS array or the wasm heap. */
function source(inHeap: boolean): Float32Array {
  const src = inHeap ? wasm.alloc(offset + rows * cols) : new Float32Array(offset + rows * cols);
  const r = rng(3);
  for (let i = 0; i < src.length; i++) src[i] = r() * 2 - 1;
  src[0] = NaN; // before the offset: not part of the matrix
  return src;
}

const constructors: [string, (src: Float32Array) => unknown][] = [
  ['f32Weights', (src) => f32Weights(src, offset, rows, cols)],
  ['quantizeF16', (src) => quantizeF16(src, offset, rows, cols, wasm)],
  ['quantizeQ8', (src) => quantizeQ8(src, offset, rows, cols, wasm)],
  ['quantizeGgmlMatrix', (src) => quantizeGgmlMatrix(GGML.Q8_0, src, offset, rows, cols)],
];

for (const inHeap of [false, true]) {
  for (const [name, make] of constructors) {
    test(`${name} (values ${inHeap ? 'in the wasm heap' : 'in a JS array'}) refuses an Inf/NaN value, naming its row and column`, () => {
      const src = source(inHeap);
      make(src); // finite: taken
      for (const [bad, said] of [[Infinity, 'Infinity'], [-Infinity, '-Infinity'], [NaN, 'NaN']] as const) {
        for (const index of [0, 3 * cols + 17, rows * cols - 1]) {
          const s = source(inHeap);
          s[offset + index] = bad;
          const row = Math.floor(index / cols), col = index % cols;
          const used = wasm.heap.usedBytes;
          assert.throws(() => make(s), (e: Error) => e instanceof RangeError
            && e.message === `${name}: F32 value ${index} (row ${row}, column ${col}) is ${said} — weights must be finite`, `${said} at ${index}`);
          assert.is(wasm.heap.usedBytes, used, 'nothing was allocated for the refused weights');
        }
      }
    });
  }
}

test('quantize(type, ...) refuses an Inf/NaN through the constructor of its type', () => {
  const src = source(false);
  src[offset + 2 * cols + 1] = NaN;
  for (const [type, name] of [['f32', 'f32Weights'], ['f16', 'quantizeF16'], ['q8', 'quantizeQ8']] as const) {
    assert.throws(() => quantize(type, src, offset, rows, cols), new RegExp(`^${name}: F32 value ${2 * cols + 1} \\(row 2, column 1\\) is NaN — weights must be finite$`));
  }
});

test('quantizeGgmlMatrix refuses a range outside its source instead of reading past it', () => {
  assert.throws(() => quantizeGgmlMatrix(GGML.Q8_0, new Float32Array(64), 1, 2, 32), /^quantizeGgmlMatrix: 2×32 at offset 1 is outside the source's length 64$/);
});

test.run();
