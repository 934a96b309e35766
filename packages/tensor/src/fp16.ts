// IEEE 754 half precision ⇄ float32 for whole buffers, so weights and states can be stored in fp16.
// Half values travel as raw bits in a Uint16Array. Decoding goes through a 65536-entry table filled
// once by halfValue; encoding rounds to nearest-even with integer bit operations. Both are checked
// against @petamoriken/float16 in the tests (every bit pattern); the core no longer bundles that
// library for a five-line decoder (2.8 kB minified of the core's 100 kB min+gzip budget).

let decodeTable: Float32Array | null = null;

/** The value of IEEE half bits h: ±2^(e−15)·(1 + m/1024), subnormals ±2^−14·m/1024, e = 31: ±Inf or NaN. */
function halfValue(h: number): number {
  const e = (h >> 10) & 31, m = h & 1023, sign = h & 0x8000 ? -1 : 1;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (e === 0 ? m * 2 ** -24 : (1024 + m) * 2 ** (e - 25));
}

/** The fp16-bits → float32 table (256 KiB), built on first use; index it with the half's bits. */
export function float16Table(): Float32Array {
  if (decodeTable === null) {
    const t = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) t[h] = halfValue(h);
    decodeTable = t;
  }
  return decodeTable;
}

/** out[oOff+i] = float32 value of the half bits src[sOff+i], i < n. */
export function fp16ToFp32(out: Float32Array, oOff: number, src: Uint16Array, sOff: number, n: number): void {
  checkRange('fp16ToFp32', 'out', out.length, oOff, n);
  checkRange('fp16ToFp32', 'src', src.length, sOff, n);
  const t = float16Table();
  for (let i = 0; i < n; i++) out[oOff + i] = t[src[sOff + i]!]!;
}

/** out[oOff+i] = half bits of src[sOff+i] rounded to nearest, ties to even; overflow gives ±Inf. */
export function fp32ToFp16(out: Uint16Array, oOff: number, src: Float32Array, sOff: number, n: number): void {
  checkRange('fp32ToFp16', 'out', out.length, oOff, n);
  checkRange('fp32ToFp16', 'src', src.length, sOff, n);
  for (let i = 0; i < n; i++) out[oOff + i] = float16Bits(src[sOff + i]!);
}

/** A new Float32Array decoded from half bits. */
export function decodeFloat16(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  fp16ToFp32(out, 0, src, 0, src.length);
  return out;
}

/** A new Uint16Array of half bits encoded from float32 values. */
export function encodeFloat16(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  fp32ToFp16(out, 0, src, 0, src.length);
  return out;
}

/** The float32 value of one half (bits). */
export function float16BitsToNumber(bits: number): number {
  return float16Table()[bits & 0xffff]!;
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** Half-precision bits of a number (first rounded to float32, then to half, nearest-even). */
export function float16Bits(value: number): number {
  scratchF32[0] = value;
  const x = scratchU32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13); // ±Inf, quiet NaN
  const e = exp - 112; // rebias 127 → 15
  if (e >= 31) return sign | 0x7c00; // too large: ±Inf
  if (e <= 0) {
    // Half subnormal (or zero): value = m · 2^-24 with m = (1.mant) shifted right by 14 - e.
    if (e < -10) return sign; // below half the smallest subnormal: ±0
    const full = mant | 0x800000, shift = 14 - e;
    const m = full >>> shift, rest = full & ((1 << shift) - 1), halfway = 1 << (shift - 1);
    return sign | (rest > halfway || (rest === halfway && (m & 1) === 1) ? m + 1 : m);
  }
  const h = (e << 10) | (mant >>> 13), rest = mant & 0x1fff;
  // Rounding up may carry into the exponent, which is exactly right (up to Inf at the top).
  return sign | (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1) ? h + 1 : h);
}

function checkRange(op: string, name: string, length: number, off: number, n: number): void {
  if (!Number.isInteger(off) || !Number.isInteger(n) || off < 0 || n < 0 || off + n > length) {
    throw new RangeError(`${op}: ${name} range [${off}, ${off + n}) is outside its length ${length}`);
  }
}
