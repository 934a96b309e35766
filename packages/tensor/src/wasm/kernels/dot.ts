// Dot-product kernels: the register-tile emitter and the f32/fp16 matvec and matmulT built on it.
import { FunctionBuilder, ModuleBuilder, Op, Simd } from '../emitter.js';
import { Scratch, zeroV, splatF, hsum, i32, type I32 } from './common.js';

/** How a dot-product tile reads its "A" rows (weights: f32, f16 or bf16) — B rows are always f32. */
type RowFormat = 'f32' | 'f16' | 'bf16';

interface DotTile {
  /** Rows of A and of B in the tile, and how many 4-lane vectors per row one k-step takes. */
  R: number; C: number; U: number;
  aFormat: RowFormat;
  /** Push the byte address of A row r / B row c of this tile. */
  rowA(r: number): void;
  rowB(c: number): void;
  /** k (elements per row). */
  k: I32;
  /** Store out[r][c]: `push` pushes the f32 value. */
  store(r: number, c: number, push: () => void): void;
  /**
   * acc += a·b as one relaxed-SIMD f32x4.relaxed_madd (an FMA where the CPU has one) instead of
   * mul then add. Not used by the backend: it measured no faster (bench/prompt-tiles.bench.ts).
   */
  fma?: boolean;
}

/** Pushes A's 4 lanes at pA + offset as f32x4 (dequantising fp16 on the fly). */
export function loadARow(f: FunctionBuilder, fmt: RowFormat, p: I32, offsetElems: number): void {
  if (fmt === 'f32') { f.get(p).simdMem(Simd.v128_load, offsetElems * 4); return; }
  // bf16 is the top half of an f32: zero-extend and shift into place.
  if (fmt === 'bf16') { f.get(p).simdMem(Simd.v128_load16x4_u, offsetElems * 2).i32(16).simd(Simd.i32x4_shl); return; }
  // fp16 → fp32 in three ops: sign-extend the half to 32 bits and shift it left 13, so exponent and
  // mantissa land in f32 position (bits 13..27) and the sign in bit 31; clear the sign copies in
  // bits 28..30; multiply by 2^112 to rebias the exponent (15 → 127; also right for subnormals).
  // Inf/NaN halves become large finite values: weights are finite (the loaders refuse a file's Inf/NaN, quant/ggml-finite.ts).
  f.get(p).simdMem(Simd.v128_load16x4_s, offsetElems * 2).i32(13).simd(Simd.i32x4_shl);
  f.v128i32(0x8fffe000, 0x8fffe000, 0x8fffe000, 0x8fffe000).simd(Simd.v128_and);
  splatF(f, 2 ** 112).simd(Simd.f32x4_mul);
}

/** Pushes A's scalar at pA as f32. */
export function loadAScalar(f: FunctionBuilder, fmt: RowFormat, p: I32, s: Scratch): void {
  if (fmt === 'f32') { f.get(p).mem(Op.f32_load); return; }
  if (fmt === 'bf16') { f.get(p).mem(Op.i32_load16_u, 0, 1).i32(16).op(Op.i32_shl).op(Op.f32_reinterpret_i32); return; }
  const h = s.i('f16.s');
  f.get(p).mem(Op.i32_load16_u, 0, 1).set(h);
  const mag = s.s('f16.mag');
  f.get(h).i32(0x7fff).op(Op.i32_and).i32(13).op(Op.i32_shl).op(Op.f32_reinterpret_i32).f32(2 ** 112).op(Op.f32_mul).set(mag);
  f.get(mag).op(Op.f32_neg).get(mag).get(h).i32(0x8000).op(Op.i32_and).op(Op.select);
}

/**
 * Emits an R×C register tile of dot products over k: acc[r][c] (U vectors each) += A_r · B_c,
 * then horizontal sums, a scalar tail for k % 4, and the stores.
 */
