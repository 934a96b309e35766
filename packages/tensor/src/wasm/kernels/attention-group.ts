// Grouped-query attention for a decode step: the query heads that share one KV head (SmolLM2 3 a
// group, Qwen2.5 7, TinyLlama 8) attend in one pass over that head's keys and values, where
// attendHead (./attention.ts) reads them once per query head. Scores are tiles of keys × queries
// (each key loaded once for the tile's queries); the value sums keep a block of queries' outputs in
// registers over a block of entries (each value loaded once for those queries), so neither loads nor
// stores the outputs per entry.
//
// Every output is formed with attendHead's / attendHeadKv's own float operations in their order:
// a score is one accumulator over the key (emitDotTile with attendHead's U; q8 keys the same
// products and sums), the softmax is the same code, and each output float sums its entries from 0
// up, each term att · v (q8: v · (att · block scale)). Only which scores and outputs share a loop
// changes, so every query's output and weights are bit-identical to attending it alone.
import { ModuleBuilder, FunctionBuilder, Op, Simd } from '../emitter.js';
import { Scratch, zeroV, hsum, i32, f32, type I32, type F32 } from './common.js';
import { loadARow } from './dot.js';
import { ENTRY_FORMATS, denseScores, softmaxInPlace, type EntryFormat } from './attention.js';

/** The export name of the grouped kernel for keys of type `k` and values of type `v`. */
export function attendGroupName(k: EntryFormat, v: EntryFormat): string {
  return `attendGroup_${k}_${v}`;
}

/** Entries whose values a block of outputs sums while they stay in L1 (64 rows: 16 KiB of f32 values at head size 64, 32 KiB at 128). */
const ENTRY_BLOCK = 64;

/**
 * attendGroup_<k>_<v>(out, q, keys, kScales, values, vScales, count, headDim, scale, att, attStride, queries):
 * for each query g < queries (its head's vector at q + g·headDim, its output at out + g·headDim,
 * its weights at att + g·attStride; strides in floats), what attendHeadKv_<k>_<v> (attendHead for
 * f32/f32) computes for that query alone, over the same keys and values. headDim a multiple of 8.
 */
export function emitAttendGroup(m: ModuleBuilder, k: EntryFormat, v: EntryFormat): void {
  const f = m.function(attendGroupName(k, v), [i32, i32, i32, i32, i32, i32, i32, i32, f32, i32, i32, i32]);
  const [out, q, keys, kScales, values, vScales, count, headDim] = f.params as I32[];
  const scale = f.params[8] as F32;
  const [att, attStride, queries] = f.params.slice(9) as I32[];
  const s = new Scratch(f);
  const a: GroupArgs = { out: out!, q: q!, keys: keys!, kScales: kScales!, values: values!, vScales: vScales!, count: count!, headDim: headDim!, scale, att: att!, attStride: attStride!, queries: queries! };
  groupScores(f, s, k, a);
  const g = s.i('grp.g'), row = s.i('grp.row');
  f.forSteps(g, () => f.i32(0), a.queries, 1, () => {
    f.get(a.att).get(g).get(a.attStride).op(Op.i32_mul).i32(2).op(Op.i32_shl).op(Op.i32_add).set(row);
    softmaxInPlace(f, s, row, a.count);
  });
  groupWeightedSums(f, s, v, a);
}

/** Every kernel of the family: the nine key/value format pairs. */
export function emitAttendGroupKernels(m: ModuleBuilder): void {
  for (const k of ENTRY_FORMATS) for (const v of ENTRY_FORMATS) emitAttendGroup(m, k, v);
}

interface GroupArgs {
  out: I32; q: I32; keys: I32; kScales: I32; values: I32; vScales: I32; count: I32; headDim: I32; scale: F32; att: I32; attStride: I32; queries: I32;
}

/**
 * Runs body(C) for blocks of C consecutive queries starting at local g: as many blocks of sizes[0]
 * as fit, then at most one of each smaller size (sizes descending to 1) for what is left.
 */
function queryBlocks(f: FunctionBuilder, g: I32, queries: I32, sizes: readonly number[], body: (C: number) => void): void {
  f.i32(0).set(g);
  for (const C of sizes) f.forSteps(g, () => f.get(g), queries, C, () => body(C));
}

