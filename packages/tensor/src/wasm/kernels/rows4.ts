// Kernels on the "four rows interleaved" layout of Q5_0 and Q8_0 (../../quant/rows4.ts): the decode
// matvec, the activations it reads, and the prompt panels' conversion to f32; the layout's export
// names and emitRows4Kernels for all its types (Q6_K: ./rows4-q6k.ts, Q4_K: ./rows4-q4k.ts).
// The matvec takes a group's 16 weight vectors per block, each against its activation pair
// broadcast to all lanes (widenActivations, 512 bytes per block), so the four rows' integer sums
// come out with lane k = row k: none of the plain kernels' reduction across lanes, no per-row
// scale gather (the four f16 scales are one load). The integer sums are the plain kernels' (exact)
// and every float operation after them is the plain four-rows step's, lane by lane, so each row is
// bit for bit what matvecQ5_0 / matvecQ8_0 give on the plain rows (test/rows4.test.ts).
import { FunctionBuilder, ModuleBuilder, Op, Simd } from '../emitter.js';
import { Constants, i32, v128, type I32, type V128 } from './common.js';
import { GGML, ggmlTypeInfo } from '../../quant/ggml-types.js';
import { ROWS4_TYPES } from '../../quant/rows4.js';
import { FIVE_BIT_WORDS_ADDR } from '../low-memory.js';
import { L_SCALE, halvesConstants, halvesToF32 } from './ggml.js';
import { Q6K_ROWS4_DEQUANTIZER, Q6K_ROWS4_MATVEC, emitQ6KRows4Kernels } from './rows4-q6k.js';
import { Q4K_ROWS4_DEQUANTIZER, Q4K_ROWS4_MATVEC, emitQ4KRows4Kernels } from './rows4-q4k.js';
import { emitRows4Dequantizer } from './rows4-dequantize.js';

/**
 * Export names of the layout's matvecs (out, w, x, xs, rows, cols; rows a multiple of 4): x is the
 * widened activations (widenActivations), or for the types of ROWS4_READ_SPLIT the split ones.
 */
export const ROWS4_MATVECS: Readonly<Record<number, string>> = Object.freeze({ [GGML.Q5_0]: 'matvecQ5_0Rows4', [GGML.Q8_0]: 'matvecQ8_0Rows4', [GGML.Q6_K]: Q6K_ROWS4_MATVEC, [GGML.Q4_K]: Q4K_ROWS4_MATVEC });
/** The types whose four-rows matvec reads the split activations (kernels/split.ts) instead of widened ones. */
export const ROWS4_READ_SPLIT: readonly number[] = Object.freeze([GGML.Q6_K, GGML.Q4_K]);
/** Export names of the layout's dequantizers (dst, src, groups, cols): 4·groups rows of f32, row-major. */
export const ROWS4_DEQUANTIZERS: Readonly<Record<number, string>> = Object.freeze({ [GGML.Q5_0]: 'dequantizeQ5_0Rows4', [GGML.Q8_0]: 'dequantizeQ8_0Rows4', [GGML.Q6_K]: Q6K_ROWS4_DEQUANTIZER, [GGML.Q4_K]: Q4K_ROWS4_DEQUANTIZER });
/** Bytes of widened activations per block of 32: the 16 h pairs, then the 16 l pairs, each in all four lanes. */
export const WIDE_BLOCK_BYTES = 512;

const groupBlockBytes = (type: number): number => 4 * ggmlTypeInfo(type).blockBytes;

/**
 * Sets `dst` to weight vector v (i16x8) of the group block at pw: Q8_0's int8 widened; Q5_0's
 * nibble (pair c = v >> 1 loaded into `pairBytes` for even v) plus its 5th-bit words (q − 16).
 */
function weightVector(f: FunctionBuilder, type: number, pw: I32, v: number, low4: V128, pairBytes: V128, dst: V128): void {
  if (type === GGML.Q8_0) { f.get(pw).simdMem(Simd.v128_load8x8_s, 8 + 8 * v).set(dst); return; }
  if (v % 2 === 0) f.get(pw).simdMem(Simd.v128_load8x8_u, 24 + 4 * v).set(pairBytes);
  f.get(pairBytes);
  if (v % 2 === 0) f.get(low4).simd(Simd.v128_and); else f.i32(4).simd(Simd.i16x8_shr_u);
  f.get(pw).mem(Op.i32_load8_u, 8 + v, 0).i32(4).op(Op.i32_shl).simdMem(Simd.v128_load, FIVE_BIT_WORDS_ADDR, 4).simd(Simd.i16x8_add).set(dst);
}

/**
 * matvec<T>Rows4(out, w, wide, xs, rows, cols): rows (a multiple of 4) rows in the layout at w
 * against x widened at `wide` with block scales xs. A store of the running sums every four vectors
 * keeps TurboFan from issuing every load of a block first (it then spills them: 0.64× without).
 */
