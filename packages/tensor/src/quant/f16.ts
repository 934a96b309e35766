// IEEE 754 half precision <-> float32, bit-exact, round-to-nearest-even. Used to store weights
// at half the bytes; the wasm kernel converts back on the fly (../wasm/kernels.ts).

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The fp16 bit pattern nearest to `value` (ties to even; overflow to ±Infinity; NaN stays NaN). */
export function toHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Half subnormal: value = h · 2^-24, h = (1.mant) >> (14 - e) with rounding.
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    let h = full >>> shift;
    const rem = full & ((1 << shift) - 1), halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (h & 1) !== 0)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to Infinity).
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++;
  return sign | h;
}

let table: Float32Array | null = null;

/** float32 value of every fp16 bit pattern (256 KiB, built on first use). */
export function halfTable(): Float32Array {
  if (table) return table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f, m = h & 0x3ff;
    t[h] = e === 0 ? sign * m * 2 ** -24 : e === 0x1f ? (m ? NaN : sign * Infinity) : sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  return (table = t);
}

export function fromHalfBits(h: number): number { return halfTable()[h & 0xffff]!; }
