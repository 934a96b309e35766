// Causal attention of a chunk of consecutive queries (one head) as three row-blocked kernels: the
// scores of many queries against shared keys, a softmax per row, and the weighted value sums. Row
// i sees the first L_i = min(n, base + i) entries (the causal mask as a per-row length).
//
// Why not one query at a time (attendHead): a prompt's queries share their keys, so a pair of
// queries reads each key once (4 keys × 2 queries a scores tile, the matmul's), and a block of 4 rows
// keeps its outputs in registers over all the entries instead of loading and storing them once per
// entry. Every output is still formed in attendHead's own order (scores: emitDotTile with U = 1, one
// accumulator a score; softmax: the same code; value sums: entry by entry from 0), so the rows are
// bit-identical to attending one query at a time.
import { FunctionBuilder, ModuleBuilder, Op, Simd } from '../emitter.js';
import { Scratch, zeroV, i32, f32, type I32, type F32 } from './common.js';
import { emitDotTile } from './dot.js';
import { softmaxInPlace } from './attention.js';

/** Pushes min(a, b) of two i32 locals. */
function minI32(f: FunctionBuilder, a: I32, b: I32): void {
  f.get(a).get(b).get(a).get(b).op(Op.i32_lt_s).op(Op.select);
}

/** limit = min(n, base + i): the entries row i sees. */
function rowLimit(f: FunctionBuilder, s: Scratch, limit: I32, n: I32, base: I32, i: I32, plus = 0): void {
  const t = s.i('limit.t');
  f.get(base).get(i).op(Op.i32_add).i32(plus).op(Op.i32_add).set(t);
  minI32(f, n, t); f.set(limit);
}

/**
 * scoresCausal(att, attStride, q, qStride, keys, keyStride, rows, n, base, headDim, scale):
 * att[i·attStride + j] = scale · q_i · k_j for j < min(n, base + i); strides in floats.
 */
export function emitScoresCausal(m: ModuleBuilder): void {
  const f = m.function('scoresCausal', [i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, f32]);
  const [att, attStride, q, qStride, keys, keyStride, rows, n, base, headDim] = f.params as I32[];
  const scale = f.params[10] as F32;
  const s = new Scratch(f);
  const i = f.local(i32), j = f.local(i32), limit = f.local(i32);
  // A tile: key rows j.. (A, f32) against query rows i.. (B); U = 1 as attendHead's scores, so up
  // to 4 keys × 2 queries a tile (8 accumulators, the matmul's tile).
  const tile = (keysInTile: number, queries: number) => emitDotTile(f, s, {
    R: keysInTile, C: queries, U: 1, aFormat: 'f32', k: headDim!,
    rowA: (r) => { f.get(keys!).get(j).i32(r).op(Op.i32_add).get(keyStride!).op(Op.i32_mul).i32(2).op(Op.i32_shl).op(Op.i32_add); },
    rowB: (c) => { f.get(q!).get(i).i32(c).op(Op.i32_add).get(qStride!).op(Op.i32_mul).i32(2).op(Op.i32_shl).op(Op.i32_add); },
    store: (r, c, push) => {
      f.get(att!).get(i).i32(c).op(Op.i32_add).get(attStride!).op(Op.i32_mul).get(j).op(Op.i32_add).i32(r).op(Op.i32_add)
        .i32(2).op(Op.i32_shl).op(Op.i32_add);
      push(); f.get(scale).op(Op.f32_mul).mem(Op.f32_store);
    },
  });
  // Query pairs share each key they both see; the second row of a pair sees at most one key more.
  f.forSteps(i, () => f.i32(0), rows!, 2, () => {
    rowLimit(f, s, limit, n!, base!, i);
    f.forSteps(j, () => f.i32(0), limit, 4, () => tile(4, 2));
    f.forSteps(j, () => f.get(j), limit, 1, () => tile(1, 2));
    f.get(j).get(n!).op(Op.i32_lt_s).if(() => {
      f.get(i).i32(1).op(Op.i32_add).set(i); tile(1, 1); f.get(i).i32(-1).op(Op.i32_add).set(i);
    });
  });
  f.forSteps(i, () => f.get(i), rows!, 1, () => {
    rowLimit(f, s, limit, n!, base!, i);
    f.forSteps(j, () => f.i32(0), limit, 4, () => tile(4, 1));
    f.forSteps(j, () => f.get(j), limit, 1, () => tile(1, 1));
  });
}

