// unpackGroup4 (quant/rows4.ts): a repacked group of four rows unpacked at once is the file's four
// rows, byte for byte, for every type of the four-rows layout (ROWS4_TYPES), on random bytes (every
// bit pattern of the quants, scales included) and widths of one to many blocks; and it agrees with
// unpackRow4, the per-row reader it replaces for whole-matrix scans.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ggmlRowBytes, ggmlTypeInfo, packRows4, ROWS4_TYPES, unpackGroup4, unpackRow4 } from '../src/index.js';
import { rng } from './helpers.js';

const rand = rng(0x6a0c);

test('unpackGroup4: each group of a repacked matrix is the plain matrix\'s four rows, and unpackRow4\'s', () => {
  for (const type of ROWS4_TYPES) {
    const { blockSize } = ggmlTypeInfo(type);
    for (const [rows, cols] of [[4, blockSize], [8, 3 * blockSize], [12, 18 * blockSize]] as const) {
      const rb = ggmlRowBytes(type, cols), plain = new Uint8Array(rows * rb);
      for (let i = 0; i < plain.length; i++) plain[i] = Math.floor(rand() * 256);
      const packed = plain.slice();
      packRows4(type, packed, rows, cols);
      const group = new Uint8Array(4 * rb).fill(0xa5), row = new Uint8Array(rb);
      for (let g = 0; g < rows / 4; g++) {
        unpackGroup4(type, packed, cols, g, group);
        const what = `${ggmlTypeInfo(type).name} ${rows}×${cols} group ${g}`;
        assert.equal(Array.from(group), Array.from(plain.subarray(4 * g * rb, 4 * (g + 1) * rb)), what);
        for (let k = 0; k < 4; k++) {
          unpackRow4(type, packed, cols, 4 * g + k, row);
          assert.equal(Array.from(row), Array.from(group.subarray(k * rb, (k + 1) * rb)), `${what} row ${k}`);
        }
      }
    }
  }
});

test.run();
