// The activation side of the integer kernels in SIMD. For the ggml block kernels: x as two int16
// terms per value and, per block of 32, the float sum (for the types whose values carry an offset). The same rounding as
// quant/weights.ts splitActivations16 computed in float32 instead of float64 (the scaled value's
// rounding, ≤ 2^-10 of an h step, is ~3e-8 of the block's largest |x|): it ran in JS at ~10 ns a
// value, a quarter of a SmolLM2-sized Q8_0 decode's kernel time (node --cpu-prof).
import { FunctionBuilder, ModuleBuilder, Op, Simd } from '../emitter.js';
import { f32, i32, v128, type F32, type I32, type V128 } from './common.js';

/** For the block of 32 f32 in v[0..8): amax = max|x| and xs[0] = scale = amax/levels (32767: the int16 range). */
export function blockScale(f: FunctionBuilder, v: V128[], t: V128, amax: F32, scale: F32, xs: I32, levels = 32767): void {
  f.get(v[0]!).simd(Simd.f32x4_abs);
  for (let i = 1; i < 8; i++) f.get(v[i]!).simd(Simd.f32x4_abs).simd(Simd.f32x4_max);
  f.set(t);
  f.get(t).simdLane(Simd.f32x4_extract_lane, 0).get(t).simdLane(Simd.f32x4_extract_lane, 1).op(Op.f32_max);
  f.get(t).simdLane(Simd.f32x4_extract_lane, 2).get(t).simdLane(Simd.f32x4_extract_lane, 3).op(Op.f32_max).op(Op.f32_max).set(amax);
  f.get(amax).f32(levels).op(Op.f32_div).set(scale);
  f.get(xs).get(scale).mem(Op.f32_store);
}

/**
 * roundActivations(x, x16, xs, blocks): for the Q8 matvec (quant/weights.ts
 * quantizeActivations16, which rounds in float64 on the calling thread and was ~7 % of a
 * stories15M Q8 decode's profile, serial work beside two threads): blocks of 32 f32 at x → 32
 * int16 each at x16 = nearest(x·32767/amax), xs[b] = amax/32767 (the same scale bits; h within 1 of
 * the float64 rounding).
 */
export function emitRoundActivations(m: ModuleBuilder): void {
  const f = m.function('roundActivations', [i32, i32, i32, i32]);
  const [x, out, xs, blocks] = f.params as I32[];
  const b = f.local(i32);
  const v = Array.from({ length: 8 }, () => f.local(v128));
  const t = f.local(v128), inv = f.local(v128), amax = f.local(f32), scale = f.local(f32);
  f.forSteps(b, () => f.i32(0), blocks!, 1, () => {
    for (let i = 0; i < 8; i++) f.get(x!).simdMem(Simd.v128_load, 16 * i).set(v[i]!);
    blockScale(f, v, t, amax, scale, xs!);
    // inv = amax > 0 ? 32767/amax : 0 (an all-zero block rounds to zeros)
    f.f32(32767).get(amax).op(Op.f32_div).f32(0).get(amax).f32(0).op(Op.f32_gt).op(Op.select).simd(Simd.f32x4_splat).set(inv);
    for (let g = 0; g < 4; g++) {
      f.get(out!);
      for (const val of [v[2 * g]!, v[2 * g + 1]!]) f.get(val).get(inv).simd(Simd.f32x4_mul).simd(Simd.f32x4_nearest).simd(Simd.i32x4_trunc_sat_f32x4_s);
      f.simd(Simd.i16x8_narrow_i32x4_s).simdMem(Simd.v128_store, 16 * g);
    }
    f.inc(x!, 128).inc(out!, 64).inc(xs!, 4);
  });
}

/** splitActivations(x, out, xs, xsum, blocks): blocks of 32 f32 at x → 64 int16 each at out, xs[b] (f32), xsum[b] (f32). */
export function emitSplitActivations(m: ModuleBuilder): void {
  const f = m.function('splitActivations', [i32, i32, i32, i32, i32]);
  const [x, out, xs, xsum, blocks] = f.params as I32[];
  const b = f.local(i32);
  const v = Array.from({ length: 8 }, () => f.local(v128));
  const t = f.local(v128), inv = f.local(v128), h0 = f.local(v128), h1 = f.local(v128);
  const amax = f.local(f32), scale = f.local(f32);
  f.forSteps(b, () => f.i32(0), blocks!, 1, () => {
    for (let i = 0; i < 8; i++) f.get(x!).simdMem(Simd.v128_load, 16 * i).set(v[i]!);
    // Σx over the block, lanes then across.
    f.get(v[0]!); for (let i = 1; i < 8; i++) f.get(v[i]!).simd(Simd.f32x4_add);
    f.set(t);
    f.get(xsum!);
    f.get(t).simdLane(Simd.f32x4_extract_lane, 0).get(t).simdLane(Simd.f32x4_extract_lane, 1).op(Op.f32_add);
    f.get(t).simdLane(Simd.f32x4_extract_lane, 2).get(t).simdLane(Simd.f32x4_extract_lane, 3).op(Op.f32_add).op(Op.f32_add);
    f.mem(Op.f32_store);
    blockScale(f, v, t, amax, scale, xs!);
    // inv = scale > 0 ? 1/scale : 0 (an all-zero block gives h = l = 0)
    f.f32(1).get(scale).op(Op.f32_div).f32(0).get(scale).f32(0).op(Op.f32_gt).op(Op.select).simd(Simd.f32x4_splat).set(inv);
    for (let g = 0; g < 4; g++) {
      // values 8g .. 8g+7: h = nearest(x·inv), l = nearest((x·inv − h)·65534), narrowed to int16.
      const [a, c] = [v[2 * g]!, v[2 * g + 1]!];
      f.get(a).get(inv).simd(Simd.f32x4_mul).set(a).get(c).get(inv).simd(Simd.f32x4_mul).set(c);
      f.get(a).simd(Simd.f32x4_nearest).set(h0).get(c).simd(Simd.f32x4_nearest).set(h1);
      f.get(out!).get(h0).simd(Simd.i32x4_trunc_sat_f32x4_s).get(h1).simd(Simd.i32x4_trunc_sat_f32x4_s).simd(Simd.i16x8_narrow_i32x4_s)
        .simdMem(Simd.v128_store, 16 * g);
      f.get(out!);
      for (const [val, h] of [[a, h0], [c, h1]] as const) {
        f.get(val).get(h).simd(Simd.f32x4_sub).f32(65534).simd(Simd.f32x4_splat).simd(Simd.f32x4_mul).simd(Simd.f32x4_nearest)
          .simd(Simd.i32x4_trunc_sat_f32x4_s);
      }
      f.simd(Simd.i16x8_narrow_i32x4_s).simdMem(Simd.v128_store, 64 + 16 * g);
    }
    f.inc(x!, 128).inc(out!, 128).inc(xs!, 4).inc(xsum!, 4);
  });
}
