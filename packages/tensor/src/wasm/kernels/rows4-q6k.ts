// Kernels on the four-rows layout of Q6_K (../../quant/rows4-q6k.ts): the decode matvec and the
// prompt panels' conversion to f32.
// The matvec reads the plain split activations (kernels/split.ts), each value pair broadcast to the
// four lanes by v128.load32_splat: no widened copy, so no limit on the columns (ffn_down has 1536).
// Per unit of 16 values its eight weight vectors come out of three loads with shifts alone (the
// values are stored as 6-bit two's complement), and each dot product gives the four rows' sums in
// lanes 0..3: no reduction across lanes, and the scales of four rows are one vector.
// Bit for bit matvecQ6_K (kernels/ggml.ts) on the plain rows: that kernel sums a unit's products in
// four partial lanes (values 2i, 2i+1, 8+2i, 9+2i: pairs i and 4+i), converts each lane's two
// integer terms to one float and adds the lanes as (x0 + x2) + (x1 + x3); sub-block u goes to
// accumulator lane (u >> 1) & 3 as acc += x · ((sc_u·d)·xs), and the row is (a0 + a1) + (a2 + a3) + 0.
// This kernel takes the same integer sums (pairs i and 4+i) and the same float operations, lane by lane.
import { FunctionBuilder, ModuleBuilder, Op, Simd } from '../emitter.js';
import { Constants, i32, v128, type I32, type V128 } from './common.js';
import { L_SCALE, halvesConstants, halvesToF32 } from './ggml.js';
import { emitRows4Dequantizer } from './rows4-dequantize.js';
import { Q6K_D, Q6K_GROUP_BLOCK, Q6K_MID, Q6K_SCALES, Q6K_TOP, Q6K_UNITS, Q6K_UNIT_BYTES } from '../../quant/rows4-q6k.js';

export const Q6K_ROWS4_MATVEC = 'matvecQ6_KRows4', Q6K_ROWS4_DEQUANTIZER = 'dequantizeQ6_KRows4';

/** Byte offset of value v's h term in the split activations (its l term is 64 bytes further). */
const xAt = (v: number): number => 128 * (v >> 5) + 2 * (v & 31);

/** Unit u's S_0..S_2 at pw, loaded into s; decode(p) pushes its weight vector W_p (i16x8, q − 32). */
function unitDecoder(f: FunctionBuilder, pw: I32, mask3: V128, s: readonly V128[]): { load(u: number): void; decode(p: number): void } {
  return {
    load: (u) => s.forEach((v, j) => f.get(pw).simdMem(Simd.v128_load, Q6K_UNITS + Q6K_UNIT_BYTES * u + 16 * j, 0).set(v)),
    decode: (p) => {
      const top = (Q6K_TOP as readonly number[]).indexOf(p), mid = (Q6K_MID as readonly number[]).indexOf(p);
      if (top >= 0) { f.get(s[top]!).i32(10).simd(Simd.i16x8_shr_s); return; }
      if (mid >= 0) { f.get(s[mid]!).i32(6).simd(Simd.i16x8_shl).i32(10).simd(Simd.i16x8_shr_s); return; }
      // W3: S_0's low 4 bits are e >> 2, S_1's bits 0..1 e & 3; W7: S_2's low 4 bits, S_1's bits 2..3.
      f.get(s[p === 3 ? 0 : 2]!).i32(12).simd(Simd.i16x8_shl).i32(10).simd(Simd.i16x8_shr_s);
      f.get(s[1]!);
      if (p === 7) f.i32(2).simd(Simd.i16x8_shr_u);
      f.get(mask3).simd(Simd.v128_and).simd(Simd.v128_or);
    },
  };
}

/** Pushes f32(sc_u) of the four rows (lanes 0..3) from sc16, the i16 lanes of units u & ~1, u | 1. */
function scaleOf(f: FunctionBuilder, sc16: V128, u: number): void {
  f.get(sc16).simd(u & 1 ? Simd.i32x4_extend_high_i16x8_s : Simd.i32x4_extend_low_i16x8_s).simd(Simd.f32x4_convert_i32x4_s);
}

/** Sets sc16 to the i16 scales of units u, u + 1 (u even), loading the four units' bytes into scb for u % 4 = 0. */
function loadScales(f: FunctionBuilder, pw: I32, u: number, scb: V128, sc16: V128): void {
  if (u % 4 === 0) f.get(pw).simdMem(Simd.v128_load, Q6K_SCALES + 4 * u, 0).set(scb);
  f.get(scb).simd(u % 4 === 0 ? Simd.i16x8_extend_low_i8x16_s : Simd.i16x8_extend_high_i8x16_s).set(sc16);
}

/**
 * matvecQ6_KRows4(out, w, x16, xs, rows, cols): rows (a multiple of 4) rows in the layout at w
 * against the split activations x16 with block scales xs (kernels/split.ts).
 */