function emitMatvec(m: ModuleBuilder, type: number): void {
  const f = m.function(ROWS4_MATVECS[type]!, [i32, i32, i32, i32, i32, i32]);
  const [out, w, wide, xs, rows, cols] = f.params as I32[];
  const c = new Constants(m, f), lScale = c.f32x4(L_SCALE), low4 = c.i16(0x0f), halves = halvesConstants(c);
  const g = f.local(i32), pw = f.local(i32), px = f.local(i32), pxs = f.local(i32), end = f.local(i32), po = f.local(i32), groupBytes = f.local(i32);
  const acc4 = f.local(v128), accH = f.local(v128), accL = f.local(v128), pairBytes = f.local(v128), wv = f.local(v128);
  const gb = groupBlockBytes(type);
  f.get(cols!).i32(5).op(Op.i32_shr_u).i32(gb).op(Op.i32_mul).set(groupBytes);
  f.get(w!).set(pw).get(out!).set(po);
  f.forSteps(g, () => f.i32(0), rows!, 4, () => {
    f.get(pw).get(groupBytes).op(Op.i32_add).set(end);
    f.get(wide!).set(px).get(xs!).set(pxs);
    f.v128i32(0, 0, 0, 0).set(acc4);
    f.block(() => f.loop(() => {
      f.get(pw).get(end).op(Op.i32_ge_u).brIf(1);
      for (let v = 0; v < 16; v++) {
        weightVector(f, type, pw, v, low4, pairBytes, wv);
        for (const [acc, at] of [[accH, 16 * v], [accL, 256 + 16 * v]] as const) {
          f.get(wv).get(px).simdMem(Simd.v128_load, at, 4).simd(Simd.i32x4_dot_i16x8_s);
          if (v > 0) f.get(acc).simd(Simd.i32x4_add);
          f.set(acc);
        }
        if (v % 4 === 3 && v < 15) for (const a of [accH, accL]) f.get(po).get(a).simdMemLane(Simd.v128_store32_lane, 0, 2, 0);
      }
      // acc4 += (h + l·L_SCALE) · (d_0..3 · xs): the plain four-rows step's operations, lane by lane.
      f.get(acc4);
      f.get(accH).simd(Simd.f32x4_convert_i32x4_s).get(accL).simd(Simd.f32x4_convert_i32x4_s).get(lScale).simd(Simd.f32x4_mul).simd(Simd.f32x4_add);
      f.get(pw).simdMem(Simd.v128_load64_zero, 0, 0); halvesToF32(f, halves);
      f.get(pxs).simdMem(Simd.v128_load32_splat, 0, 2).simd(Simd.f32x4_mul).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(acc4);
      f.inc(pw, gb).inc(px, WIDE_BLOCK_BYTES).inc(pxs, 4).br(0);
    }));
    f.get(po).get(acc4).simdMem(Simd.v128_store, 0, 2);
    f.inc(po, 16);
  });
}

/** widenActivations(split, wide, blocks): each i32 pair of the split activations (kernels/split.ts) into all four lanes. */
function emitWiden(m: ModuleBuilder): void {
  const f = m.function('widenActivations', [i32, i32, i32]);
  const [split, wide, blocks] = f.params as I32[];
  const b = f.local(i32);
  f.forSteps(b, () => f.i32(0), blocks!, 1, () => {
    for (let p = 0; p < 32; p++) f.get(wide!).get(split!).simdMem(Simd.v128_load32_splat, 4 * p, 2).simdMem(Simd.v128_store, 16 * p, 4);
    f.inc(split!, 128).inc(wide!, WIDE_BLOCK_BYTES);
  });
}

/**
 * dequantize<T>Rows4(dst, src, groups, cols): the f32 rows of `groups` groups, each value d·q in
 * one f32 multiply as the plain dequantizer (kernels/dequantize.ts) and the exact reference compute it.
 */
function emitDequantizer(m: ModuleBuilder, type: number): void {
  emitRows4Dequantizer(m, ROWS4_DEQUANTIZERS[type]!, 32, groupBlockBytes(type), (f, c) => {
    const low4 = c.i16(0x0f), halves = halvesConstants(c), d = f.local(v128), dLo = f.local(v128), dHi = f.local(v128), pairBytes = f.local(v128), wv = f.local(v128);
    return ({ pw, spread, store }) => {
      f.get(pw).simdMem(Simd.v128_load64_zero, 0, 0); halvesToF32(f, halves); f.set(d);
      spread(d, dLo, dHi);
      for (let v = 0; v < 16; v++) { weightVector(f, type, pw, v, low4, pairBytes, wv); store(wv, dLo, dHi, 2 * v); }
    };
  });
}

/** Adds the layout's kernels to the module. */
export function emitRows4Kernels(m: ModuleBuilder): void {
  for (const t of ROWS4_TYPES) if (!ROWS4_READ_SPLIT.includes(t)) { emitMatvec(m, t); emitDequantizer(m, t); }
  emitQ6KRows4Kernels(m);
  emitQ4KRows4Kernels(m);
  emitWiden(m);
}
