// One attention head: scores, softmax (SIMD exp) and the weighted value sum. `attendHead` reads f32
// entries; the `attendHeadKv_<keys>_<values>` kernels read keys and values as a state stores them
// (f32, f16 half bits, or q8: int8 rows with one f32 scale per block of 32), decoding in registers.
import { ModuleBuilder, FunctionBuilder, Op, Simd } from '../emitter.js';
import { Scratch, zeroV, splatF, hsum, expV, i32, f32, v128, type I32, type F32 } from './common.js';
import { emitDotTile, loadARow } from './dot.js';
import { KV_TYPES, type KvType } from '../../kv/rows.js';

/** How a kernel reads stored entries: a KV storage type. */
export type EntryFormat = KvType;
export const ENTRY_FORMATS = KV_TYPES;

/** The export name of the kernel for keys of type `k` and values of type `v` (every pair but f32/f32, which is attendHead). */
export function attendHeadKvName(k: EntryFormat, v: EntryFormat): string {
  return `attendHeadKv_${k}_${v}`;
}

/** One attention head over f32 entries: scores (4 keys a quarter of the entries apart a step, one accumulator each), max, exp and sum, normalisation, weighted value sum. */
export function emitAttendHead(m: ModuleBuilder): void {
  const f = m.function('attendHead', [i32, i32, i32, i32, i32, i32, f32, i32]);
  const [out, q, keys, values, count, headDim] = f.params as I32[];
  const scale = f.params[6] as F32;
  const att = f.params[7] as I32;
  const s = new Scratch(f);
  denseScores(f, s, 'f32', { q: q!, keys: keys!, count: count!, headDim: headDim!, scale, att });
  softmaxInPlace(f, s, att, count!);
  weightedSumF32(f, s, { out: out!, values: values!, count: count!, headDim: headDim!, att });
}

/**
 * attendHeadKv_<k>_<v>(out, q, keys, kScales, values, vScales, count, headDim, scale, att): as
 * attendHead with keys/values in formats k/v (scales: q8's per-block f32 scales, else unused).
 * headDim must be a multiple of 8 (the backend sends other shapes to the pure-TS kernel).
 */
export function emitAttendHeadKv(m: ModuleBuilder, k: EntryFormat, v: EntryFormat): void {
  const f = m.function(attendHeadKvName(k, v), [i32, i32, i32, i32, i32, i32, i32, i32, f32, i32]);
  const [out, q, keys, kScales, values, vScales, count, headDim] = f.params as I32[];
  const scale = f.params[8] as F32;
  const att = f.params[9] as I32;
  const s = new Scratch(f);
  if (k === 'q8') q8Scores(f, s, { q: q!, keys: keys!, scales: kScales!, count: count!, headDim: headDim!, scale, att });
  else denseScores(f, s, k, { q: q!, keys: keys!, count: count!, headDim: headDim!, scale, att });
  softmaxInPlace(f, s, att, count!);
  const sum = { out: out!, values: values!, scales: vScales!, count: count!, headDim: headDim!, att };
  if (v === 'f32') weightedSumF32(f, s, sum);
  else weightedSum8(f, s, v, sum);
}

export interface ScoreArgs { q: I32; keys: I32; scales?: I32; count: I32; headDim: I32; scale: F32; att: I32 }
interface SumArgs { out: I32; values: I32; scales?: I32; count: I32; headDim: I32; att: I32 }

/**
 * att[i] = scale · q·k_i for f32 or f16 key rows; with C > 1, for C queries at once (query c at
 * q + c·qStep bytes, its scores at att + c·attStep bytes: the grouped kernel, ./attention-group.ts),
 * each score formed the same way whatever C.
 */
export function denseScores(f: FunctionBuilder, s: Scratch, fmt: 'f32' | 'f16', a: ScoreArgs, C = 1, qStep?: I32, attStep?: I32): void {
  const i = s.i('i'), rowBytes = s.i('keyRowBytes'), quarter = s.i('quarter');
  f.get(a.headDim).i32(fmt === 'f32' ? 2 : 1).op(Op.i32_shl).set(rowBytes);
  // f32 keys: one accumulator a score (U = 1), the order of additions of the chunk's causal scores
  // (kernels/causal.ts), so a prompt's tokens attending at once stay bit-identical to one at a time.
  // Four keys a tile for four independent sums, a quarter of the entries apart: four streams in
  // memory order (4 adjacent keys a tile measured 0.83-0.95x once the keys come from DRAM).
  // f16 keys: one key at a time in memory order, 4 accumulators.
  /** Pushes base + c·step. */
  const nth = (base: I32, c: number, step?: I32) => { f.get(base); if (c > 0) f.get(step!).i32(c).op(Op.i32_mul).op(Op.i32_add); };
  const tile = (R: number) => emitDotTile(f, s, {
    R, C, U: fmt === 'f32' ? 1 : 4, aFormat: fmt, k: a.headDim,
    rowA: (r) => { f.get(a.keys); key(r); f.get(rowBytes).op(Op.i32_mul).op(Op.i32_add); },
    rowB: (c) => nth(a.q, c, qStep),
    store: (r, c, push) => { nth(a.att, c, attStep); key(r); f.i32(2).op(Op.i32_shl).op(Op.i32_add); push(); f.get(a.scale).op(Op.f32_mul).mem(Op.f32_store); },
  });
  /** Pushes the entry index of tile row r: i + r·quarter. */
  const key = (r: number) => { f.get(i); if (r > 0) f.get(quarter).i32(r).op(Op.i32_mul).op(Op.i32_add); };
  if (fmt === 'f32') {
    f.get(a.count).i32(2).op(Op.i32_shr_u).set(quarter);
    f.forSteps(i, () => f.i32(0), quarter, 1, () => tile(4));
    f.get(quarter).i32(2).op(Op.i32_shl).set(i); // the last count % 4 entries one at a time
  } else {
    f.i32(0).set(i);
  }
  f.forSteps(i, () => f.get(i), a.count, 1, () => tile(1));
}

