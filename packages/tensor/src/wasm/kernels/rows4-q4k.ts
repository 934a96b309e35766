// Kernels on Q4_K in the four-rows layout (../../quant/rows4-q4k.ts): the decode matvec and the
// prompt panels' conversion to f32.
// The matvec reads the plain split activations (kernels/split.ts), each h / l pair as a
// load32_splat, so nothing 16 bytes per value has to stay in L1 (Q4_K rows are 256-multiples,
// ffn_down's 1536 columns and up). Per sub-block of the four rows: 16 weight vectors (a mask or a
// shift of 8 loaded bytes each) dotted with their pair → the four rows' integer sums in one i32x4,
// lane k = row k: none of matvecQ4_K's reductions across lanes, and the scales, mins and f16
// factors come as lane-per-row vectors from one load each. The float operations are matvecQ4_K's
// per row, lane by lane (kernels/ggml.ts emitK45 and its frame): per super-block
//   acc_(j mod 4) += (f32(h_j) + f32(l_j)·L_SCALE) · ((f32(sc_j)·d)·xs_j)            for j < 8,
//   macc_j += ((f32(m_j)·xsum_j) + (f32(m_(j+4))·xsum_(j+4)))·dmin                    for j < 4,
// then ((acc_0 + acc_1) + (acc_2 + acc_3)) − ((macc_0 + macc_1) + (macc_2 + macc_3)) + 0, so every
// row is bit for bit what matvecQ4_K gives on the plain rows (test/rows4.test.ts).
import { FunctionBuilder, ModuleBuilder, Op, Simd } from '../emitter.js';
import { Constants, i32, v128, type I32, type V128 } from './common.js';
import { Q4K_GROUP_BLOCK, Q4K_NIBBLES } from '../../quant/rows4-q4k.js';
import { L_SCALE, halvesConstants, halvesToF32 } from './ggml.js';
import { emitRows4Dequantizer } from './rows4-dequantize.js';

/** Export name of the layout's matvec: (out, w, x16, xs, rows, cols, xsum), a Rows4Matvec on the split activations (rows a multiple of 4). */
export const Q4K_ROWS4_MATVEC = 'matvecQ4_KRows4';
/** Export name of the layout's dequantizer (dst, src, groups, cols). */
export const Q4K_ROWS4_DEQUANTIZER = 'dequantizeQ4_KRows4';

interface SixBits { low4: V128; bits45: V128 }

/**
 * Sets scales[0], scales[1] (sub-blocks 0..3, 4..7) and mins[0], mins[1] to byte vectors of the
 * 6-bit values, byte 4j + k = row k: the low nibbles ORed with the top two bits moved to bits 4-5
 * (16-bit shifts: the masks drop what crosses a byte).
 */
function sixBitVectors(f: FunctionBuilder, pw: I32, k: SixBits, scales: readonly V128[], mins: readonly V128[], top: V128, which: 'scales' | 'mins' | 'both' = 'both'): void {
  f.get(pw).simdMem(Simd.v128_load, 48, 0).set(top);
  for (const [dst, at] of [[scales, 16], [mins, 32]] as const) {
    if (which !== 'both' && (at === 16) !== (which === 'scales')) continue;
    const topShift = at === 16 ? 4 : 0; // where the top bits of sub-block j sit, as a left shift to bits 4-5
    for (let hi = 0; hi < 2; hi++) {
      f.get(pw).simdMem(Simd.v128_load, at, 0);
      if (hi) f.i32(4).simd(Simd.i16x8_shr_u);
      f.get(k.low4).simd(Simd.v128_and);
      const shift = topShift - 2 * hi;
      f.get(top);
      if (shift > 0) f.i32(shift).simd(Simd.i16x8_shl); else if (shift < 0) f.i32(-shift).simd(Simd.i16x8_shr_u);
      f.get(k.bits45).simd(Simd.v128_and).simd(Simd.v128_or).set(dst[hi]!);
    }
  }
}

/** Pushes the f32x4 of bytes 4j .. 4j + 3 (j < 4) of a byte vector local (unsigned). */
function laneFloats(f: FunctionBuilder, bytes: V128, j: number): void {
  f.get(bytes).simd(j < 2 ? Simd.i16x8_extend_low_i8x16_u : Simd.i16x8_extend_high_i8x16_u)
    .simd(j % 2 === 0 ? Simd.i32x4_extend_low_i16x8_u : Simd.i32x4_extend_high_i16x8_u).simd(Simd.f32x4_convert_i32x4_s);
}