function emitMatvec(m: ModuleBuilder): void {
  const f = m.function(Q6K_ROWS4_MATVEC, [i32, i32, i32, i32, i32, i32]);
  const [out, w, x16, xs, rows, cols] = f.params as I32[];
  const c = new Constants(m, f), lScale = c.f32x4(L_SCALE), mask3 = c.i16(3), halves = halvesConstants(c);
  const g = f.local(i32), pw = f.local(i32), px = f.local(i32), pxs = f.local(i32), end = f.local(i32), po = f.local(i32), groupBytes = f.local(i32);
  const acc = [0, 1, 2, 3].map(() => f.local(v128)), d = f.local(v128), scb = f.local(v128), sc16 = f.local(v128);
  const s = [0, 1, 2].map(() => f.local(v128)), accH = f.local(v128), accL = f.local(v128), t02 = f.local(v128), t13 = f.local(v128), x = f.local(v128);
  const unit = unitDecoder(f, pw, mask3, s), wv = f.local(v128);
  f.get(cols!).i32(8).op(Op.i32_shr_u).i32(Q6K_GROUP_BLOCK).op(Op.i32_mul).set(groupBytes);
  f.get(w!).set(pw).get(out!).set(po);
  f.forSteps(g, () => f.i32(0), rows!, 4, () => {
    f.get(pw).get(groupBytes).op(Op.i32_add).set(end);
    f.get(x16!).set(px).get(xs!).set(pxs);
    for (const a of acc) f.v128i32(0, 0, 0, 0).set(a);
    f.block(() => f.loop(() => {
      f.get(pw).get(end).op(Op.i32_ge_u).brIf(1);
      f.get(pw).simdMem(Simd.v128_load64_zero, Q6K_D, 0); halvesToF32(f, halves); f.set(d);
      for (let u = 0; u < 16; u++) {
        if (u % 2 === 0) loadScales(f, pw, u, scb, sc16);
        unit.load(u);
        for (const i of [0, 2, 1, 3]) {
          // partial lane i of the plain kernel: pairs i and 4 + i, both terms
          [i, 4 + i].forEach((p, n) => {
            unit.decode(p); f.set(wv);
            for (const [sum, at] of [[accH, xAt(16 * u + 2 * p)], [accL, xAt(16 * u + 2 * p) + 64]] as const) {
              f.get(wv).get(px).simdMem(Simd.v128_load32_splat, at, 2).simd(Simd.i32x4_dot_i16x8_s);
              if (n > 0) f.get(sum).simd(Simd.i32x4_add);
              f.set(sum);
            }
          });
          f.get(accH).simd(Simd.f32x4_convert_i32x4_s).get(accL).simd(Simd.f32x4_convert_i32x4_s).get(lScale).simd(Simd.f32x4_mul).simd(Simd.f32x4_add);
          if (i === 0) f.set(t02);
          else if (i === 2) f.get(t02).simd(Simd.f32x4_add).set(t02);
          else if (i === 1) f.set(t13);
          else f.get(t13).simd(Simd.f32x4_add).get(t02).simd(Simd.f32x4_add).set(x);
          f.get(po).get(i === 3 ? x : i === 1 ? t13 : t02).simdMemLane(Simd.v128_store32_lane, 0, 2, 0); // fence: one per partial (one per unit: 0.85×, none: 0.40×)
        }
        // acc[(u >> 1) & 3] += x · ((sc_u·d)·xs_{u >> 1})
        const a = acc[(u >> 1) & 3]!;
        f.get(a).get(x);
        scaleOf(f, sc16, u); f.get(d).simd(Simd.f32x4_mul).get(pxs).simdMem(Simd.v128_load32_splat, 4 * (u >> 1), 2).simd(Simd.f32x4_mul);
        f.simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(a);
      }
      f.inc(pw, Q6K_GROUP_BLOCK).inc(px, 8 * 128).inc(pxs, 8 * 4).br(0);
    }));
    // (a0 + a1) + (a2 + a3), then the plain kernel's − Σmins (+0) + offsets (+0): −0 becomes +0 as there.
    f.get(po).get(acc[0]!).get(acc[1]!).simd(Simd.f32x4_add).get(acc[2]!).get(acc[3]!).simd(Simd.f32x4_add).simd(Simd.f32x4_add);
    f.v128i32(0, 0, 0, 0).simd(Simd.f32x4_add).simdMem(Simd.v128_store, 0, 2);
    f.inc(po, 16);
  });
}

/**
 * dequantizeQ6_KRows4(dst, src, groups, cols): the f32 rows of `groups` groups, each value
 * (sc·d)·(q − 32) as the plain dequantizer and the exact JS one compute it.
 */
function emitDequantizer(m: ModuleBuilder): void {
  emitRows4Dequantizer(m, Q6K_ROWS4_DEQUANTIZER, 256, Q6K_GROUP_BLOCK, (f, c) => {
    const halves = halvesConstants(c), mask3 = c.i16(3), s = [0, 1, 2].map(() => f.local(v128));
    const d = f.local(v128), scb = f.local(v128), sc16 = f.local(v128), sd = f.local(v128), sdLo = f.local(v128), sdHi = f.local(v128), wv = f.local(v128);
    return ({ pw, spread, store }) => {
      const unit = unitDecoder(f, pw, mask3, s);
      f.get(pw).simdMem(Simd.v128_load64_zero, Q6K_D, 0); halvesToF32(f, halves); f.set(d);
      for (let u = 0; u < 16; u++) {
        if (u % 2 === 0) loadScales(f, pw, u, scb, sc16);
        scaleOf(f, sc16, u); f.get(d).simd(Simd.f32x4_mul).set(sd);
        spread(sd, sdLo, sdHi);
        unit.load(u);
        for (let p = 0; p < 8; p++) { unit.decode(p); f.set(wv); store(wv, sdLo, sdHi, 16 * u + 2 * p); }
      }
    };
  });
}

/** Adds the Q6_K four-rows kernels to the module. */
export function emitQ6KRows4Kernels(m: ModuleBuilder): void {
  emitMatvec(m);
  emitDequantizer(m);
}