/** softmaxCausal(att, attStride, rows, n, base): row i's first min(n, base + i) weights ← their softmax (≥ 1 each). */
export function emitSoftmaxCausal(m: ModuleBuilder): void {
  const f = m.function('softmaxCausal', [i32, i32, i32, i32, i32]);
  const [att, attStride, rows, n, base] = f.params as I32[];
  const s = new Scratch(f);
  const i = f.local(i32), row = f.local(i32), limit = f.local(i32);
  f.forSteps(i, () => f.i32(0), rows!, 1, () => {
    f.get(att!).get(i).get(attStride!).op(Op.i32_mul).i32(2).op(Op.i32_shl).op(Op.i32_add).set(row);
    rowLimit(f, s, limit, n!, base!, i);
    softmaxInPlace(f, s, row, limit);
  });
}

/**
 * weightedCausal(out, outStride, att, attStride, values, valueStride, rows, n, base, headDim, accumulate):
 * out_i (+)= Σ_{j < min(n, base + i)} att[i·attStride + j] · v_j, entry by entry; headDim a multiple
 * of 4; accumulate = 0 starts each output from 0, else from what out holds.
 */
export function emitWeightedCausal(m: ModuleBuilder): void {
  const f = m.function('weightedCausal', [i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32]);
  const [out, outStride, att, attStride, values, valueStride, rows, n, base, headDim, accumulate] = f.params as I32[];
  const s = new Scratch(f);
  const i = f.local(i32), d = f.local(i32), j = f.local(i32), limit = f.local(i32), rowLimitR = f.local(i32), pv = f.local(i32);
  const acc = (r: number, u: number) => s.v(`acc${r}_${u}`), v = (u: number) => s.v(`v${u}`), a = s.v('a');
  const pa = (r: number) => s.i(`pa${r}`), po = (r: number) => s.i(`po${r}`);
  // Rows i..i+R-1, output floats d..d+4V-1.
  const tile = (R: number, V: number) => {
    for (let r = 0; r < R; r++) {
      f.get(out!).get(i).i32(r).op(Op.i32_add).get(outStride!).op(Op.i32_mul).get(d).op(Op.i32_add).i32(2).op(Op.i32_shl).op(Op.i32_add).set(po(r));
      f.get(att!).get(i).i32(r).op(Op.i32_add).get(attStride!).op(Op.i32_mul).i32(2).op(Op.i32_shl).op(Op.i32_add).set(pa(r));
      for (let u = 0; u < V; u++) {
        f.get(accumulate!).if(() => { f.get(po(r)).simdMem(Simd.v128_load, 16 * u).set(acc(r, u)); }, () => { zeroV(f).set(acc(r, u)); });
      }
    }
    // One entry: its value vectors times each row's weight, added to that row's sums.
    const entry = (r0: number, r1: number) => {
      f.get(values!).get(j).get(valueStride!).op(Op.i32_mul).get(d).op(Op.i32_add).i32(2).op(Op.i32_shl).op(Op.i32_add).set(pv);
      for (let u = 0; u < V; u++) f.get(pv).simdMem(Simd.v128_load, 16 * u).set(v(u));
      for (let r = r0; r < r1; r++) {
        f.get(pa(r)).get(j).i32(2).op(Op.i32_shl).op(Op.i32_add).simdMem(Simd.v128_load32_splat).set(a);
        for (let u = 0; u < V; u++) f.get(acc(r, u)).get(v(u)).get(a).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(acc(r, u));
      }
    };
    f.forSteps(j, () => f.i32(0), limit, 1, () => entry(0, R));
    // Row r of the block sees up to r entries more than the first row.
    for (let r = 1; r < R; r++) {
      rowLimit(f, s, rowLimitR, n!, base!, i, r);
      f.forSteps(j, () => f.get(limit), rowLimitR, 1, () => entry(r, r + 1));
    }
    for (let r = 0; r < R; r++) for (let u = 0; u < V; u++) f.get(po(r)).get(acc(r, u)).simdMem(Simd.v128_store, 16 * u);
  };
  const rowsOf = (R: number) => {
    rowLimit(f, s, limit, n!, base!, i);
    const d8 = s.i('d8');
    f.get(headDim!).i32(-8).op(Op.i32_and).set(d8);
    f.forSteps(d, () => f.i32(0), d8, 8, () => tile(R, 2));
    f.forSteps(d, () => f.get(d), headDim!, 4, () => tile(R, 1));
  };
  f.forSteps(i, () => f.i32(0), rows!, 4, () => rowsOf(4));
  f.forSteps(i, () => f.get(i), rows!, 1, () => rowsOf(1));
}