/** att row g + c ← scale · q_(g+c) · k_i for every key i. */
function groupScores(f: FunctionBuilder, s: Scratch, fmt: EntryFormat, a: GroupArgs): void {
  const g = s.i('grp.sg'), qg = s.i('grp.qg'), ag = s.i('grp.ag'), qBytes = s.i('grp.qBytes'), aBytes = s.i('grp.aBytes');
  f.get(a.headDim).i32(2).op(Op.i32_shl).set(qBytes);
  f.get(a.attStride).i32(2).op(Op.i32_shl).set(aBytes);
  /** qg, ag ← query g's vector and weights row. */
  const start = () => {
    f.get(a.q).get(g).get(qBytes).op(Op.i32_mul).op(Op.i32_add).set(qg);
    f.get(a.att).get(g).get(aBytes).op(Op.i32_mul).op(Op.i32_add).set(ag);
  };
  if (fmt === 'q8') { queryBlocks(f, g, a.queries, [4, 3, 2, 1], (C) => { start(); q8Scores(f, s, a, qg, ag, qBytes, aBytes, C); }); return; }
  // f32: attendHead's 4 keys a quarter of the entries apart, now × 2 queries (the matmul's 4×2
  // tile, 8 accumulators); f16: attendHeadKv's one key at a time, U = 4, × 2 queries.
  // (3 queries a tile: 4 keys × 3 measured slower, 12 accumulators spill; 3 × 3 and 2 × 3 no steadier gain.)
  const scores = { q: qg, keys: a.keys, count: a.count, headDim: a.headDim, scale: a.scale, att: ag };
  queryBlocks(f, g, a.queries, [2, 1], (C) => { start(); denseScores(f, s, fmt, scores, C, qBytes, aBytes); });
}

/** Pushes 8 int8 at p as f32 (exact) in two halves: lanes 0-3 into lo, 4-7 into hi. */
function loadI8x8(f: FunctionBuilder, s: Scratch, p: I32, lo: ReturnType<Scratch['v']>, hi: ReturnType<Scratch['v']>): void {
  const w = s.v('grp.w');
  f.get(p).simdMem(Simd.v128_load8x8_s).set(w);
  f.get(w).simd(Simd.i32x4_extend_low_i16x8_s).simd(Simd.f32x4_convert_i32x4_s).set(lo);
  f.get(w).simd(Simd.i32x4_extend_high_i16x8_s).simd(Simd.f32x4_convert_i32x4_s).set(hi);
}

/** q8 keys × C queries: per key, 8 values a step decoded once (× the block's scale), one accumulator per query. */
function q8Scores(f: FunctionBuilder, s: Scratch, a: GroupArgs, qg: I32, ag: I32, qBytes: I32, aBytes: I32, C: number): void {
  const i = s.i('grp.i'), e = s.i('grp.e'), pk = s.i('grp.pk'), ps = s.i('grp.ps'), pq = s.i('grp.pq');
  const acc = (c: number) => s.v(`grp.acc${c}`), sc = s.v('grp.sc'), lo = s.v('grp.lo'), hi = s.v('grp.hi');
  f.get(a.keys).set(pk);
  f.get(a.kScales).set(ps);
  f.forSteps(i, () => f.i32(0), a.count, 1, () => {
    for (let c = 0; c < C; c++) zeroV(f).set(acc(c));
    f.get(qg).set(pq);
    f.forSteps(e, () => f.i32(0), a.headDim, 8, () => {
      f.get(e).i32(31).op(Op.i32_and).op(Op.i32_eqz).if(() => { f.get(ps).simdMem(Simd.v128_load32_splat).set(sc); f.inc(ps, 4); });
      loadI8x8(f, s, pk, lo, hi);
      f.get(lo).get(sc).simd(Simd.f32x4_mul).set(lo);
      f.get(hi).get(sc).simd(Simd.f32x4_mul).set(hi);
      for (let c = 0; c < C; c++) {
        const qc = () => { f.get(pq); if (c > 0) f.get(qBytes).i32(c).op(Op.i32_mul).op(Op.i32_add); };
        f.get(acc(c)).get(lo); qc(); f.simdMem(Simd.v128_load).simd(Simd.f32x4_mul).simd(Simd.f32x4_add);
        f.get(hi); qc(); f.simdMem(Simd.v128_load, 16).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(acc(c));
      }
      f.inc(pk, 8).inc(pq, 32);
    });
    for (let c = 0; c < C; c++) {
      f.get(ag); if (c > 0) f.get(aBytes).i32(c).op(Op.i32_mul).op(Op.i32_add);
      f.get(i).i32(2).op(Op.i32_shl).op(Op.i32_add);
      hsum(f, acc(c)); f.get(a.scale).op(Op.f32_mul).mem(Op.f32_store);
    }
  });
}

/**
 * out_(g) = Σ_i att_g[i] · v_i for every query g: for each block of ENTRY_BLOCK entries, each
 * 8 output floats of up to 4 queries at a time (8 accumulators) run over the block's entries in
 * order, loaded from out and stored back once a block (out zeroed first, as attendHead does).
 */
