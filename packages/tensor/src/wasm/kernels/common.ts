// Shared pieces of the kernel emitters: typed local aliases, reusable scratch locals, vector
// constants, horizontal sums and the SIMD exp polynomial.
import { FunctionBuilder, ModuleBuilder, Op, Simd, ValType, type Local } from '../emitter.js';

export const { i32, f32, v128 } = ValType;
export type I32 = Local<typeof i32>;
export type F32 = Local<typeof f32>;
export type V128 = Local<typeof v128>;

/** Lazily created, reusable locals by name (a kernel reuses scratch across its emitted loops). */
export class Scratch {
  private readonly map = new Map<string, Local>();
  constructor(private readonly f: FunctionBuilder) {}
  i(name: string): I32 { return this.get(name, i32) as I32; }
  s(name: string): F32 { return this.get(name, f32) as F32; }
  v(name: string): V128 { return this.get(name, v128) as V128; }
  private get(name: string, type: ValType): Local {
    let l = this.map.get(name);
    if (!l) { l = this.f.local(type); this.map.set(name, l); }
    if (l.type !== type) throw new Error(`scratch local ${name} reused with another type`);
    return l;
  }
}

/**
 * A kernel's vector constants as locals, read once from v128 globals (ModuleBuilder.vectorGlobal)
 * where the kernel asks for them: ask before the loops. TurboFan re-creates a v128.const or a
 * splat at each use inside a loop (~3 instructions: a 64-bit immediate, a move, an unpack); a
 * value loaded before the loop stays in a register or is reloaded as one memory operand.
 */
export class Constants {
  private readonly map = new Map<string, Local>();
  constructor(private readonly m: ModuleBuilder, private readonly f: FunctionBuilder) {}
  /** Sixteen byte lanes. */
  bytes(b: readonly number[]): V128 { return this.get(`v${b.join(',')}`, () => this.f.globalGet(this.m.vectorGlobal(b)), v128) as V128; }
  i8(x: number): V128 { return this.bytes(Array<number>(16).fill(x & 255)); }
  i16(x: number): V128 { return this.bytes(Array.from({ length: 16 }, (_, i) => (i & 1 ? x >> 8 : x) & 255)); }
  f32x4(x: number): V128 { return this.bytes([...f32Bytes(x), ...f32Bytes(x), ...f32Bytes(x), ...f32Bytes(x)]); }
  /** A scalar f32 (lane 0 of a vector global). */
  f32(x: number): F32 {
    return this.get(`s${x}`, () => this.f.globalGet(this.m.vectorGlobal([...f32Bytes(x), ...Array<number>(12).fill(0)])).simdLane(Simd.f32x4_extract_lane, 0), f32) as F32;
  }
  private get(key: string, push: () => void, type: ValType): Local {
    let l = this.map.get(key);
    if (!l) { push(); l = this.f.local(type); this.f.set(l); this.map.set(key, l); }
    return l;
  }
}

const f32Bytes = (x: number): number[] => Array.from(new Uint8Array(new Float32Array([x]).buffer));

export const zeroV = (f: FunctionBuilder) => f.v128i32(0, 0, 0, 0);
export const splatF = (f: FunctionBuilder, x: number) => f.f32(x).simd(Simd.f32x4_splat);

/** Pushes the horizontal sum of a f32x4 local: (l0 + l1) + (l2 + l3). */
export function hsum(f: FunctionBuilder, v: V128): void {
  f.get(v).simdLane(Simd.f32x4_extract_lane, 0).get(v).simdLane(Simd.f32x4_extract_lane, 1).op(Op.f32_add);
  f.get(v).simdLane(Simd.f32x4_extract_lane, 2).get(v).simdLane(Simd.f32x4_extract_lane, 3).op(Op.f32_add);
  f.op(Op.f32_add);
}

/**
 * exp of the f32x4 on the stack, leaving the result. Cody–Waite range reduction x = n·ln2 + r,
 * |r| <= ln2/2, then a degree-6 Taylor polynomial (truncation error < 1.5e-7 relative) and 2^n
 * built in the exponent bits. Inputs are clamped to [-87.3, 88.3] so 2^n stays a normal float.
 */
export function expV(f: FunctionBuilder, s: Scratch): void {
  const x = s.v('exp.x'), n = s.v('exp.n'), r = s.v('exp.r');
  // f32x4.pmax(a, b) = a < b ? b : a and pmin(a, b) = b < a ? b : a: with x first, a clamp.
  splatF(f, -87.3).simd(Simd.f32x4_pmax);
  splatF(f, 88.3).simd(Simd.f32x4_pmin).set(x);
  f.get(x); splatF(f, Math.LOG2E).simd(Simd.f32x4_mul).simd(Simd.f32x4_nearest).set(n);
  f.get(x).get(n); splatF(f, 0.693359375).simd(Simd.f32x4_mul).simd(Simd.f32x4_sub);
  f.get(n); splatF(f, -2.12194440e-4).simd(Simd.f32x4_mul).simd(Simd.f32x4_sub).set(r);
  // p = 1 + r(1 + r(1/2 + r(1/6 + r(1/24 + r(1/120 + r/720))))) by Horner.
  f.get(r); splatF(f, 1 / 720).simd(Simd.f32x4_mul);
  for (const c of [1 / 120, 1 / 24, 1 / 6, 1 / 2, 1]) { splatF(f, c).simd(Simd.f32x4_add).get(r).simd(Simd.f32x4_mul); }
  splatF(f, 1).simd(Simd.f32x4_add);
  // 2^n: (n + 127) << 23 reinterpreted as f32.
  f.get(n).simd(Simd.i32x4_trunc_sat_f32x4_s).i32(127).simd(Simd.i32x4_splat).simd(Simd.i32x4_add)
    .i32(23).simd(Simd.i32x4_shl);
  f.simd(Simd.f32x4_mul);
}