/**
 * Sets `dst` to weight vector v (i16x8, lane 2k + e = row k's value 32j + 2v + e) of sub-block j
 * of the group block at pw: the low nibbles of 8 loaded bytes for even v (the bytes kept in
 * `pairBytes`), their high nibbles for v + 1.
 */
function weightVector(f: FunctionBuilder, pw: I32, j: number, v: number, low4w: V128, pairBytes: V128, dst: V128): void {
  if (v % 2 === 0) f.get(pw).simdMem(Simd.v128_load8x8_u, Q4K_NIBBLES + 64 * j + 8 * (v >> 1), 0).set(pairBytes);
  f.get(pairBytes);
  if (v % 2 === 0) f.get(low4w).simd(Simd.v128_and); else f.i32(4).simd(Simd.i16x8_shr_u);
  f.set(dst);
}

/** Sub-blocks whose float steps run together (all of a super-block's). */
const DEFERRED = 8;

/**
 * matvecQ4_KRows4(out, w, x16, xs, rows, cols, xsum). A super-block's eight integer sums come
 * first, its float steps after them: TurboFan keeps loads in program order but places arithmetic
 * late, and float steps between the sub-blocks' loads made the kernel 1.1× slower (measured). A
 * store of the running integer sums every four weight vectors, and of each sub-block's, keeps a
 * sub-block's loads from all being issued first (as in kernels/rows4.ts).
 */
function emitMatvec(m: ModuleBuilder): void {
  const f = m.function(Q4K_ROWS4_MATVEC, [i32, i32, i32, i32, i32, i32, i32]);
  const [out, w, x16, xs, rows, cols, xsum] = f.params as I32[];
  const c = new Constants(m, f), lScale = c.f32x4(L_SCALE), low4w = c.i16(0x0f), halves = halvesConstants(c);
  const k: SixBits = { low4: c.i8(0x0f), bits45: c.i8(0x30) }, zero = c.f32x4(0);
  const g = f.local(i32), pw = f.local(i32), px = f.local(i32), pxs = f.local(i32), pxsum = f.local(i32), end = f.local(i32), po = f.local(i32), groupBytes = f.local(i32);
  const pairBytes = f.local(v128), wv = f.local(v128), d = f.local(v128), dmin = f.local(v128), top = f.local(v128);
  const scales = [f.local(v128), f.local(v128)], mins = [f.local(v128), f.local(v128)];
  const acc = [0, 1, 2, 3].map(() => f.local(v128)), macc = [0, 1, 2, 3].map(() => f.local(v128));
  const sums = Array.from({ length: DEFERRED }, () => [f.local(v128), f.local(v128)] as const);
  const sum4 = (v: V128[]) => { f.get(v[0]!).get(v[1]!).simd(Simd.f32x4_add).get(v[2]!).get(v[3]!).simd(Simd.f32x4_add).simd(Simd.f32x4_add); };
  const fence = (v: V128) => f.get(po).get(v).simdMemLane(Simd.v128_store32_lane, 0, 2, 0);
  f.get(cols!).i32(8).op(Op.i32_shr_u).i32(Q4K_GROUP_BLOCK).op(Op.i32_mul).set(groupBytes);
  f.get(w!).set(pw).get(out!).set(po);
  f.forSteps(g, () => f.i32(0), rows!, 4, () => {
    f.get(pw).get(groupBytes).op(Op.i32_add).set(end);
    f.get(x16!).set(px).get(xs!).set(pxs).get(xsum!).set(pxsum);
    for (const a of [...acc, ...macc]) f.v128i32(0, 0, 0, 0).set(a);
    f.block(() => f.loop(() => {
      f.get(pw).get(end).op(Op.i32_ge_u).brIf(1);
      for (let j = 0; j < 8; j++) {
        const [h, l] = sums[j % DEFERRED]!;
        for (let v = 0; v < 16; v++) {
          weightVector(f, pw, j, v, low4w, pairBytes, wv);
          for (const [a, at] of [[h, 128 * j + 4 * v], [l, 128 * j + 64 + 4 * v]] as const) {
            f.get(wv).get(px).simdMem(Simd.v128_load32_splat, at, 2).simd(Simd.i32x4_dot_i16x8_s);
            if (v > 0) f.get(a).simd(Simd.i32x4_add);
            f.set(a);
          }
          if (v % 4 === 3) { fence(h); fence(l); }
        }
        if (j % DEFERRED < DEFERRED - 1) continue;
        // acc_(i mod 4) += (h + l·L_SCALE) · ((sc_i · d) · xs_i)
        for (let i = j + 1 - DEFERRED; i <= j; i++) {
          const [hi, li] = sums[i % DEFERRED]!;
          if (i % DEFERRED === 0) { // d and the scales, once per batch of float steps
            f.get(pw).simdMem(Simd.v128_load64_zero, 0, 0); halvesToF32(f, halves); f.set(d);
            sixBitVectors(f, pw, k, scales, mins, top, 'scales');
          }
          f.get(acc[i % 4]!);
          f.get(hi).simd(Simd.f32x4_convert_i32x4_s).get(li).simd(Simd.f32x4_convert_i32x4_s).get(lScale).simd(Simd.f32x4_mul).simd(Simd.f32x4_add);
          laneFloats(f, scales[i >> 2]!, i & 3); f.get(d).simd(Simd.f32x4_mul).get(pxs).simdMem(Simd.v128_load32_splat, 4 * i, 2).simd(Simd.f32x4_mul);
          f.simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(acc[i % 4]!);
        }
      }
      // macc_j += ((m_j · xsum_j) + (m_(j+4) · xsum_(j+4))) · dmin
      f.get(pw).simdMem(Simd.v128_load64_zero, 8, 0); halvesToF32(f, halves); f.set(dmin);
      sixBitVectors(f, pw, k, scales, mins, top, 'mins');
      for (let j = 0; j < 4; j++) {
        f.get(macc[j]!);
        for (const hi of [0, 1]) { laneFloats(f, mins[hi]!, j); f.get(pxsum).simdMem(Simd.v128_load32_splat, 4 * (j + 4 * hi), 2).simd(Simd.f32x4_mul); }
        f.simd(Simd.f32x4_add).get(dmin).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(macc[j]!);
      }
      f.inc(pw, Q4K_GROUP_BLOCK).inc(px, 8 * 128).inc(pxs, 32).inc(pxsum, 32).br(0);
    }));
    f.get(po); sum4(acc); sum4(macc); f.simd(Simd.f32x4_sub).get(zero).simd(Simd.f32x4_add).simdMem(Simd.v128_store, 0, 2);
    f.inc(po, 16);
  });
}

