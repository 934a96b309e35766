// The SIMD128 kernel module, written against the emitter. Every exported function takes byte
// addresses into the one imported memory plus element counts; the JS side (./backend.ts) checks
// ownership and bounds before calling. Layout conventions match ../backend.ts.
import { FunctionBuilder, ModuleBuilder, Op, Simd, ValType, type Local } from './emitter.js';

const { i32, f32, v128 } = ValType;
type I32 = Local<typeof i32>;
type F32 = Local<typeof f32>;
type V128 = Local<typeof v128>;

export interface KernelMemory { initialPages: number; maximumPages?: number; shared: boolean }

/** Names and signatures of the exported kernels (all pointers are byte addresses). */
export interface KernelExports {
  add(out: number, a: number, b: number, n: number): void;
  swiglu(out: number, gate: number, up: number, n: number): void;
  rmsnorm(out: number, x: number, w: number, n: number, eps: number): void;
  matvec(out: number, w: number, x: number, rows: number, cols: number): void;
  /** out[i*ldo + j] = A_i · B_j (ldo lets a thread write a column block of a wider out). */
  matmulT(out: number, a: number, b: number, m: number, n: number, k: number, ldo: number): void;
  attendHead(out: number, q: number, keys: number, values: number, count: number, headDim: number, scale: number, att: number): void;
  /** w: rows×cols IEEE half floats (u16). */
  matvecF16(out: number, w: number, x: number, rows: number, cols: number): void;
  /**
   * q: rows×cols int8; scales: rows×ceil(cols/32) f32, one per block of 32 along each row;
   * x16: x rounded to int16 per block (see quant/weights.ts quantizeActivations16), xs its block scales.
   */
  matvecQ8(out: number, q: number, scales: number, x16: number, xs: number, rows: number, cols: number): void;
}

