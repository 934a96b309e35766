// The frame the four-rows layout's dequantizers share (kernels/rows4.ts, kernels/rows4-q4k.ts):
// a prompt's f32 panels from repacked rows, a group block at a time, each weight vector's lanes
// (two values of each of the four rows) stored into the rows they belong to.
import { FunctionBuilder, ModuleBuilder, Op, Simd } from '../emitter.js';
import { Constants, i32, type I32, type V128 } from './common.js';

/** A layout dequantizer's view of one group block: its bytes at pw, row 0's f32 output at row0 (the rows rowBytes apart). */
export interface GroupBlockOut { f: FunctionBuilder; pw: I32; row0: I32; rowBytes: I32 }

/**
 * The frame of a layout dequantizer `name`(dst, src, groups, cols): for each group, each group
 * block (blockValues values of the four rows, blockBytes bytes) goes to the body that `setup`
 * returns (setup runs once, before the loops: constants and locals), then row0 moves on.
 */
export function emitGroupDequantizer(m: ModuleBuilder, name: string, blockValues: number, blockBytes: number, setup: (f: FunctionBuilder, c: Constants) => (o: GroupBlockOut) => void): void {
  const f = m.function(name, [i32, i32, i32, i32]);
  const [dst, src, groups, cols] = f.params as I32[];
  const body = setup(f, new Constants(m, f));
  const g = f.local(i32), rowBytes = f.local(i32), row0 = f.local(i32), end = f.local(i32), pw = f.local(i32), groupBytes = f.local(i32);
  f.get(cols!).i32(2).op(Op.i32_shl).set(rowBytes);
  f.get(cols!).i32(Math.log2(blockValues)).op(Op.i32_shr_u).i32(blockBytes).op(Op.i32_mul).set(groupBytes);
  f.get(src!).set(pw);
  f.forSteps(g, () => f.i32(0), groups!, 1, () => {
    f.get(pw).get(groupBytes).op(Op.i32_add).set(end);
    f.get(dst!).set(row0);
    f.block(() => f.loop(() => {
      f.get(pw).get(end).op(Op.i32_ge_u).brIf(1);
      body({ f, pw, row0, rowBytes });
      f.inc(pw, blockBytes).inc(row0, 4 * blockValues).br(0);
    }));
    f.get(dst!).get(rowBytes).i32(2).op(Op.i32_shl).op(Op.i32_add).set(dst!);
  });
}

/** i8x16.shuffle lanes giving 32-bit lanes (a, a, b, b). */
export const pairLanes = (a: number, b: number): number[] => [a, a, b, b].flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);

/**
 * Stores weight vector wv (lanes 2k, 2k + 1: row k's values at float offset `at` of its block) as
 * f32 into the four rows: q·scale[h] (− offset[h]) for rows 2h, 2h + 1, whose factors sit in lanes
 * (2h, 2h, 2h + 1, 2h + 1) of scale[h] / offset[h] (pairLanes).
 */
export function storeVectorRows(o: GroupBlockOut, wv: V128, at: number, q: V128, scale: readonly V128[], offset?: readonly V128[]): void {
  const { f } = o;
  for (const [h, ext] of [[0, Simd.i32x4_extend_low_i16x8_s], [1, Simd.i32x4_extend_high_i16x8_s]] as const) {
    f.get(wv).simd(ext).simd(Simd.f32x4_convert_i32x4_s).get(scale[h]!).simd(Simd.f32x4_mul);
    if (offset) f.get(offset[h]!).simd(Simd.f32x4_sub);
    f.set(q);
    for (let r = 0; r < 2; r++) {
      f.get(o.row0);
      if (2 * h + r > 0) f.get(o.rowBytes).i32(2 * h + r).op(Op.i32_mul).op(Op.i32_add);
      f.get(q).simdMemLane(Simd.v128_store64_lane, 4 * at, 0, r);
    }
  }
}
