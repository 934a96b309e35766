// fp16 ⇄ fp32: the table decoder and the bit-level encoder, checked against @petamoriken/float16
// (an independent implementation) exhaustively on decode and on edge cases and random values on encode.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getFloat16, setFloat16 } from '@petamoriken/float16';
import { decodeFloat16, encodeFloat16, float16Bits, float16BitsToNumber, fp16ToFp32, fp32ToFp16 } from '../src/index.js';
import { rng } from './helpers.js';

const view = new DataView(new ArrayBuffer(2));
function libraryBits(v: number): number { setFloat16(view, 0, v, true); return view.getUint16(0, true); }
function libraryValue(bits: number): number { view.setUint16(0, bits, true); return getFloat16(view, 0, true); }

test('decoding all 65536 bit patterns matches the library (NaN stays NaN)', () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const out = decodeFloat16(all);
  for (let h = 0; h < 65536; h++) {
    const expected = libraryValue(h);
    if (Number.isNaN(expected)) assert.ok(Number.isNaN(out[h]), `0x${h.toString(16)} should be NaN`);
    else assert.ok(Object.is(out[h], expected), `0x${h.toString(16)}: ${out[h]} vs ${expected}`);
  }
});

test('known values: subnormals, normal limits, ±0, ±Inf, NaN', () => {
  const cases: [number, number][] = [
    [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x0400, 2 ** -14], [0x7bff, 65504],
    [0x3c00, 1], [0xc000, -2], [0x3555, 0.333251953125], [0x0000, 0], [0x7c00, Infinity], [0xfc00, -Infinity],
  ];
  for (const [bits, value] of cases) {
    assert.is(float16BitsToNumber(bits), value, `decode 0x${bits.toString(16)}`);
    assert.is(float16Bits(value), bits, `encode ${value}`);
  }
  assert.ok(Object.is(float16BitsToNumber(0x8000), -0));
  assert.is(float16Bits(-0), 0x8000);
  assert.ok(Number.isNaN(float16BitsToNumber(0x7e00)) && Number.isNaN(float16BitsToNumber(0xfc01)));
  const nanBits = float16Bits(NaN);
  assert.is(nanBits & 0x7c00, 0x7c00); assert.ok((nanBits & 0x3ff) !== 0, 'NaN encodes as NaN, not Inf');
});

test('rounding: nearest, ties to even, overflow to Inf, underflow to 0 or the smallest subnormal', () => {
  assert.is(float16Bits(1 + 2 ** -11), 0x3c00, '1 + half ulp ties to even (down)');
  assert.is(float16Bits(1 + 3 * 2 ** -11), 0x3c02, '1 + 1.5 ulp ties to even (up)');
  assert.is(float16Bits(1 + 2 ** -11 + 2 ** -20), 0x3c01, 'just above the tie rounds up');
  assert.is(float16Bits(65519), 0x7bff, 'below the overflow threshold stays 65504');
  assert.is(float16Bits(65520), 0x7c00, '65520 rounds to Inf');
  assert.is(float16Bits(-1e6), 0xfc00);
  assert.is(float16Bits(2 ** -25), 0x0000, 'exactly half the smallest subnormal ties to even: 0');
  assert.is(float16Bits(2 ** -25 * 1.0001), 0x0001, 'just above half rounds to the smallest subnormal');
  assert.is(float16Bits(3 * 2 ** -25), 0x0002, '1.5 subnormal ulps ties to even (2)');
  assert.is(float16Bits(2 ** -14 - 2 ** -25), 0x0400, 'largest subnormal + half ulp carries into the first normal');
  assert.is(float16Bits(1e-10), 0x0000);
  assert.is(float16Bits(-1e-10), 0x8000);
});

test('encoding agrees with the library on random values over every exponent range', () => {
  const rand = rng(5);
  const src = new Float32Array(20000);
  for (let i = 0; i < src.length; i++) src[i] = (rand() < 0.5 ? -1 : 1) * Math.pow(2, rand() * 50 - 30) * (1 + rand());
  const bits = encodeFloat16(src);
  for (let i = 0; i < src.length; i++) assert.is(bits[i], libraryBits(src[i]!), `encode ${src[i]}`);
  // And round trip: decode(encode(x)) is the library's f16 rounding of x.
  const back = decodeFloat16(bits);
  for (let i = 0; i < src.length; i++) assert.is(back[i], libraryValue(libraryBits(src[i]!)));
});

test('offsets and range checks', () => {
  const src = Float32Array.from([9, 1.5, -2, 9]), bits = new Uint16Array(5);
  fp32ToFp16(bits, 2, src, 1, 2);
  assert.equal(Array.from(bits), [0, 0, 0x3e00, 0xc000, 0]);
  const out = new Float32Array(3);
  fp16ToFp32(out, 1, bits, 2, 2);
  assert.equal(Array.from(out), [0, 1.5, -2]);
  assert.throws(() => fp16ToFp32(out, 2, bits, 0, 2), /fp16ToFp32: out range \[2, 4\) is outside its length 3/);
  assert.throws(() => fp32ToFp16(bits, 0, src, 3, 2), /fp32ToFp16: src range \[3, 5\) is outside its length 4/);
});

test.run();
