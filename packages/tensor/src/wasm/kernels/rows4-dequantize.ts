// The frame every four-rows dequantizer shares (kernels/rows4.ts, kernels/rows4-q6k.ts): the loops
// over groups and their blocks, and the store of one weight vector's values into the four rows.
import { FunctionBuilder, ModuleBuilder, Op, Simd } from '../emitter.js';
import { Constants, i32, v128, type I32, type V128 } from './common.js';

/** What a dequantizer's block body gets. */
export interface Rows4DequantizeBlock {
  f: FunctionBuilder;
  /** The group block's address. */
  pw: I32;
  /** Sets lo, hi to lanes (0, 0, 1, 1) and (2, 2, 3, 3) of the f32x4 local v: row k's scale beside its two values. */
  spread(v: V128, lo: V128, hi: V128): void;
  /**
   * Stores weight vector wv (i16x8: values `value`, `value` + 1 of row k in lanes 2k, 2k + 1) as f32,
   * each times its row's scale (lo: rows 0, 1; hi: rows 2, 3, as spread sets them), into the four rows.
   */
  store(wv: V128, lo: V128, hi: V128, value: number): void;
}

/**
 * Emits name(dst, src, groups, cols): 4·groups rows of cols f32, row-major, from the group blocks
 * at src (groupBlockBytes per blockValues values of four rows). `kernel` asks for its constants
 * (before the loops) and returns what emits one group block.
 */
export function emitRows4Dequantizer(
  m: ModuleBuilder, name: string, blockValues: number, groupBlockBytes: number,
  kernel: (f: FunctionBuilder, c: Constants) => (b: Rows4DequantizeBlock) => void,
): void {
  const f = m.function(name, [i32, i32, i32, i32]);
  const [dst, src, groups, cols] = f.params as I32[];
  const block = kernel(f, new Constants(m, f));
  const g = f.local(i32), rowBytes = f.local(i32), row0 = f.local(i32), end = f.local(i32), pw = f.local(i32), groupBytes = f.local(i32), q = f.local(v128);
  const lanes32 = (a: number, b: number) => [a, a, b, b].flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);
  const spread = (v: V128, lo: V128, hi: V128) => { f.get(v).get(v).shuffle(lanes32(0, 1)).set(lo).get(v).get(v).shuffle(lanes32(2, 3)).set(hi); };
  const store = (wv: V128, lo: V128, hi: V128, value: number) => {
    for (const [h, ext, scale] of [[0, Simd.i32x4_extend_low_i16x8_s, lo], [1, Simd.i32x4_extend_high_i16x8_s, hi]] as const) {
      f.get(wv).simd(ext).simd(Simd.f32x4_convert_i32x4_s).get(scale).simd(Simd.f32x4_mul).set(q);
      for (let r = 0; r < 2; r++) { // lanes (row 2h: the two values; row 2h+1: the same) → 8 bytes into each row
        f.get(row0);
        if (2 * h + r > 0) f.get(rowBytes).i32(2 * h + r).op(Op.i32_mul).op(Op.i32_add);
        f.get(q).simdMemLane(Simd.v128_store64_lane, 4 * value, 0, r);
      }
    }
  };
  f.get(cols!).i32(2).op(Op.i32_shl).set(rowBytes);
  f.get(cols!).i32(Math.log2(blockValues)).op(Op.i32_shr_u).i32(groupBlockBytes).op(Op.i32_mul).set(groupBytes);
  f.get(src!).set(pw);
  f.forSteps(g, () => f.i32(0), groups!, 1, () => {
    f.get(pw).get(groupBytes).op(Op.i32_add).set(end);
    f.get(dst!).set(row0);
    f.block(() => f.loop(() => {
      f.get(pw).get(end).op(Op.i32_ge_u).brIf(1);
      block({ f, pw, spread, store });
      f.inc(pw, groupBlockBytes).inc(row0, 4 * blockValues).br(0);
    }));
    f.get(dst!).get(rowBytes).i32(2).op(Op.i32_shl).op(Op.i32_add).set(dst!);
  });
}