export function emitDotTile(f: FunctionBuilder, s: Scratch, t: DotTile): void {
  const aBytes = t.aFormat === 'f32' ? 4 : 2;
  const pa = Array.from({ length: t.R }, (_, r) => s.i(`pa${r}`));
  const pb = Array.from({ length: t.C }, (_, c) => s.i(`pb${c}`));
  const acc = (r: number, c: number, u: number) => s.v(`acc${r}_${c}_${u}`);
  const bv = (c: number) => s.v(`bv${c}`);
  const av = s.v('av');
  const sum = (r: number, c: number) => s.s(`sum${r}_${c}`);
  const kk = s.i('kk'), kVec = s.i('kVec'), kUnroll = s.i('kUnroll');
  for (let r = 0; r < t.R; r++) { t.rowA(r); f.set(pa[r]!); }
  for (let c = 0; c < t.C; c++) { t.rowB(c); f.set(pb[c]!); }
  for (let r = 0; r < t.R; r++) for (let c = 0; c < t.C; c++) for (let u = 0; u < t.U; u++) { zeroV(f).set(acc(r, c, u)); }
  f.get(t.k).i32(-4).op(Op.i32_and).set(kVec);
  f.get(t.k).i32(-4 * t.U).op(Op.i32_and).set(kUnroll);
  const step = (U: number) => {
    for (let u = 0; u < U; u++) {
      for (let c = 0; c < t.C; c++) { f.get(pb[c]!).simdMem(Simd.v128_load, u * 16).set(bv(c)); }
      for (let r = 0; r < t.R; r++) {
        loadARow(f, t.aFormat, pa[r]!, u * 4); f.set(av);
        for (let c = 0; c < t.C; c++) {
          if (t.fma) f.get(av).get(bv(c)).get(acc(r, c, u)).simd(Simd.f32x4_relaxed_madd).set(acc(r, c, u));
          else f.get(acc(r, c, u)).get(av).get(bv(c)).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(acc(r, c, u));
        }
      }
    }
    for (let r = 0; r < t.R; r++) f.inc(pa[r]!, 4 * U * aBytes);
    for (let c = 0; c < t.C; c++) f.inc(pb[c]!, 16 * U);
  };
  f.forSteps(kk, () => f.i32(0), kUnroll, 4 * t.U, () => step(t.U));
  if (t.U > 1) f.forSteps(kk, () => f.get(kk), kVec, 4, () => step(1));
  for (let r = 0; r < t.R; r++) for (let c = 0; c < t.C; c++) {
    for (let u = 1; u < t.U; u++) f.get(acc(r, c, 0)).get(acc(r, c, u)).simd(Simd.f32x4_add).set(acc(r, c, 0));
    hsum(f, acc(r, c, 0)); f.set(sum(r, c));
  }
  f.forSteps(kk, () => f.get(kk), t.k, 1, () => {
    for (let c = 0; c < t.C; c++) {
      for (let r = 0; r < t.R; r++) {
        f.get(sum(r, c));
        loadAScalar(f, t.aFormat, pa[r]!, s);
        f.get(pb[c]!).mem(Op.f32_load).op(Op.f32_mul).op(Op.f32_add).set(sum(r, c));
      }
    }
    for (let r = 0; r < t.R; r++) f.inc(pa[r]!, aBytes);
    for (let c = 0; c < t.C; c++) f.inc(pb[c]!, 4);
  });
  for (let r = 0; r < t.R; r++) for (let c = 0; c < t.C; c++) t.store(r, c, () => f.get(sum(r, c)));
}

/**
 * out[r] = W_r · x for a row-major W (rows×cols): one row at a time, 4 vectors (4 accumulators)
 * per step. Rows are streamed strictly in memory order: interleaving 2-8 rows per tile (x reused
 * from registers) measured 3x slower once W comes from DRAM (the hardware prefetcher follows one
 * sequential stream far better), and no faster when W is cache-resident.
 */
export function emitMatvec(m: ModuleBuilder, name: string, fmt: RowFormat): void {
  const f = m.function(name, [i32, i32, i32, i32, i32]);
  const [out, w, x, rows, cols] = f.params as I32[];
  const s = new Scratch(f);
  const r = f.local(i32), rowBytes = f.local(i32);
  f.get(cols!).i32(fmt === 'f32' ? 2 : 1).op(Op.i32_shl).set(rowBytes);
  f.forSteps(r, () => f.i32(0), rows!, 1, () => emitDotTile(f, s, {
    R: 1, C: 1, U: 4, aFormat: fmt, k: cols!,
    rowA: () => { f.get(w!).get(r).get(rowBytes).op(Op.i32_mul).op(Op.i32_add); },
    rowB: () => { f.get(x!); },
    store: (_r, _c, push) => { f.get(out!).get(r).i32(2).op(Op.i32_shl).op(Op.i32_add); push(); f.mem(Op.f32_store); },
  }));
}

/** out[i*ldo + j] = A_i · B_j, A (m×k), B (n×k). B rows outermost so a B pair stays in L1 while A streams from L2. */
export function emitMatmulT(m: ModuleBuilder, name = 'matmulT', fma = false): void {
  const f = m.function(name, [i32, i32, i32, i32, i32, i32, i32]);
  const [out, a, b, mRows, n, k, ldo] = f.params as I32[];
  const s = new Scratch(f);
  const i = f.local(i32), j = f.local(i32), rowBytes = f.local(i32);
  f.get(k!).i32(2).op(Op.i32_shl).set(rowBytes);
  const tile = (R: number, C: number) => emitDotTile(f, s, {
    R, C, U: 1, aFormat: 'f32', k: k!, fma,
    rowA: (r) => { f.get(a!).get(i).i32(r).op(Op.i32_add).get(rowBytes).op(Op.i32_mul).op(Op.i32_add); },
    rowB: (c) => { f.get(b!).get(j).i32(c).op(Op.i32_add).get(rowBytes).op(Op.i32_mul).op(Op.i32_add); },
    store: (r, c, push) => {
      f.get(out!).get(i).i32(r).op(Op.i32_add).get(ldo!).op(Op.i32_mul).get(j).op(Op.i32_add).i32(c).op(Op.i32_add)
        .i32(2).op(Op.i32_shl).op(Op.i32_add);
      push(); f.mem(Op.f32_store);
    },
  });
  f.forSteps(j, () => f.i32(0), n!, 2, () => {
    f.forSteps(i, () => f.i32(0), mRows!, 4, () => tile(4, 2));
    f.forSteps(i, () => f.get(i), mRows!, 1, () => tile(1, 2));
  });
  f.forSteps(j, () => f.get(j), n!, 1, () => {
    f.forSteps(i, () => f.i32(0), mRows!, 4, () => tile(4, 1));
    f.forSteps(i, () => f.get(i), mRows!, 1, () => tile(1, 1));
  });
}
