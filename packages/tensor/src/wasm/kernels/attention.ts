// One attention head: scores, softmax (SIMD exp) and the weighted value sum.
import { ModuleBuilder, Op, Simd } from '../emitter.js';
import { Scratch, zeroV, splatF, hsum, expV, i32, f32, v128, type I32, type F32 } from './common.js';
import { emitDotTile } from './dot.js';

/** One attention head: scores (one key at a time, 4 vectors per step), max, exp and sum, normalisation, weighted value sum. */
export function emitAttendHead(m: ModuleBuilder): void {
  const f = m.function('attendHead', [i32, i32, i32, i32, i32, i32, f32, i32]);
  const [out, q, keys, values, count, headDim] = f.params as I32[];
  const scale = f.params[6] as F32;
  const att = f.params[7] as I32;
  const s = new Scratch(f);
  const i = f.local(i32), o = f.local(i32), end = f.local(i32), rowBytes = f.local(i32), dEnd = f.local(i32), d = f.local(i32);
  const mx = f.local(f32), sum = f.local(f32), vmax = f.local(v128), vsum = f.local(v128), t = f.local(v128);
  f.get(headDim!).i32(2).op(Op.i32_shl).set(rowBytes);
  // 1. att[i] = scale · q·k_i
  const tile = (R: number) => emitDotTile(f, s, {
    R, C: 1, U: 4, aFormat: 'f32', k: headDim!,
    rowA: (r) => { f.get(keys!).get(i).i32(r).op(Op.i32_add).get(rowBytes).op(Op.i32_mul).op(Op.i32_add); },
    rowB: () => { f.get(q!); },
    store: (r, _c, push) => {
      f.get(att).get(i).i32(r).op(Op.i32_add).i32(2).op(Op.i32_shl).op(Op.i32_add); push(); f.get(scale).op(Op.f32_mul).mem(Op.f32_store);
    },
  });
  // One key at a time in memory order (like the matvecs): 4-key tiles measured 1.5-2x slower.
  f.forSteps(i, () => f.i32(0), count!, 1, () => tile(1));
  // 2. max
  f.get(count!).i32(2).op(Op.i32_shl).set(end);
  splatF(f, -Infinity).set(vmax);
  f.forSteps(o, () => f.i32(0), end, 16, () => {
    f.get(att).get(o).op(Op.i32_add).simdMem(Simd.v128_load).get(vmax).simd(Simd.f32x4_pmax).set(vmax);
  });
  f.get(vmax).simdLane(Simd.f32x4_extract_lane, 0).get(vmax).simdLane(Simd.f32x4_extract_lane, 1).op(Op.f32_max)
    .get(vmax).simdLane(Simd.f32x4_extract_lane, 2).get(vmax).simdLane(Simd.f32x4_extract_lane, 3).op(Op.f32_max).op(Op.f32_max).set(mx);
  f.forSteps(o, () => f.get(o), end, 4, () => { f.get(att).get(o).op(Op.i32_add).mem(Op.f32_load).get(mx).op(Op.f32_max).set(mx); });
  // 3. att[i] = exp(att[i] - max), summed
  f.get(mx).simd(Simd.f32x4_splat).set(vmax);
  zeroV(f).set(vsum);
  f.forSteps(o, () => f.i32(0), end, 16, () => {
    f.get(att).get(o).op(Op.i32_add);
    f.get(att).get(o).op(Op.i32_add).simdMem(Simd.v128_load).get(vmax).simd(Simd.f32x4_sub);
    expV(f, s); f.tee(t).simdMem(Simd.v128_store);
    f.get(vsum).get(t).simd(Simd.f32x4_add).set(vsum);
  });
  hsum(f, vsum); f.set(sum);
  f.forSteps(o, () => f.get(o), end, 4, () => {
    f.get(att).get(o).op(Op.i32_add).simdMem(Simd.v128_load32_splat).get(vmax).simd(Simd.f32x4_sub);
    expV(f, s); f.set(t);
    f.get(att).get(o).op(Op.i32_add).get(t).simdLane(Simd.f32x4_extract_lane, 0).mem(Op.f32_store);
    f.get(sum).get(t).simdLane(Simd.f32x4_extract_lane, 0).op(Op.f32_add).set(sum);
  });
  // 4. normalise
  f.f32(1).get(sum).op(Op.f32_div).set(sum);
  f.get(sum).simd(Simd.f32x4_splat).set(vsum);
  f.forSteps(o, () => f.i32(0), end, 16, () => {
    f.get(att).get(o).op(Op.i32_add).get(att).get(o).op(Op.i32_add).simdMem(Simd.v128_load).get(vsum).simd(Simd.f32x4_mul).simdMem(Simd.v128_store);
  });
  f.forSteps(o, () => f.get(o), end, 4, () => {
    f.get(att).get(o).op(Op.i32_add).get(att).get(o).op(Op.i32_add).mem(Op.f32_load).get(sum).op(Op.f32_mul).mem(Op.f32_store);
  });
  // 5. out = Σ_i att[i] · v_i.
  f.get(headDim!).i32(-4).op(Op.i32_and).i32(2).op(Op.i32_shl).set(dEnd);
  f.forSteps(d, () => f.i32(0), rowBytes, 4, () => { f.get(out!).get(d).op(Op.i32_add).f32(0).mem(Op.f32_store); });
  // One entry per pass, in memory order: measured 1.3-2.3x faster than 2 or 4 interleaved entries
  // (cached and from DRAM).
  const a = s.v('a'), as = s.s('as'), pv = s.i('pv');
  f.forSteps(i, () => f.i32(0), count!, 1, () => {
    f.get(att).get(i).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.f32_load).tee(as).simd(Simd.f32x4_splat).set(a);
    f.get(values!).get(i).get(rowBytes).op(Op.i32_mul).op(Op.i32_add).set(pv);
    f.forSteps(d, () => f.i32(0), dEnd, 16, () => {
      f.get(out!).get(d).op(Op.i32_add);
      f.get(out!).get(d).op(Op.i32_add).simdMem(Simd.v128_load);
      f.get(pv).get(d).op(Op.i32_add).simdMem(Simd.v128_load).get(a).simd(Simd.f32x4_mul).simd(Simd.f32x4_add);
      f.simdMem(Simd.v128_store);
    });
    f.forSteps(d, () => f.get(d), rowBytes, 4, () => {
      f.get(out!).get(d).op(Op.i32_add);
      f.get(out!).get(d).op(Op.i32_add).mem(Op.f32_load);
      f.get(pv).get(d).op(Op.i32_add).mem(Op.f32_load).get(as).op(Op.f32_mul).op(Op.f32_add);
      f.mem(Op.f32_store);
    });
  });
}
