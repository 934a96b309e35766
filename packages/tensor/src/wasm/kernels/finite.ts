// Load-time scans for an Inf/NaN among a weight tensor's stored floats (quant/ggml-finite.ts says
// why): the f16 scales of ggml blocks, or every value of F32/F16/BF16 rows. Each returns whether any
// was found in whole groups (the caller scans the tail and locates the first in JS). The block
// scans gather the scales' high bytes into byte lanes (v128.load8_lane, one per block scale, the
// offsets immediates of one base address), so a block costs about one instruction instead of the
// JS loop's several: the scan is then a small part of reading the tensor.
import { FunctionBuilder, ModuleBuilder, Op, Simd } from '../emitter.js';
import { Constants, i32, type I32, type V128, v128 } from './common.js';
import { GGML, ggmlTypeInfo } from '../../quant/ggml-types.js';
import { GGML_BLOCK_SCALES } from '../../quant/ggml-finite.js';

/** Byte offsets of the f16 scales' high bytes in one block, per block type. */
const SCALE_HIGH_BYTES: Readonly<Record<number, readonly number[]>> = Object.fromEntries(
  Object.entries(GGML_BLOCK_SCALES).map(([type, scales]) => [type, scales.map(([offset]) => offset + 1)]),
);

/** Exponent masks of the plain types, in their lane width: all ones means Inf or NaN. */
const PLAIN: Readonly<Record<number, { mask: number; lanes: 16 | 32 }>> = {
  [GGML.F16]: { mask: 0x7c00, lanes: 16 }, [GGML.BF16]: { mask: 0x7f80, lanes: 16 }, [GGML.F32]: { mask: 0x7f800000, lanes: 32 },
};

/** Bytes of the 16-byte vectors a plain scan reads per iteration. */
const PLAIN_GROUP_BYTES = 128;

/** Export name of each type's scan: (address, groups) → 1 when a stored float is Inf/NaN, else 0. */
export const NON_FINITE_SCANS: Readonly<Record<number, string>> = Object.freeze(Object.fromEntries(
  [...Object.keys(SCALE_HIGH_BYTES), ...Object.keys(PLAIN)].map((t) => [Number(t), `nonFinite${ggmlTypeInfo(Number(t)).name}`]),
));

/** Bytes one group of a type's scan covers (whole blocks). */
export function nonFiniteGroupBytes(type: number): number {
  const high = SCALE_HIGH_BYTES[type];
  // Two gathered vectors per group: 16 blocks' scales each (8 blocks' when a block has two).
  return high ? (32 / high.length) * ggmlTypeInfo(type).blockBytes : PLAIN_GROUP_BYTES;
}

export function emitNonFiniteScans(m: ModuleBuilder): void {
  for (const [type, high] of Object.entries(SCALE_HIGH_BYTES)) emitBlockScan(m, Number(type), high);
  for (const [type, plain] of Object.entries(PLAIN)) emitPlainScan(m, Number(type), plain.mask, plain.lanes);
}

/** Lane widths of the scans: each has its eq and max_u. */
const LANES = {
  8: { eq: Simd.i8x16_eq, max: Simd.i8x16_max_u },
  16: { eq: Simd.i16x8_eq, max: Simd.i16x8_max_u },
  32: { eq: Simd.i32x4_eq, max: Simd.i32x4_max_u },
} as const;

/**
 * The function both scans share. Every stored float's exponent bits (v & mask) accumulate by
 * lane-wise max: masked bits are a subset of the mask, so the max equals the mask exactly when
 * some float's exponent was all ones (Inf or NaN). `vectors` returns, before the loop, what
 * pushes each group's vectors of floats (high bytes) one at a time; p advances a group per step.
 */
function emitScan(m: ModuleBuilder, type: number, width: 8 | 16 | 32, maskBits: number,
  vectors: (f: FunctionBuilder, p: I32) => (use: () => void) => void): void {
  const f = m.function(NON_FINITE_SCANS[type]!, [i32, i32], [i32]);
  const [p, groups] = f.params as [I32, I32];
  const c = new Constants(m, f), { eq, max } = LANES[width];
  const mask = c.bytes(Array.from({ length: 16 }, (_, i) => (maskBits >>> (8 * (i % (width / 8)))) & 255));
  // Two accumulators, alternating, so consecutive vectors do not wait on each other's max.
  const accs = [f.local(v128), f.local(v128)], [acc] = accs as [V128];
  for (const a of accs) f.v128i32(0, 0, 0, 0).set(a);
  const each = vectors(f, p);
  f.block(() => f.loop(() => {
    f.get(groups).op(Op.i32_eqz).brIf(1);
    let n = 0;
    each(() => { const a = accs[n++ % 2]!; f.get(mask).simd(Simd.v128_and).get(a).simd(max).set(a); });
    f.get(p).i32(nonFiniteGroupBytes(type)).op(Op.i32_add).set(p);
    f.get(groups).i32(1).op(Op.i32_sub).set(groups);
    f.br(0);
  }));
  f.get(acc).get(accs[1]!).simd(max).get(mask).simd(eq).simd(Simd.v128_any_true);
}

function emitBlockScan(m: ModuleBuilder, type: number, high: readonly number[]): void {
  const step = ggmlTypeInfo(type).blockBytes, perVector = 16 / high.length;
  // An f16's exponent is bits 2–6 (0x7c) of its high byte.
  emitScan(m, type, 8, 0x7c, (f, p) => {
    const gathered = [f.local(v128), f.local(v128)];
    return (use) => gathered.forEach((g, j) => {
      for (let lane = 0; lane < 16; lane++) {
        const block = j * perVector + Math.floor(lane / high.length), at = block * step + high[lane % high.length]!;
        f.get(p).get(g).simdMemLane(Simd.v128_load8_lane, at, 0, lane).set(g);
      }
      f.get(g); use();
    });
  });
}

function emitPlainScan(m: ModuleBuilder, type: number, maskBits: number, lanes: 16 | 32): void {
  emitScan(m, type, lanes, maskBits, (f, p) => (use) => {
    for (let at = 0; at < PLAIN_GROUP_BYTES; at += 16) { f.get(p).simdMem(Simd.v128_load, at); use(); }
  });
}