/**
 * dequantizeQ4_KRows4(dst, src, groups, cols): the f32 rows of `groups` groups, each value
 * fround(d·sc_j)·q − fround(dmin·m_j) as the plain dequantizer (kernels/dequantize.ts) and the
 * exact reference compute it, lane by lane.
 */
function emitDequantizer(m: ModuleBuilder): void {
  emitRows4Dequantizer(m, Q4K_ROWS4_DEQUANTIZER, 256, Q4K_GROUP_BLOCK, (f, c) => {
    const low4w = c.i16(0x0f), halves = halvesConstants(c), k: SixBits = { low4: c.i8(0x0f), bits45: c.i8(0x30) };
    const d = f.local(v128), dmin = f.local(v128), pairBytes = f.local(v128), wv = f.local(v128);
    const scales = [f.local(v128), f.local(v128)], mins = [f.local(v128), f.local(v128)], top = f.local(v128);
    const ds = [f.local(v128), f.local(v128)] as const, ms = [f.local(v128), f.local(v128)] as const, dj = f.local(v128), mj = f.local(v128);
    return ({ pw, spread, store }) => {
      f.get(pw).simdMem(Simd.v128_load64_zero, 0, 0); halvesToF32(f, halves); f.set(d);
      f.get(pw).simdMem(Simd.v128_load64_zero, 8, 0); halvesToF32(f, halves); f.set(dmin);
      sixBitVectors(f, pw, k, scales, mins, top);
      for (let j = 0; j < 8; j++) {
        laneFloats(f, scales[j >> 2]!, j & 3); f.get(d).simd(Simd.f32x4_mul).set(dj);
        laneFloats(f, mins[j >> 2]!, j & 3); f.get(dmin).simd(Simd.f32x4_mul).set(mj);
        spread(dj, ds[0], ds[1]); spread(mj, ms[0], ms[1]);
        for (let v = 0; v < 16; v++) {
          weightVector(f, pw, j, v, low4w, pairBytes, wv);
          store(wv, ds[0], ds[1], 32 * j + 2 * v, ms); // values 32j + 2v, 2v + 1 of each row
        }
      }
    };
  });
}

/** Adds the Q4_K layout's kernels to the module. */
export function emitQ4KRows4Kernels(m: ModuleBuilder): void {
  emitMatvec(m);
  emitDequantizer(m);
}