function groupWeightedSums(f: FunctionBuilder, s: Scratch, fmt: EntryFormat, a: GroupArgs): void {
  const b = s.i('grp.b'), bEnd = s.i('grp.bEnd'), g = s.i('grp.wg'), d = s.i('grp.d'), j = s.i('grp.j'), o = s.i('grp.o'), oEnd = s.i('grp.oEnd');
  const elemBytes = fmt === 'f32' ? 4 : fmt === 'f16' ? 2 : 1;
  const rowBytes = s.i('grp.valueRowBytes'), blocksBytes = s.i('grp.scaleRowBytes'), pv = s.i('grp.pv'), ps = s.i('grp.ps');
  const acc = (r: number, u: number) => s.v(`grp.acc${r}_${u}`), val = (u: number) => s.v(`grp.v${u}`), av = s.v('grp.a'), as = s.s('grp.as');
  const po = (r: number) => s.i(`grp.po${r}`), pa = (r: number) => s.i(`grp.pa${r}`);
  f.get(a.headDim).i32(elemBytes === 4 ? 2 : elemBytes === 2 ? 1 : 0).op(Op.i32_shl).set(rowBytes);
  if (fmt === 'q8') f.get(a.headDim).i32(31).op(Op.i32_add).i32(5).op(Op.i32_shr_u).i32(2).op(Op.i32_shl).set(blocksBytes);
  // out ← 0 (queries × headDim floats, consecutive).
  f.get(a.queries).get(a.headDim).op(Op.i32_mul).i32(2).op(Op.i32_shl).get(a.out).op(Op.i32_add).set(oEnd);
  f.get(a.out).set(o);
  f.block(() => f.loop(() => {
    f.get(o).get(oEnd).op(Op.i32_ge_u).brIf(1);
    f.get(o).v128i32(0, 0, 0, 0).simdMem(Simd.v128_store);
    f.inc(o, 16).br(0);
  }));
  // Queries g .. g+R-1, output floats d .. d+7, entries b .. bEnd-1.
  const tile = (R: number) => {
    for (let r = 0; r < R; r++) {
      f.get(a.out).get(g).i32(r).op(Op.i32_add).get(a.headDim).op(Op.i32_mul).get(d).op(Op.i32_add).i32(2).op(Op.i32_shl).op(Op.i32_add).set(po(r));
      f.get(a.att).get(g).i32(r).op(Op.i32_add).get(a.attStride).op(Op.i32_mul).get(b).op(Op.i32_add).i32(2).op(Op.i32_shl).op(Op.i32_add).set(pa(r));
      for (let u = 0; u < 2; u++) f.get(po(r)).simdMem(Simd.v128_load, 16 * u).set(acc(r, u));
    }
    f.get(a.values).get(b).get(rowBytes).op(Op.i32_mul).op(Op.i32_add).get(d).i32(elemBytes === 4 ? 2 : elemBytes === 2 ? 1 : 0).op(Op.i32_shl).op(Op.i32_add).set(pv);
    if (fmt === 'q8') f.get(a.vScales).get(b).get(blocksBytes).op(Op.i32_mul).op(Op.i32_add).get(d).i32(5).op(Op.i32_shr_u).i32(2).op(Op.i32_shl).op(Op.i32_add).set(ps);
    f.forSteps(j, () => f.get(b), bEnd, 1, () => {
      if (fmt === 'f32') { for (let u = 0; u < 2; u++) f.get(pv).simdMem(Simd.v128_load, 16 * u).set(val(u)); }
      else if (fmt === 'f16') { for (let u = 0; u < 2; u++) { loadARow(f, 'f16', pv, 4 * u); f.set(val(u)); } }
      else loadI8x8(f, s, pv, val(0), val(1));
      for (let r = 0; r < R; r++) {
        if (fmt === 'q8') {
          // att · block scale first, then each value times that: attendHeadKv's q8 order.
          f.get(ps).mem(Op.f32_load).get(pa(r)).mem(Op.f32_load).op(Op.f32_mul).simd(Simd.f32x4_splat).set(av);
          for (let u = 0; u < 2; u++) f.get(acc(r, u)).get(val(u)).get(av).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(acc(r, u));
        } else {
          f.get(pa(r)).mem(Op.f32_load).tee(as).simd(Simd.f32x4_splat).set(av);
          for (let u = 0; u < 2; u++) f.get(acc(r, u)).get(val(u)).get(av).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(acc(r, u));
        }
        f.inc(pa(r), 4);
      }
      f.get(pv).get(rowBytes).op(Op.i32_add).set(pv);
      if (fmt === 'q8') f.get(ps).get(blocksBytes).op(Op.i32_add).set(ps);
    });
    for (let r = 0; r < R; r++) for (let u = 0; u < 2; u++) f.get(po(r)).get(acc(r, u)).simdMem(Simd.v128_store, 16 * u);
  };
  f.i32(0).set(b);
  f.block(() => f.loop(() => {
    f.get(b).get(a.count).op(Op.i32_ge_s).brIf(1);
    f.get(b).i32(ENTRY_BLOCK).op(Op.i32_add).set(bEnd);
    f.get(bEnd).get(a.count).get(bEnd).get(a.count).op(Op.i32_lt_s).op(Op.select).set(bEnd);
    queryBlocks(f, g, a.queries, [4, 3, 2, 1], (R) => {
      f.forSteps(d, () => f.i32(0), a.headDim, 8, () => tile(R));
    });
    f.get(bEnd).set(b).br(0);
  }));
}
