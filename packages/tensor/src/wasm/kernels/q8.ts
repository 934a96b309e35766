// Q8 matvec: int8 weights × int16-per-block activations, integer block dot products.
import { ModuleBuilder, Op, Simd } from '../emitter.js';
import { Scratch, zeroV, hsum, i32, v128, type I32 } from './common.js';

/**
 * Q8 weights × activations rounded to int16 per block of 32 (scale max|x|/32767, so relative
 * error <= 1.5e-5 of the block max, far under the weights' own int8 rounding): each block's dot
 * product runs in integers, 4 × (8 int8 widened by the load, i32x4.dot_i16x8_s, i32x4.add),
 * then one int→float conversion and one multiply by scale_w·scale_x per block and row.
 */
export function emitMatvecQ8(m: ModuleBuilder): void {
  const f = m.function('matvecQ8', [i32, i32, i32, i32, i32, i32, i32]);
  const [out, q, scales, x16, xs, rows, cols] = f.params as I32[];
  const s = new Scratch(f);
  const r = f.local(i32), nBlocks = f.local(i32), fullBlocks = f.local(i32), blk = f.local(i32), e = f.local(i32);
  const px = f.local(i32), pxs = f.local(i32), sx = f.local(v128);
  const xg = Array.from({ length: 4 }, () => f.local(v128));
  f.get(cols!).i32(31).op(Op.i32_add).i32(5).op(Op.i32_shr_u).set(nBlocks);
  f.get(cols!).i32(5).op(Op.i32_shr_u).set(fullBlocks);
  const tile = (R: number) => {
    const pq = Array.from({ length: R }, (_, t) => s.i(`pq${t}`));
    const ps = Array.from({ length: R }, (_, t) => s.i(`ps${t}`));
    const acc = Array.from({ length: R }, (_, t) => s.v(`acc${t}`));
    const iacc = Array.from({ length: R }, (_, t) => s.v(`iacc${t}`));
    const sum = Array.from({ length: R }, (_, t) => s.s(`sum${t}`));
    const bs = Array.from({ length: R }, (_, t) => s.i(`bs${t}`));
    for (let t = 0; t < R; t++) {
      f.get(q!).get(r).i32(t).op(Op.i32_add).get(cols!).op(Op.i32_mul).op(Op.i32_add).set(pq[t]!);
      f.get(scales!).get(r).i32(t).op(Op.i32_add).get(nBlocks).op(Op.i32_mul).i32(2).op(Op.i32_shl).op(Op.i32_add).set(ps[t]!);
      zeroV(f).set(acc[t]!);
    }
    f.get(x16!).set(px);
    f.get(xs!).set(pxs);
    f.forSteps(blk, () => f.i32(0), fullBlocks, 1, () => {
      for (let g = 0; g < 4; g++) f.get(px).simdMem(Simd.v128_load, g * 16).set(xg[g]!);
      for (let t = 0; t < R; t++) {
        for (let g = 0; g < 4; g++) {
          f.get(pq[t]!).simdMem(Simd.v128_load8x8_s, g * 8).get(xg[g]!).simd(Simd.i32x4_dot_i16x8_s);
          if (g > 0) f.simd(Simd.i32x4_add);
        }
        f.set(iacc[t]!);
      }
      f.get(pxs).simdMem(Simd.v128_load32_splat).set(sx);
      for (let t = 0; t < R; t++) {
        f.get(acc[t]!).get(iacc[t]!).simd(Simd.f32x4_convert_i32x4_s);
        f.get(ps[t]!).simdMem(Simd.v128_load32_splat).get(sx).simd(Simd.f32x4_mul).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(acc[t]!);
        f.inc(pq[t]!, 32).inc(ps[t]!, 4);
      }
      f.inc(px, 64).inc(pxs, 4);
    });
    for (let t = 0; t < R; t++) { hsum(f, acc[t]!); f.set(sum[t]!); }
    // Partial last block (cols % 32 values): scalar integer dot, then the two scales.
    f.get(nBlocks).get(fullBlocks).op(Op.i32_ne).if(() => {
      for (let t = 0; t < R; t++) { f.i32(0).set(bs[t]!); }
      f.forSteps(e, () => f.get(fullBlocks).i32(5).op(Op.i32_shl), cols!, 1, () => {
        for (let t = 0; t < R; t++) {
          f.get(bs[t]!).get(pq[t]!).mem(Op.i32_load8_s, 0, 0).get(px).mem(Op.i32_load16_s, 0, 1).op(Op.i32_mul).op(Op.i32_add).set(bs[t]!);
          f.inc(pq[t]!, 1);
        }
        f.inc(px, 2);
      });
      for (let t = 0; t < R; t++) {
        f.get(sum[t]!).get(bs[t]!).op(Op.f32_convert_i32_s).get(ps[t]!).mem(Op.f32_load).op(Op.f32_mul)
          .get(pxs).mem(Op.f32_load).op(Op.f32_mul).op(Op.f32_add).set(sum[t]!);
      }
    });
    for (let t = 0; t < R; t++) {
      f.get(out!).get(r).i32(t).op(Op.i32_add).i32(2).op(Op.i32_shl).op(Op.i32_add).get(sum[t]!).mem(Op.f32_store);
    }
  };
  // One row at a time, in memory order (see emitMatvec): 2- and 4-row tiles measured 1.6x and 3x
  // slower with the weights in DRAM.
  f.forSteps(r, () => f.i32(0), rows!, 1, () => tile(1));
}
