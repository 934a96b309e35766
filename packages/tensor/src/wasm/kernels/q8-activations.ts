// A prompt's products with the activations quantized too, as ggml does for Q8_0 and Q4_0 weights (the
// opt-in `q8_0` prompt activations, ../backend.ts matmulGgmlActivationsQ8_0): each row of x is
// cut into blocks of 32 rounded to int8 with one f32 scale (quantizeRowsQ8_0), every block dot
// product of a weight row with an activation row runs in integers (i32x4.dot_i16x8_s), and one
// float multiply-add per block applies d_w·d_x.
//
// Layouts, chosen so the inner loop is loads, dot_i16x8 and adds only (no widening or shuffles,
// which cost as much as the products: a tile that widened the int8 weights in its loop and
// reduced four rows' sums with shuffles ran at the f32 tile's rate):
//  - activations in groups of 4 rows, interleaved by value pairs: for group g and pair p, one
//    vector (x_r[2p], x_r[2p+1]) for the 4 rows r of the group, int16;
//  - weights widened to int16 a panel at a time (widenQ8_0, inside the job), so a pair of a
//    weight row is one 32-bit splat load; their scales as f32.
// Then dot_i16x8(splat(w pair), group vector) gives the 4 rows' partial sums in its 4 lanes, with
// no reduction across lanes. The loop over a block's 16 pairs stays a loop: unrolled, TurboFan
// hoists the loads and spills (bench numbers in WASM.md, Prompts as matrices).
import { ModuleBuilder, Op, Simd } from '../emitter.js';
import { Constants, Scratch, f32, i32, v128, type I32 } from './common.js';
import { blockScale } from './split.js';
import { halfAt } from './ggml.js';
import { GGML, ggmlTypeInfo } from '../../quant/ggml-types.js';

/** Bytes of a Q8_0 block (the f16 scale, then 32 int8) and of a Q4_0 block (the scale, then 16 bytes of nibble pairs). */
const Q8_0_BLOCK_BYTES = ggmlTypeInfo(GGML.Q8_0).blockBytes;
const Q4_0_BLOCK_BYTES = ggmlTypeInfo(GGML.Q4_0).blockBytes;

/**
 * quantizeRowsQ8_0(x, q, d, rows, cols, mPad): rows×cols f32 at x (cols a multiple of 32) → int16
 * in the interleaved layout at q (group g = rows 4g..4g+3 at q + g·8·cols) and, per block b of
 * row i, the scale at d[b·mPad + i]. Per block, as ggml's x86 quantize_row_q8_0: amax = max|x|,
 * d = amax/127, q = nearest-even(x · (127/amax)) (an all-zero block: d = 0, q = 0). ggml then
 * stores d as f16; here it stays f32.
 */
export function emitQuantizeRowsQ8_0(m: ModuleBuilder): void {
  const f = m.function('quantizeRowsQ8_0', [i32, i32, i32, i32, i32, i32]);
  const [x, q, d, rows, cols, mPad] = f.params as I32[];
  const i = f.local(i32), b = f.local(i32), blocks = f.local(i32), pd = f.local(i32), pq = f.local(i32);
  const v = Array.from({ length: 8 }, () => f.local(v128));
  const t = f.local(v128), inv = f.local(v128), amax = f.local(f32), scale = f.local(f32);
  f.get(cols!).i32(5).op(Op.i32_shr_u).set(blocks);
  f.forSteps(i, () => f.i32(0), rows!, 1, () => {
    f.get(d!).get(i).i32(2).op(Op.i32_shl).op(Op.i32_add).set(pd);
    // row i's lane in its group: q + (i >> 2)·8·cols + 4·(i & 3)
    f.get(q!).get(i).i32(2).op(Op.i32_shr_u).get(cols!).op(Op.i32_mul).i32(3).op(Op.i32_shl).op(Op.i32_add)
      .get(i).i32(3).op(Op.i32_and).i32(2).op(Op.i32_shl).op(Op.i32_add).set(pq);
    f.forSteps(b, () => f.i32(0), blocks, 1, () => {
      for (let k = 0; k < 8; k++) f.get(x!).simdMem(Simd.v128_load, 16 * k).set(v[k]!);
      blockScale(f, v, t, amax, scale, pd, 127);
      // inv = amax > 0 ? 127/amax : 0
      f.f32(127).get(amax).op(Op.f32_div).f32(0).get(amax).f32(0).op(Op.f32_gt).op(Op.select).simd(Simd.f32x4_splat).set(inv);
      // values 8g .. 8g+7 → one i16x8 = 4 pairs, each stored as 32 bits into its pair's group vector
      for (let g = 0; g < 4; g++) {
        for (let u = 0; u < 2; u++) f.get(v[2 * g + u]!).get(inv).simd(Simd.f32x4_mul).simd(Simd.f32x4_nearest).simd(Simd.i32x4_trunc_sat_f32x4_s);
        f.simd(Simd.i16x8_narrow_i32x4_s).set(t);
        for (let p = 0; p < 4; p++) f.get(pq).get(t).simdMemLane(Simd.v128_store32_lane, 16 * (4 * g + p), 0, p);
      }
      f.inc(x!, 128).inc(pq, 256);
      f.get(pd).get(mPad!).i32(2).op(Op.i32_shl).op(Op.i32_add).set(pd);
    });
  });
}

