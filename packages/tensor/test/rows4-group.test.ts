// unpackGroup4 (quant/rows4.ts): a repacked group of four rows unpacked at once is the file's four
// rows, byte for byte, for every type of the four-rows layout (ROWS4_TYPES), on random bytes (every
// bit pattern of the quants, scales included) and widths of one to many blocks; and it agrees with
// unpackRow4, the per-row reader it replaces for whole-matrix scans; both refuse bad input by name.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GGML, ggmlRowBytes, ggmlTypeInfo, packRows4, ROWS4_TYPES, unpackGroup4, unpackRow4 } from '../src/index.js';
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

test('unpackGroup4 and unpackRow4 refuse, by name, a type without the layout, columns of no whole blocks, a group or row past the data, a short dst', () => {
  for (const type of ROWS4_TYPES) {
    const { name, blockSize } = ggmlTypeInfo(type), cols = 2 * blockSize, rb = ggmlRowBytes(type, cols);
    const data = new Uint8Array(8 * rb), group = new Uint8Array(4 * rb), row = new Uint8Array(rb); // two groups
    for (const g of [2, -1, 0.5, NaN]) assert.throws(() => unpackGroup4(type, data, cols, g, group), new RegExp(`unpackGroup4: group ${g} is not among the 2 groups that ${8 * rb} bytes hold \\(whole groups of four ${cols}-column ${name} rows\\)`));
    for (const r of [8, -1]) assert.throws(() => unpackRow4(type, data, cols, r, row), new RegExp(`unpackRow4: row ${r} is not among the 8 rows`));
    assert.throws(() => unpackRow4(type, data.subarray(0, 4 * rb - 1), cols, 0, row), new RegExp(`unpackRow4: row 0 is not among the 0 rows that ${4 * rb - 1} bytes hold`), 'a partial group');
    assert.throws(() => unpackGroup4(type, data, cols, 1, group.subarray(1)), new RegExp(`unpackGroup4: dst holds ${4 * rb - 1} bytes, a group of ${cols}-column ${name} rows needs ${4 * rb}`));
    assert.throws(() => unpackRow4(type, data, cols, 7, row.subarray(1)), new RegExp(`unpackRow4: dst holds ${rb - 1} bytes, a row of ${cols}-column ${name} rows needs ${rb}`));
    assert.throws(() => unpackGroup4(type, data, blockSize / 2, 0, group), new RegExp(`${name} row: ${blockSize / 2} columns is not a multiple of the block size ${blockSize}`));
  }
  for (const type of [GGML.Q4_0, GGML.Q5_K]) {
    const data = new Uint8Array(4 * ggmlRowBytes(type, 256)), what = `ggml type ${ggmlTypeInfo(type).name} has no four-row layout \\(only Q5_0, Q8_0, Q6_K, Q4_K\\)`;
    assert.throws(() => unpackGroup4(type, data, 256, 0, new Uint8Array(data.length)), new RegExp(`unpackGroup4: ${what}`));
    assert.throws(() => unpackRow4(type, data, 256, 0, new Uint8Array(data.length)), new RegExp(`unpackRow4: ${what}`));
  }
});

test.run();
