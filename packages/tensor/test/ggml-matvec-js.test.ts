// The pure-TS ggml-block products (js backend) against dequantize-then-float64 on random blocks of
// every supported type: odd row counts, several blocks per row, row slices, offsets, batches.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GGML, dequantizeRow, ggmlTypeInfo, ggmlWeights, jsBackend, matmulWeights, matvecWeights, weightBytes } from '../src/index.js';
import { rng } from './helpers.js';
import { KERNEL_TYPES, dequantizeMatrix, randomGgmlMatrix, referenceProduct, typeName } from './ggml-helpers.js';

const rand = rng(0x6e61);
const ROWS = [1, 3, 17, 33];

/** cols: one, two and three blocks (plain types: odd counts). */
export const colsFor = (type: number): number[] => {
  const bs = ggmlTypeInfo(type).blockSize;
  return bs === 1 ? [1, 7, 33] : [bs, 2 * bs, 3 * bs];
};

function checkClose(got: ArrayLike<number>, ref: { out: Float64Array; scale: Float64Array }, what: string, rtol: number): void {
  assert.is(got.length, ref.out.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i]! - ref.out[i]!), tol = rtol * ref.scale[i]! + 1e-30;
    if (!(err <= tol)) assert.unreachable(`${what}[${i}]: ${got[i]} vs ${ref.out[i]} (error ${err}, tolerance ${tol})`);
  }
}

for (const type of KERNEL_TYPES) {
  test(`js backend: ${typeName(type)} matvec and batched product equal dequantize-then-f64`, () => {
    for (const rows of ROWS) for (const cols of colsFor(type)) {
      const skip = 2, all = rows + skip;
      const bytes = randomGgmlMatrix(rand, type, all, cols);
      const w = ggmlWeights(type, all, cols, bytes);
      assert.is(w.data.buffer, bytes.buffer, 'a view, nothing copied');
      assert.is(weightBytes(w), bytes.length);
      const wf = dequantizeMatrix(type, bytes, 0, all, cols).subarray(skip * cols);
      const m = 3, x = new Float32Array(1 + m * cols);
      for (let i = 0; i < x.length; i++) x[i] = (rand() * 2 - 1) * 3;
      const what = `${typeName(type)} ${rows}×${cols}`;

      const out = new Float32Array(rows + 1);
      matvecWeights(jsBackend, out, 1, w, x, 1, skip, rows);
      assert.is(out[0], 0, 'nothing written before oOff');
      checkClose(out.subarray(1), referenceProduct(wf, x.subarray(1, 1 + cols), 1, rows, cols), `${what} matvec`, 1e-6);

      // The batched product over the whole matrix (all rows), as prefill calls it.
      const outB = new Float32Array(m * all);
      matmulWeights(jsBackend, outB, x.subarray(1), m, w);
      checkClose(outB, referenceProduct(dequantizeMatrix(type, bytes, 0, all, cols), x.subarray(1), m, all, cols), `${what} batched`, 1e-6);

      // Embedding lookups: one row as float32, ggml's values.
      const row = new Float32Array(cols + 1);
      dequantizeRow(row, 1, w, skip);
      assert.equal(Array.from(row.subarray(1)), Array.from(wf.subarray(0, cols)), `${what} dequantizeRow`);
    }
  });
}

test('ggmlWeights: clear errors (unsupported type, partial block, short bytes, bad rows)', () => {
  assert.throws(() => ggmlWeights(11, 1, 256, new Uint8Array(110), undefined, 'blk.0.attn_q.weight'), /blk\.0\.attn_q\.weight: ggml type Q3_K \(id 11\) is not supported/);
  assert.throws(() => ggmlWeights(GGML.Q8_0, 2, 48, new Uint8Array(200)), /48 columns is not a multiple of the block size 32/);
  assert.throws(() => ggmlWeights(GGML.Q8_0, 2, 32, new Uint8Array(67)), /2×32 needs 68 bytes, got 67/);
  assert.throws(() => ggmlWeights(GGML.Q8_0, 0, 32, new Uint8Array(68)), /rows must be a positive integer/);
  const w = ggmlWeights(GGML.Q8_0, 2, 32, new Uint8Array(68));
  assert.throws(() => matvecWeights(jsBackend, new Float32Array(2), 0, w, new Float32Array(32), 0, 1, 2), /rows \[1, 3\) outside 0\.\.2/);
  assert.throws(() => matmulWeights(jsBackend, new Float32Array(3), new Float32Array(64), 2, w), /2 rows of 32 into 2 columns exceed a \(64\) or out \(3\)/);
});

test.run();