/**
 * widenQ8_0(dst, scales, src, blocks): Q8_0 blocks at src → 32 int16 each at dst, and each
 * block's f16 scale as f32 at scales (a panel of weight rows for matmulQ8_0).
 */
export function emitWidenQ8_0(m: ModuleBuilder): void {
  const f = m.function('widenQ8_0', [i32, i32, i32, i32]);
  const [dst, scales, src, blocks] = f.params as I32[];
  const b = f.local(i32), rebias = f.local(f32);
  f.f32(2 ** 112).set(rebias);
  f.forSteps(b, () => f.i32(0), blocks!, 1, () => {
    f.get(scales!); halfAt(f, src!, 0, rebias); f.mem(Op.f32_store);
    for (let g = 0; g < 4; g++) f.get(dst!).get(src!).simdMem(Simd.v128_load8x8_s, 2 + 8 * g).simdMem(Simd.v128_store, 16 * g);
    f.inc(src!, Q8_0_BLOCK_BYTES).inc(dst!, 64).inc(scales!, 4);
  });
}

/**
 * widenQ4_0(dst, scales, src, blocks): Q4_0 blocks (f16 d, then 16 bytes: value j in the low
 * nibble of byte j, value j + 16 in its high nibble, each stored + 8) → 32 int16 (nibble − 8) each
 * at dst and d as f32 at scales: the weights of the same matmulQ8_0 (ggml's Q4_0 × Q8_0 product).
 */
export function emitWidenQ4_0(m: ModuleBuilder): void {
  const f = m.function('widenQ4_0', [i32, i32, i32, i32]);
  const [dst, scales, src, blocks] = f.params as I32[];
  const b = f.local(i32), rebias = f.local(f32), bytes = f.local(v128), nib = f.local(v128);
  const c = new Constants(m, f), low = c.i8(0x0f), eight = c.i8(8);
  f.f32(2 ** 112).set(rebias);
  f.forSteps(b, () => f.i32(0), blocks!, 1, () => {
    f.get(scales!); halfAt(f, src!, 0, rebias); f.mem(Op.f32_store);
    f.get(src!).simdMem(Simd.v128_load, 2).set(bytes);
    // low nibbles: values 0..15; high nibbles: values 16..31
    f.get(bytes).get(low).simd(Simd.v128_and).get(eight).simd(Simd.i8x16_sub).set(nib);
    f.get(dst!).get(nib).simd(Simd.i16x8_extend_low_i8x16_s).simdMem(Simd.v128_store, 0);
    f.get(dst!).get(nib).simd(Simd.i16x8_extend_high_i8x16_s).simdMem(Simd.v128_store, 16);
    f.get(bytes).i32(4).simd(Simd.i8x16_shr_u).get(eight).simd(Simd.i8x16_sub).set(nib);
    f.get(dst!).get(nib).simd(Simd.i16x8_extend_low_i8x16_s).simdMem(Simd.v128_store, 32);
    f.get(dst!).get(nib).simd(Simd.i16x8_extend_high_i8x16_s).simdMem(Simd.v128_store, 48);
    f.inc(src!, Q4_0_BLOCK_BYTES).inc(dst!, 64).inc(scales!, 4);
  });
}

/**
 * matmulQ8_0(out, w, ws, xq, xd, m, mPad, n, cols, ldo): out[i·ldo + j] = Σ_b ws[j,b]·d_x[b,i]·(w_j,b · q_x,i,b)
 * for i < m, j < n: w holds n weight rows widened to int16 (widenQ8_0; ws their block scales),
 * xq/xd the activations as quantizeRowsQ8_0 writes them for mPad rows (m rounded up to 4; the
 * padding rows are computed and not stored). Tiles of 2 weight rows × 3 groups (12 activation
 * rows); each block's integer sums are converted once and multiplied by d_x (4 rows, one vector
 * load) · d_w. A result depends only on its own row and column, never on the tile it ran in, so
 * any split of the weight rows over threads gives the same bits.
 */