/**
 * Pushes 8 int8 at p (sign-extended) as two f32x4 multiplied by the splatted scale `sc`: lanes 0-3
 * are left in `lo`, lanes 4-7 in `hi`.
 */
function loadQ8x8(f: FunctionBuilder, s: Scratch, p: I32, sc: ReturnType<Scratch['v']>, lo: ReturnType<Scratch['v']>, hi: ReturnType<Scratch['v']>): void {
  const w = s.v('q8.w');
  f.get(p).simdMem(Simd.v128_load8x8_s).set(w);
  f.get(w).simd(Simd.i32x4_extend_low_i16x8_s).simd(Simd.f32x4_convert_i32x4_s).get(sc).simd(Simd.f32x4_mul).set(lo);
  f.get(w).simd(Simd.i32x4_extend_high_i16x8_s).simd(Simd.f32x4_convert_i32x4_s).get(sc).simd(Simd.f32x4_mul).set(hi);
}

/** att[i] = scale · q·k_i for q8 key rows, 8 values per step, a new block scale every 32. */
function q8Scores(f: FunctionBuilder, s: Scratch, a: ScoreArgs): void {
  const i = s.i('i'), e = s.i('e'), pk = s.i('pk'), ps = s.i('ps'), pq = s.i('pq');
  const acc = s.v('acc'), sc = s.v('sc'), lo = s.v('lo'), hi = s.v('hi');
  f.get(a.keys).set(pk);
  f.get(a.scales!).set(ps);
  f.forSteps(i, () => f.i32(0), a.count, 1, () => {
    zeroV(f).set(acc);
    f.get(a.q).set(pq);
    f.forSteps(e, () => f.i32(0), a.headDim, 8, () => {
      f.get(e).i32(31).op(Op.i32_and).op(Op.i32_eqz).if(() => { f.get(ps).simdMem(Simd.v128_load32_splat).set(sc); f.inc(ps, 4); });
      loadQ8x8(f, s, pk, sc, lo, hi);
      f.get(acc).get(lo).get(pq).simdMem(Simd.v128_load).simd(Simd.f32x4_mul).simd(Simd.f32x4_add);
      f.get(hi).get(pq).simdMem(Simd.v128_load, 16).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(acc);
      f.inc(pk, 8).inc(pq, 32);
    });
    f.get(a.att).get(i).i32(2).op(Op.i32_shl).op(Op.i32_add);
    hsum(f, acc); f.get(a.scale).op(Op.f32_mul).mem(Op.f32_store);
  });
}

/** att[0 .. count) ← softmax(att): max, exp(att − max) summed (SIMD exp), normalised. */
export function softmaxInPlace(f: FunctionBuilder, s: Scratch, att: I32, count: I32): void {
  const o = s.i('o'), end = s.i('end');
  const mx = s.s('mx'), sum = s.s('sum'), vmax = s.v('vmax'), vsum = s.v('vsum'), t = s.v('t');
  // max
  f.get(count).i32(2).op(Op.i32_shl).set(end);
  splatF(f, -Infinity).set(vmax);
  f.forSteps(o, () => f.i32(0), end, 16, () => {
    f.get(att).get(o).op(Op.i32_add).simdMem(Simd.v128_load).get(vmax).simd(Simd.f32x4_pmax).set(vmax);
  });
  f.get(vmax).simdLane(Simd.f32x4_extract_lane, 0).get(vmax).simdLane(Simd.f32x4_extract_lane, 1).op(Op.f32_max)
    .get(vmax).simdLane(Simd.f32x4_extract_lane, 2).get(vmax).simdLane(Simd.f32x4_extract_lane, 3).op(Op.f32_max).op(Op.f32_max).set(mx);
  f.forSteps(o, () => f.get(o), end, 4, () => { f.get(att).get(o).op(Op.i32_add).mem(Op.f32_load).get(mx).op(Op.f32_max).set(mx); });
  // att[i] = exp(att[i] - max), summed
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
  // normalise
  f.f32(1).get(sum).op(Op.f32_div).set(sum);
  f.get(sum).simd(Simd.f32x4_splat).set(vsum);
  f.forSteps(o, () => f.i32(0), end, 16, () => {
    f.get(att).get(o).op(Op.i32_add).get(att).get(o).op(Op.i32_add).simdMem(Simd.v128_load).get(vsum).simd(Simd.f32x4_mul).simdMem(Simd.v128_store);
  });
  f.forSteps(o, () => f.get(o), end, 4, () => {
    f.get(att).get(o).op(Op.i32_add).get(att).get(o).op(Op.i32_add).mem(Op.f32_load).get(sum).op(Op.f32_mul).mem(Op.f32_store);
  });
}