/** Lazily created, reusable locals by name (a kernel reuses scratch across its emitted loops). */
class Scratch {
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

const zeroV = (f: FunctionBuilder) => f.v128i32(0, 0, 0, 0);
const splatF = (f: FunctionBuilder, x: number) => f.f32(x).simd(Simd.f32x4_splat);

/** Pushes the horizontal sum of a f32x4 local: (l0 + l1) + (l2 + l3). */
function hsum(f: FunctionBuilder, v: V128): void {
  f.get(v).simdLane(Simd.f32x4_extract_lane, 0).get(v).simdLane(Simd.f32x4_extract_lane, 1).op(Op.f32_add);
  f.get(v).simdLane(Simd.f32x4_extract_lane, 2).get(v).simdLane(Simd.f32x4_extract_lane, 3).op(Op.f32_add);
  f.op(Op.f32_add);
}

/**
 * exp of the f32x4 on the stack, leaving the result. Cody–Waite range reduction x = n·ln2 + r,
 * |r| <= ln2/2, then a degree-6 Taylor polynomial (truncation error < 1.5e-7 relative) and 2^n
 * built in the exponent bits. Inputs are clamped to [-87.3, 88.3] so 2^n stays a normal float.
 */
function expV(f: FunctionBuilder, s: Scratch): void {
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

/** out = a + b, elementwise. */
function emitAdd(m: ModuleBuilder): void {
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

/** out = silu(gate) · up = gate · up / (1 + exp(-gate)). Tail elements go through the vector path one lane at a time. */
function emitSwiglu(m: ModuleBuilder): void {
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
function emitRmsnorm(m: ModuleBuilder): void {
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

/** How a dot-product tile reads its "A" rows (weights: f32 or f16) — B rows are always f32. */
type RowFormat = 'f32' | 'f16';

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
}

/** Pushes A's 4 lanes at pA + offset as f32x4 (dequantising fp16 on the fly). */
function loadARow(f: FunctionBuilder, fmt: RowFormat, p: I32, offsetElems: number): void {
  if (fmt === 'f32') { f.get(p).simdMem(Simd.v128_load, offsetElems * 4); return; }
  // fp16 → fp32 in three ops: sign-extend the half to 32 bits and shift it left 13, so exponent and
  // mantissa land in f32 position (bits 13..27) and the sign in bit 31; clear the sign copies in
  // bits 28..30; multiply by 2^112 to rebias the exponent (15 → 127; also right for subnormals).
  // Inf/NaN halves become large finite values — weights are finite.
  f.get(p).simdMem(Simd.v128_load16x4_s, offsetElems * 2).i32(13).simd(Simd.i32x4_shl);
  f.v128i32(0x8fffe000, 0x8fffe000, 0x8fffe000, 0x8fffe000).simd(Simd.v128_and);
  splatF(f, 2 ** 112).simd(Simd.f32x4_mul);
}

/** Pushes A's scalar at pA as f32. */
function loadAScalar(f: FunctionBuilder, fmt: RowFormat, p: I32, s: Scratch): void {
  if (fmt === 'f32') { f.get(p).mem(Op.f32_load); return; }
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
function emitDotTile(f: FunctionBuilder, s: Scratch, t: DotTile): void {
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
          f.get(acc(r, c, u)).get(av).get(bv(c)).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(acc(r, c, u));
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

/** out[r] = W_r · x for a row-major W (rows×cols), 4 rows per tile (4 accumulators; a second vector per step measured no faster). */
function emitMatvec(m: ModuleBuilder, name: string, fmt: RowFormat): void {
  const f = m.function(name, [i32, i32, i32, i32, i32]);
  const [out, w, x, rows, cols] = f.params as I32[];
  const s = new Scratch(f);
  const r = f.local(i32), rowBytes = f.local(i32);
  f.get(cols!).i32(fmt === 'f32' ? 2 : 1).op(Op.i32_shl).set(rowBytes);
  const tile = (R: number) => emitDotTile(f, s, {
    R, C: 1, U: R === 4 ? 1 : 4, aFormat: fmt, k: cols!,
    rowA: (i) => { f.get(w!).get(r).i32(i).op(Op.i32_add).get(rowBytes).op(Op.i32_mul).op(Op.i32_add); },
    rowB: () => { f.get(x!); },
    store: (i, _c, push) => { f.get(out!).get(r).i32(i).op(Op.i32_add).i32(2).op(Op.i32_shl).op(Op.i32_add); push(); f.mem(Op.f32_store); },
  });
  f.forSteps(r, () => f.i32(0), rows!, 4, () => tile(4));
  f.forSteps(r, () => f.get(r), rows!, 1, () => tile(1));
}

/** out[i*ldo + j] = A_i · B_j, A (m×k), B (n×k). B rows outermost so a B pair stays in L1 while A streams from L2. */
function emitMatmulT(m: ModuleBuilder): void {
  const f = m.function('matmulT', [i32, i32, i32, i32, i32, i32, i32]);
  const [out, a, b, mRows, n, k, ldo] = f.params as I32[];
  const s = new Scratch(f);
  const i = f.local(i32), j = f.local(i32), rowBytes = f.local(i32);
  f.get(k!).i32(2).op(Op.i32_shl).set(rowBytes);
  const tile = (R: number, C: number) => emitDotTile(f, s, {
    R, C, U: 1, aFormat: 'f32', k: k!,
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

/**
 * Q8 weights × activations rounded to int16 per block of 32 (scale max|x|/32767, so relative
 * error <= 1.5e-5 of the block max, far under the weights' own int8 rounding): each block's dot
 * product runs in integers, 4 × (8 int8 widened by the load, i32x4.dot_i16x8_s, i32x4.add),
 * then one int→float conversion and one multiply by scale_w·scale_x per block and row.
 */
function emitMatvecQ8(m: ModuleBuilder): void {
  const f = m.function('matvecQ8', [i32, i32, i32, i32, i32, i32, i32]);
  const [out, q, scales, x16, xs, rows, cols] = f.params as I32[];
  const s = new Scratch(f);
  const r = f.local(i32), nBlocks = f.local(i32), fullBlocks = f.local(i32), blk = f.local(i32), e = f.local(i32);
  const px = f.local(i32), pxs = f.local(i32), sx = f.local(v128);
  const xg = Array.from({ length: 4 }, () => f.local(v128));
  f.get(cols!).i32(31).op(Op.i32_add).i32(5).op(Op.i32_shr_u).set(nBlocks);
  f.get(cols!).i32(5).op(Op.i32_shr_u).set(fullBlocks);
  const tile = (R: number) => {
    const pq = Array.from({ length: R }, (_, t) => s.i(`pq${t}`));
    const ps = Array.from({ length: R }, (_, t) => s.i(`ps${t}`));
    const acc = Array.from({ length: R }, (_, t) => s.v(`acc${t}`));
    const iacc = Array.from({ length: R }, (_, t) => s.v(`iacc${t}`));
    const sum = Array.from({ length: R }, (_, t) => s.s(`sum${t}`));
    const bs = Array.from({ length: R }, (_, t) => s.i(`bs${t}`));
    for (let t = 0; t < R; t++) {
      f.get(q!).get(r).i32(t).op(Op.i32_add).get(cols!).op(Op.i32_mul).op(Op.i32_add).set(pq[t]!);
      f.get(scales!).get(r).i32(t).op(Op.i32_add).get(nBlocks).op(Op.i32_mul).i32(2).op(Op.i32_shl).op(Op.i32_add).set(ps[t]!);
      zeroV(f).set(acc[t]!);
    }
    f.get(x16!).set(px);
    f.get(xs!).set(pxs);
    f.forSteps(blk, () => f.i32(0), fullBlocks, 1, () => {
      for (let g = 0; g < 4; g++) f.get(px).simdMem(Simd.v128_load, g * 16).set(xg[g]!);
      for (let t = 0; t < R; t++) {
        for (let g = 0; g < 4; g++) {
          f.get(pq[t]!).simdMem(Simd.v128_load8x8_s, g * 8).get(xg[g]!).simd(Simd.i32x4_dot_i16x8_s);
          if (g > 0) f.simd(Simd.i32x4_add);
        }
        f.set(iacc[t]!);
      }
      f.get(pxs).simdMem(Simd.v128_load32_splat).set(sx);
      for (let t = 0; t < R; t++) {
        f.get(acc[t]!).get(iacc[t]!).simd(Simd.f32x4_convert_i32x4_s);
        f.get(ps[t]!).simdMem(Simd.v128_load32_splat).get(sx).simd(Simd.f32x4_mul).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(acc[t]!);
        f.inc(pq[t]!, 32).inc(ps[t]!, 4);
      }
      f.inc(px, 64).inc(pxs, 4);
    });
    for (let t = 0; t < R; t++) { hsum(f, acc[t]!); f.set(sum[t]!); }
    // Partial last block (cols % 32 values): scalar integer dot, then the two scales.
    f.get(nBlocks).get(fullBlocks).op(Op.i32_ne).if(() => {
      for (let t = 0; t < R; t++) { f.i32(0).set(bs[t]!); }
      f.forSteps(e, () => f.get(fullBlocks).i32(5).op(Op.i32_shl), cols!, 1, () => {
        for (let t = 0; t < R; t++) {
          f.get(bs[t]!).get(pq[t]!).mem(Op.i32_load8_s, 0, 0).get(px).mem(Op.i32_load16_s, 0, 1).op(Op.i32_mul).op(Op.i32_add).set(bs[t]!);
          f.inc(pq[t]!, 1);
        }
        f.inc(px, 2);
      });
      for (let t = 0; t < R; t++) {
        f.get(sum[t]!).get(bs[t]!).op(Op.f32_convert_i32_s).get(ps[t]!).mem(Op.f32_load).op(Op.f32_mul)
          .get(pxs).mem(Op.f32_load).op(Op.f32_mul).op(Op.f32_add).set(sum[t]!);
      }
    });
    for (let t = 0; t < R; t++) {
      f.get(out!).get(r).i32(t).op(Op.i32_add).i32(2).op(Op.i32_shl).op(Op.i32_add).get(sum[t]!).mem(Op.f32_store);
    }
  };
  f.forSteps(r, () => f.i32(0), rows!, 4, () => tile(4));
  f.forSteps(r, () => f.get(r), rows!, 1, () => tile(1));
}

/** One attention head: scores (4 keys per tile), max, exp and sum, normalisation, weighted value sum. */
function emitAttendHead(m: ModuleBuilder): void {
  const f = m.function('attendHead', [i32, i32, i32, i32, i32, i32, f32, i32]);
  const [out, q, keys, values, count, headDim] = f.params as I32[];
  const scale = f.params[6] as F32;
  const att = f.params[7] as I32;
  const s = new Scratch(f);
  const i = f.local(i32), o = f.local(i32), end = f.local(i32), rowBytes = f.local(i32), dEnd = f.local(i32), d = f.local(i32);
  const mx = f.local(f32), sum = f.local(f32), vmax = f.local(v128), vsum = f.local(v128), t = f.local(v128);
  f.get(headDim!).i32(2).op(Op.i32_shl).set(rowBytes);
  // 1. att[i] = scale · q·k_i
  const tile = (R: number) => emitDotTile(f, s, {
    R, C: 1, U: 1, aFormat: 'f32', k: headDim!,
    rowA: (r) => { f.get(keys!).get(i).i32(r).op(Op.i32_add).get(rowBytes).op(Op.i32_mul).op(Op.i32_add); },
    rowB: () => { f.get(q!); },
    store: (r, _c, push) => {
      f.get(att!).get(i).i32(r).op(Op.i32_add).i32(2).op(Op.i32_shl).op(Op.i32_add); push(); f.get(scale).op(Op.f32_mul).mem(Op.f32_store);
    },
  });
  f.forSteps(i, () => f.i32(0), count!, 4, () => tile(4));
  f.forSteps(i, () => f.get(i), count!, 1, () => tile(1));
  // 2. max
  f.get(count!).i32(2).op(Op.i32_shl).set(end);
  splatF(f, -Infinity).set(vmax);
  f.forSteps(o, () => f.i32(0), end, 16, () => {
    f.get(att!).get(o).op(Op.i32_add).simdMem(Simd.v128_load).get(vmax).simd(Simd.f32x4_pmax).set(vmax);
  });
  f.get(vmax).simdLane(Simd.f32x4_extract_lane, 0).get(vmax).simdLane(Simd.f32x4_extract_lane, 1).op(Op.f32_max)
    .get(vmax).simdLane(Simd.f32x4_extract_lane, 2).get(vmax).simdLane(Simd.f32x4_extract_lane, 3).op(Op.f32_max).op(Op.f32_max).set(mx);
  f.forSteps(o, () => f.get(o), end, 4, () => { f.get(att!).get(o).op(Op.i32_add).mem(Op.f32_load).get(mx).op(Op.f32_max).set(mx); });
  // 3. att[i] = exp(att[i] - max), summed
  f.get(mx).simd(Simd.f32x4_splat).set(vmax);
  zeroV(f).set(vsum);
  f.forSteps(o, () => f.i32(0), end, 16, () => {
    f.get(att!).get(o).op(Op.i32_add);
    f.get(att!).get(o).op(Op.i32_add).simdMem(Simd.v128_load).get(vmax).simd(Simd.f32x4_sub);
    expV(f, s); f.tee(t).simdMem(Simd.v128_store);
    f.get(vsum).get(t).simd(Simd.f32x4_add).set(vsum);
  });
  hsum(f, vsum); f.set(sum);
  f.forSteps(o, () => f.get(o), end, 4, () => {
    f.get(att!).get(o).op(Op.i32_add).simdMem(Simd.v128_load32_splat).get(vmax).simd(Simd.f32x4_sub);
    expV(f, s); f.set(t);
    f.get(att!).get(o).op(Op.i32_add).get(t).simdLane(Simd.f32x4_extract_lane, 0).mem(Op.f32_store);
    f.get(sum).get(t).simdLane(Simd.f32x4_extract_lane, 0).op(Op.f32_add).set(sum);
  });
  // 4. normalise
  f.f32(1).get(sum).op(Op.f32_div).set(sum);
  f.get(sum).simd(Simd.f32x4_splat).set(vsum);
  f.forSteps(o, () => f.i32(0), end, 16, () => {
    f.get(att!).get(o).op(Op.i32_add).get(att!).get(o).op(Op.i32_add).simdMem(Simd.v128_load).get(vsum).simd(Simd.f32x4_mul).simdMem(Simd.v128_store);
  });
  f.forSteps(o, () => f.get(o), end, 4, () => {
    f.get(att!).get(o).op(Op.i32_add).get(att!).get(o).op(Op.i32_add).mem(Op.f32_load).get(sum).op(Op.f32_mul).mem(Op.f32_store);
  });
  // 5. out = Σ_i att[i] · v_i, four entries per pass over out.
  f.get(headDim!).i32(-4).op(Op.i32_and).i32(2).op(Op.i32_shl).set(dEnd);
  f.forSteps(d, () => f.i32(0), rowBytes, 4, () => { f.get(out!).get(d).op(Op.i32_add).f32(0).mem(Op.f32_store); });
  const a = Array.from({ length: 4 }, (_, r) => s.v(`a${r}`));
  const as = Array.from({ length: 4 }, (_, r) => s.s(`as${r}`));
  const pv = Array.from({ length: 4 }, (_, r) => s.i(`pv${r}`));
  const wsum = (R: number) => {
    for (let r = 0; r < R; r++) {
      f.get(att!).get(i).i32(r).op(Op.i32_add).i32(2).op(Op.i32_shl).op(Op.i32_add).mem(Op.f32_load).tee(as[r]!).simd(Simd.f32x4_splat).set(a[r]!);
      f.get(values!).get(i).i32(r).op(Op.i32_add).get(rowBytes).op(Op.i32_mul).op(Op.i32_add).set(pv[r]!);
    }
    f.forSteps(d, () => f.i32(0), dEnd, 16, () => {
      f.get(out!).get(d).op(Op.i32_add);
      f.get(out!).get(d).op(Op.i32_add).simdMem(Simd.v128_load);
      for (let r = 0; r < R; r++) {
        f.get(pv[r]!).get(d).op(Op.i32_add).simdMem(Simd.v128_load).get(a[r]!).simd(Simd.f32x4_mul).simd(Simd.f32x4_add);
      }
      f.simdMem(Simd.v128_store);
    });
    f.forSteps(d, () => f.get(d), rowBytes, 4, () => {
      f.get(out!).get(d).op(Op.i32_add);
      f.get(out!).get(d).op(Op.i32_add).mem(Op.f32_load);
      for (let r = 0; r < R; r++) f.get(pv[r]!).get(d).op(Op.i32_add).mem(Op.f32_load).get(as[r]!).op(Op.f32_mul).op(Op.f32_add);
      f.mem(Op.f32_store);
    });
  };
  f.forSteps(i, () => f.i32(0), count!, 4, () => wsum(4));
  f.forSteps(i, () => f.get(i), count!, 1, () => wsum(1));
}

/** The complete kernel module's bytes, importing memory as env.memory with the given limits. */
export function buildKernelModule(memory: KernelMemory): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder({ module: 'env', name: 'memory', ...memory });
  emitAdd(m);
  emitSwiglu(m);
  emitRmsnorm(m);
  emitMatvec(m, 'matvec', 'f32');
  emitMatmulT(m);
  emitAttendHead(m);
  emitMatvec(m, 'matvecF16', 'f16');
  emitMatvecQ8(m);
  return m.encode();
}
