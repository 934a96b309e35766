// Elementwise and row kernels: residual add, SwiGLU (SIMD exp), RMSNorm.
import { ModuleBuilder, Op, Simd } from '../emitter.js';
import { Scratch, zeroV, splatF, hsum, expV, i32, f32, v128, type I32, type F32 } from './common.js';

/** out = a + b, elementwise. */
export function emitAdd(m: ModuleBuilder): void {
  const f = m.function('add', [i32, i32, i32, i32]);
  const [out, a, b, n] = f.params as I32[];
  const o = f.local(i32), end = f.local(i32);
  f.get(n!).i32(2).op(Op.i32_shl).set(end);
  f.forSteps(o, () => f.i32(0), end, 16, () => {
    f.get(out!).get(o).op(Op.i32_add);
    f.get(a!).get(o).op(Op.i32_add).simdMem(Simd.v128_load);
    f.get(b!).get(o).op(Op.i32_add).simdMem(Simd.v128_load);
    f.simd(Simd.f32x4_add).simdMem(Simd.v128_store);
  });
  f.forSteps(o, () => f.get(o), end, 4, () => {
    f.get(out!).get(o).op(Op.i32_add);
    f.get(a!).get(o).op(Op.i32_add).mem(Op.f32_load);
    f.get(b!).get(o).op(Op.i32_add).mem(Op.f32_load);
    f.op(Op.f32_add).mem(Op.f32_store);
  });
}

/** out[0 .. n) = src[0 .. n) (f32; the regions must not overlap): a worker commits a chunk it computed into its scratch (threads/rescue.ts). */
export function emitCopy(m: ModuleBuilder): void {
  const f = m.function('copyF32', [i32, i32, i32]);
  const [out, src, n] = f.params as I32[];
  const o = f.local(i32), end = f.local(i32);
  f.get(n!).i32(2).op(Op.i32_shl).set(end);
  f.forSteps(o, () => f.i32(0), end, 16, () => {
    f.get(out!).get(o).op(Op.i32_add);
    f.get(src!).get(o).op(Op.i32_add).simdMem(Simd.v128_load).simdMem(Simd.v128_store);
  });
  f.forSteps(o, () => f.get(o), end, 4, () => {
    f.get(out!).get(o).op(Op.i32_add);
    f.get(src!).get(o).op(Op.i32_add).mem(Op.f32_load).mem(Op.f32_store);
  });
}

/** out = silu(gate) · up = gate · up / (1 + exp(-gate)). Tail elements go through the vector path one lane at a time. */
export function emitSwiglu(m: ModuleBuilder): void {
  const f = m.function('swiglu', [i32, i32, i32, i32]);
  const [out, gate, up, n] = f.params as I32[];
  const s = new Scratch(f);
  const o = f.local(i32), end = f.local(i32), g = f.local(v128);
  const body = (load: () => void, store: () => void) => {
    f.get(gate!).get(o).op(Op.i32_add); load(); f.set(g);
    f.get(out!).get(o).op(Op.i32_add);
    f.get(g).get(up!).get(o).op(Op.i32_add); load(); f.simd(Simd.f32x4_mul);
    splatF(f, 1);
    splatF(f, 0).get(g).simd(Simd.f32x4_sub); expV(f, s);
    f.simd(Simd.f32x4_add).simd(Simd.f32x4_div);
    store();
  };
  f.get(n!).i32(2).op(Op.i32_shl).set(end);
  f.forSteps(o, () => f.i32(0), end, 16, () => body(() => f.simdMem(Simd.v128_load), () => f.simdMem(Simd.v128_store)));
  f.forSteps(o, () => f.get(o), end, 4, () => body(
    () => f.simdMem(Simd.v128_load32_splat),
    () => f.simdLane(Simd.f32x4_extract_lane, 0).mem(Op.f32_store),
  ));
}

/** out = w · x / sqrt(mean(x²) + eps). */
export function emitRmsnorm(m: ModuleBuilder): void {
  const f = m.function('rmsnorm', [i32, i32, i32, i32, f32]);
  const [out, x, w, n] = f.params as I32[];
  const eps = f.params[4] as F32;
  const o = f.local(i32), end = f.local(i32), acc = f.local(v128), ss = f.local(f32), v = f.local(v128);
  f.get(n!).i32(2).op(Op.i32_shl).set(end);
  zeroV(f).set(acc);
  f.forSteps(o, () => f.i32(0), end, 16, () => {
    f.get(x!).get(o).op(Op.i32_add).simdMem(Simd.v128_load).tee(v).get(v).simd(Simd.f32x4_mul).get(acc).simd(Simd.f32x4_add).set(acc);
  });
  hsum(f, acc); f.set(ss);
  const t = f.local(f32);
  f.forSteps(o, () => f.get(o), end, 4, () => {
    f.get(x!).get(o).op(Op.i32_add).mem(Op.f32_load).tee(t).get(t).op(Op.f32_mul).get(ss).op(Op.f32_add).set(ss);
  });
  // inv = 1 / sqrt(ss / n + eps), kept in ss.
  f.f32(1).get(ss).get(n!).op(Op.f32_convert_i32_s).op(Op.f32_div).get(eps).op(Op.f32_add).op(Op.f32_sqrt).op(Op.f32_div).set(ss);
  f.get(ss).simd(Simd.f32x4_splat).set(acc);
  f.forSteps(o, () => f.i32(0), end, 16, () => {
    f.get(out!).get(o).op(Op.i32_add);
    f.get(w!).get(o).op(Op.i32_add).simdMem(Simd.v128_load);
    f.get(x!).get(o).op(Op.i32_add).simdMem(Simd.v128_load).get(acc).simd(Simd.f32x4_mul);
    f.simd(Simd.f32x4_mul).simdMem(Simd.v128_store);
  });
  f.forSteps(o, () => f.get(o), end, 4, () => {
    f.get(out!).get(o).op(Op.i32_add);
    f.get(w!).get(o).op(Op.i32_add).mem(Op.f32_load);
    f.get(x!).get(o).op(Op.i32_add).mem(Op.f32_load).get(ss).op(Op.f32_mul);
    f.op(Op.f32_mul).mem(Op.f32_store);
  });
}