export function emitMatmulQ8_0(m: ModuleBuilder): void {
  const f = m.function('matmulQ8_0', [i32, i32, i32, i32, i32, i32, i32, i32, i32, i32]);
  const [out, w, ws, xq, xd, mRows, mPad, n, cols, ldo] = f.params as I32[];
  const s = new Scratch(f);
  const i = f.local(i32), j = f.local(i32), rowBytes = f.local(i32), blocks = f.local(i32), blk = f.local(i32), dStep = f.local(i32);
  const groupBytes = f.local(i32), scaleRow = f.local(i32), pair = f.local(i32), pairs = f.local(i32);
  f.get(cols!).i32(1).op(Op.i32_shl).set(rowBytes);
  f.get(cols!).i32(5).op(Op.i32_shr_u).tee(blocks).i32(2).op(Op.i32_shl).set(scaleRow);
  f.get(mPad!).i32(2).op(Op.i32_shl).set(dStep);
  f.get(cols!).i32(3).op(Op.i32_shl).set(groupBytes);
  f.i32(16).set(pairs);
  const tile = (C: number, G: number) => {
    const pw = Array.from({ length: C }, (_, c) => s.i(`pw${c}`));
    const ps = Array.from({ length: C }, (_, c) => s.i(`ps${c}`));
    const px = Array.from({ length: G }, (_, g) => s.i(`px${g}`));
    const pd = s.i('pd');
    const isum = (g: number, c: number) => s.v(`isum${g}_${c}`);
    const acc = (g: number, c: number) => s.v(`acc${g}_${c}`);
    const wb = Array.from({ length: C }, (_, c) => s.v(`wb${c}`));
    const xv = s.v('xv'), dw = s.v('dw');
    for (let c = 0; c < C; c++) {
      f.get(w!).get(j).i32(c).op(Op.i32_add).get(rowBytes).op(Op.i32_mul).op(Op.i32_add).set(pw[c]!);
      f.get(ws!).get(j).i32(c).op(Op.i32_add).get(scaleRow).op(Op.i32_mul).op(Op.i32_add).set(ps[c]!);
      for (let g = 0; g < G; g++) f.v128i32(0, 0, 0, 0).set(acc(g, c));
    }
    for (let g = 0; g < G; g++) f.get(xq!).get(i).i32(2).op(Op.i32_shr_u).i32(g).op(Op.i32_add).get(groupBytes).op(Op.i32_mul).op(Op.i32_add).set(px[g]!);
    f.get(xd!).get(i).i32(2).op(Op.i32_shl).op(Op.i32_add).set(pd);
    f.forSteps(blk, () => f.i32(0), blocks, 1, () => {
      for (let g = 0; g < G; g++) for (let c = 0; c < C; c++) f.v128i32(0, 0, 0, 0).set(isum(g, c));
      f.forSteps(pair, () => f.i32(0), pairs, 1, () => {
        for (let c = 0; c < C; c++) f.get(pw[c]!).simdMem(Simd.v128_load32_splat).set(wb[c]!);
        for (let g = 0; g < G; g++) {
          f.get(px[g]!).simdMem(Simd.v128_load).set(xv);
          for (let c = 0; c < C; c++) f.get(wb[c]!).get(xv).simd(Simd.i32x4_dot_i16x8_s).get(isum(g, c)).simd(Simd.i32x4_add).set(isum(g, c));
        }
        for (let c = 0; c < C; c++) f.inc(pw[c]!, 4);
        for (let g = 0; g < G; g++) f.inc(px[g]!, 16);
      });
      for (let c = 0; c < C; c++) {
        f.get(ps[c]!).simdMem(Simd.v128_load32_splat).set(dw);
        for (let g = 0; g < G; g++) {
          f.get(acc(g, c)).get(isum(g, c)).simd(Simd.f32x4_convert_i32x4_s);
          f.get(pd).simdMem(Simd.v128_load, 16 * g).get(dw).simd(Simd.f32x4_mul);
          f.simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(acc(g, c));
        }
        f.inc(ps[c]!, 4);
      }
      f.get(pd).get(dStep).op(Op.i32_add).set(pd);
    });
    for (let r = 0; r < 4 * G; r++) {
      f.get(i).i32(r).op(Op.i32_add).get(mRows!).op(Op.i32_lt_s).if(() => {
        for (let c = 0; c < C; c++) {
          f.get(out!).get(i).i32(r).op(Op.i32_add).get(ldo!).op(Op.i32_mul).get(j).op(Op.i32_add).i32(c).op(Op.i32_add).i32(2).op(Op.i32_shl).op(Op.i32_add);
          f.get(acc(r >> 2, c)).simdLane(Simd.f32x4_extract_lane, r & 3).mem(Op.f32_store);
        }
      });
    }
  };
  const rowTiles = (C: number) => {
    f.forSteps(i, () => f.i32(0), mPad!, 12, () => tile(C, 3));
    f.forSteps(i, () => f.get(i), mPad!, 4, () => tile(C, 1));
  };
  f.forSteps(j, () => f.i32(0), n!, 2, () => rowTiles(2));
  f.forSteps(j, () => f.get(j), n!, 1, () => rowTiles(1));
}