/** out = Σ_i att[i] · v_i over f32 value rows (any headDim). */
function weightedSumF32(f: FunctionBuilder, s: Scratch, a: SumArgs): void {
  const i = s.i('i'), d = s.i('d'), rowBytes = s.i('valueRowBytes'), dEnd = s.i('dEnd');
  f.get(a.headDim).i32(2).op(Op.i32_shl).set(rowBytes);
  f.get(a.headDim).i32(-4).op(Op.i32_and).i32(2).op(Op.i32_shl).set(dEnd);
  f.forSteps(d, () => f.i32(0), rowBytes, 4, () => { f.get(a.out).get(d).op(Op.i32_add).f32(0).mem(Op.f32_store); });
  // One entry per pass, in memory order: measured 1.3-2.3x faster than 2 or 4 interleaved entries
  // (cached and from DRAM).
  const av = s.v('a'), as = s.s('as'), pv = s.i('pv');
  f.forSteps(i, () => f.i32(0), a.count, 1, () => {
    f.get(a.att).get(i).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.f32_load).tee(as).simd(Simd.f32x4_splat).set(av);
    f.get(a.values).get(i).get(rowBytes).op(Op.i32_mul).op(Op.i32_add).set(pv);
    f.forSteps(d, () => f.i32(0), dEnd, 16, () => {
      f.get(a.out).get(d).op(Op.i32_add);
      f.get(a.out).get(d).op(Op.i32_add).simdMem(Simd.v128_load);
      f.get(pv).get(d).op(Op.i32_add).simdMem(Simd.v128_load).get(av).simd(Simd.f32x4_mul).simd(Simd.f32x4_add);
      f.simdMem(Simd.v128_store);
    });
    f.forSteps(d, () => f.get(d), rowBytes, 4, () => {
      f.get(a.out).get(d).op(Op.i32_add);
      f.get(a.out).get(d).op(Op.i32_add).mem(Op.f32_load);
      f.get(pv).get(d).op(Op.i32_add).mem(Op.f32_load).get(as).op(Op.f32_mul).op(Op.f32_add);
      f.mem(Op.f32_store);
    });
  });
}

/** out = Σ_i att[i] · v_i over f16 or q8 value rows, 8 values per step (headDim a multiple of 8), in memory order. */
function weightedSum8(f: FunctionBuilder, s: Scratch, fmt: 'f16' | 'q8', a: SumArgs): void {
  const i = s.i('i'), e = s.i('e'), pv = s.i('pv'), ps = s.i('ps'), po = s.i('po');
  const av = s.v('a'), as = s.s('as'), sc = s.v('sc'), lo = s.v('lo'), hi = s.v('hi');
  f.forSteps(e, () => f.i32(0), a.headDim, 4, () => { f.get(a.out).get(e).i32(2).op(Op.i32_shl).op(Op.i32_add).v128i32(0, 0, 0, 0).simdMem(Simd.v128_store); });
  f.get(a.values).set(pv);
  if (fmt === 'q8') f.get(a.scales!).set(ps);
  f.forSteps(i, () => f.i32(0), a.count, 1, () => {
    f.get(a.att).get(i).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.f32_load).tee(as).simd(Simd.f32x4_splat).set(av);
    f.get(a.out).set(po);
    f.forSteps(e, () => f.i32(0), a.headDim, 8, () => {
      if (fmt === 'f16') {
        loadARow(f, 'f16', pv, 0); f.get(av).simd(Simd.f32x4_mul).set(lo);
        loadARow(f, 'f16', pv, 4); f.get(av).simd(Simd.f32x4_mul).set(hi);
        f.inc(pv, 16);
      } else {
        // att[i] · scale of the block, once per 32 values.
        f.get(e).i32(31).op(Op.i32_and).op(Op.i32_eqz).if(() => {
          f.get(ps).mem(Op.f32_load).get(as).op(Op.f32_mul).simd(Simd.f32x4_splat).set(sc); f.inc(ps, 4);
        });
        loadQ8x8(f, s, pv, sc, lo, hi);
        f.inc(pv, 8);
      }
      f.get(po).get(po).simdMem(Simd.v128_load).get(lo).simd(Simd.f32x4_add).simdMem(Simd.v128_store);
      f.get(po).get(po).simdMem(Simd.v128_load, 16).get(hi).simd(Simd.f32x4_add).simdMem(Simd.v128_store, 16);
      f.inc(po, 32);
    });
  });
}
