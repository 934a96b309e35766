// Matvecs on ggml's quantized blocks (layouts in ../../quant/ggml-dequant.ts). Every kernel has
// the signature (out, w, x16, xs, xsum, rows, cols): w is row 0's blocks; x16 the activations as
// two int16 terms per value, x ≈ xs[b]·(h + l/65534) (kernels/split.ts, as quant/weights.ts splitActivations16: 128
// bytes per block of 32, the 32 h then the 32 l); xsum[b] the float sum of x over block b (for the
// types whose values carry an offset, w = d·q − m). One int16 term alone (error 1/65534 of the
// block's largest |x|) moved the shared fixtures' logits by 1–2e-3; two terms leave ~1e-9, so the
// result is float accuracy. The quants are unpacked to int16 lanes once and multiplied with
// i32x4.dot_i16x8_s against both terms, so each 32-value dot product is exact integer arithmetic;
// one float multiply-add per block of four rows (32-value types) or per 4 sub-blocks (K-quants)
// applies the scales.
// What bounds their speed is the count of vector instructions per value (loads and scalar work
// run beside them): constants live in locals read before the loops (Constants), nibbles go
// straight into i16 lanes, and Q5's 5th bits come from a table instead of vector bit tricks.
import { FunctionBuilder, ModuleBuilder, Op, Simd } from '../emitter.js';
import type { SimdOp } from '../opcodes.js';
import { Constants, Scratch, f32, hsum, i32, v128, type F32, type I32, type V128 } from './common.js';
import { GGML } from '../../quant/ggml-types.js';
import { IQ4_NL_LEVELS } from '../../quant/ggml-dequant.js';
import { FIVE_BIT_WORDS_ADDR, fiveBitWords } from '../low-memory.js';

/** Export name of the wasm kernel for each ggml type that has one. */
export const GGML_WASM_KERNELS: Readonly<Record<number, string>> = Object.freeze({
  [GGML.Q8_0]: 'matvecQ8_0', [GGML.Q4_0]: 'matvecQ4_0', [GGML.Q4_1]: 'matvecQ4_1', [GGML.Q5_0]: 'matvecQ5_0',
  [GGML.Q5_1]: 'matvecQ5_1', [GGML.IQ4_NL]: 'matvecIQ4_NL', [GGML.Q4_K]: 'matvecQ4_K', [GGML.Q5_K]: 'matvecQ5_K',
  [GGML.Q6_K]: 'matvecQ6_K',
});

/**
 * Pushes the f32 value of the IEEE half at address p + offset (sign-extend, shift, mask, rebias by
 * 2^112: `rebias` holds 2^112, else a constant). An Inf/NaN half (exponent 31) comes out finite
 * (about 2^16): the loaders refuse such a scale when they read the tensor (quant/ggml-finite.ts),
 * which keeps this conversion at four instructions per block.
 */
export function halfAt(f: FunctionBuilder, p: I32, offset: number, rebias?: F32): void {
  f.get(p).mem(Op.i32_load16_s, offset, 1).i32(13).op(Op.i32_shl).i32(0x8fffe000 | 0).op(Op.i32_and).op(Op.f32_reinterpret_i32);
  if (rebias) f.get(rebias); else f.f32(2 ** 112);
  f.op(Op.f32_mul);
}

/** Sets `dst` to the f32x4 splat of the half at p + offset (halfAt). */
export function halfSplat(f: FunctionBuilder, p: I32, offset: number, dst: V128, rebias?: F32): void {
  halfAt(f, p, offset, rebias); f.simd(Simd.f32x4_splat).set(dst);
}

/** The constants halvesToF32 reads (ask before the loops). */
export function halvesConstants(c: Constants): { mask: V128; rebias: V128 } {
  return { mask: c.bytes(Array.from(new Uint8Array(new Int32Array(4).fill(0x8fffe000 | 0).buffer))), rebias: c.f32x4(2 ** 112) };
}

/** The f32x4 of the four halves in the low i16 lanes of the vector on the stack (as halfAt, lane by lane). */
export function halvesToF32(f: FunctionBuilder, k: { mask: V128; rebias: V128 }): void {
  f.simd(Simd.i32x4_extend_low_i16x8_s).i32(13).simd(Simd.i32x4_shl).get(k.mask).simd(Simd.v128_and).get(k.rebias).simd(Simd.f32x4_mul);
}

/** Residual term weight: x ≈ xs·(h + l·L_SCALE). */
export const L_SCALE = 1 / 65534;

/** Byte offset of value v's h term in the split activations (its l term is 64 bytes further). */
const xAt = (v: number): number => 128 * (v >> 5) + 2 * (v & 31);

/**
 * dst = Σ_g dot(w_g, h) and dstL = Σ_g dot(w_g, l) over the activations of values v0 + 8g ..
 * (v0 counted from px + xOff): `weights[g]` pushes i16x8 lanes of values v0+8g..v0+8g+7
 * (unpacked once, used for both terms). `xRegs` (a 32-value block's h vectors, then its l
 * vectors, already loaded) replaces the loads.
 */
function dotI16(f: FunctionBuilder, s: Scratch, dst: V128, dstL: V128, px: I32, xOff: number, v0: number, weights: readonly (() => void)[], xRegs?: readonly V128[]): void {
  const wv = s.v('dot.w');
  const x = (g: number, term: 0 | 1) => {
    if (xRegs) f.get(xRegs[4 * term + g]!);
    else f.get(px).simdMem(Simd.v128_load, xOff + xAt(v0 + 8 * g) + 64 * term);
  };
  weights.forEach((push, g) => {
    push(); f.set(wv);
    f.get(wv); x(g, 0); f.simd(Simd.i32x4_dot_i16x8_s);
    if (g > 0) f.get(dst).simd(Simd.i32x4_add);
    f.set(dst);
    f.get(wv); x(g, 1); f.simd(Simd.i32x4_dot_i16x8_s);
    if (g > 0) f.get(dstL).simd(Simd.i32x4_add);
    f.set(dstL);
  });
}

/**
 * Pushes (Σa, Σb, Σc, Σd) of four x4 locals: 32-bit unpacks and adds, then 64-bit unpacks and an
 * add (each unpack is one instruction in V8; other lane patterns cost it three). `add` is
 * f32x4.add, or i32x4.add to reduce integer sums before converting them.
 */
function reduce4(f: FunctionBuilder, s: Scratch, a: V128, b: V128, c: V128, d: V128, add: SimdOp = Simd.f32x4_add): void {
  const ab = s.v('r.ab'), cd = s.v('r.cd');
  const pair = (x: V128, y: V128, dst: V128) => {
    // (x0+x2, y0+y2, x1+x3, y1+y3)
    f.get(x).get(y).shuffle(lanes32([0, 4, 1, 5])).get(x).get(y).shuffle(lanes32([2, 6, 3, 7])).simd(add).set(dst);
  };
  pair(a, b, ab); pair(c, d, cd);
  f.get(ab).get(cd).shuffle(lanes32([0, 1, 4, 5])).get(ab).get(cd).shuffle(lanes32([2, 3, 6, 7])).simd(add);
}

/** i8x16.shuffle lanes selecting 32-bit lanes (0..3 of a, 4..7 of b). */
const lanes32 = (idx: number[]): number[] => idx.flatMap((i) => [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3]);

interface RowLoop {
  f: FunctionBuilder; s: Scratch;
  /** Row pointers: weights, split activations, their scales and sums (advanced once per loop step). */
  pw: I32; px: I32; pxs: I32; pxsum: I32;
  /** Byte offsets of this block from pw, from px, and from pxs / pxsum (a loop step runs several blocks). */
  wOff: number; xOff: number; sOff: number;
  /** The block's activations already in locals (h vectors, then l), when several rows share them. */
  xRegs?: readonly V128[];
  /** Accumulators: acc (scaled dot products), macc (K-quants' mins, subtracted), moff (32-blocks' offsets, added). */
  acc: V128; macc: V128; moff: F32;
  /** The frame's constants: L_SCALE in every lane, and 2^112 (halfAt's rebias). */
  lScale: V128; rebias: F32;
  /**
   * Stores lane 0 of `v` to this row's output slot (overwritten by the result later). TurboFan keeps
   * loads in program order but schedules the arithmetic on them late, so an unrolled super-block
   * would issue all its loads first and spill most of them; a store needs its value computed, so
   * one per sub-block bounds what is live (Q4_K: 376 xmm spill moves before, 25 after; about 2× faster).
   */
  fence(v: V128): void;
}

/** A kernel: asks for its constants (read into locals before the loops), returns its block's code. */
type BlockKernel = (c: Constants, f: FunctionBuilder, s: Scratch) => (l: RowLoop) => void;

/** A loop over a row's blocks `n` at a time: `body` gets one RowLoop per block of the step. */
interface StepPlan { n: number; body: (ls: RowLoop[]) => void }

/**
 * One block of each of four rows (ls[k], row pointer ls[k].pw), accumulated into `acc4` with
 * lane k = row k: the four rows' integer sums reduce across rows, so the scale work (conversions,
 * the f16 scales, the activation scale) runs once for four rows, and no row needs a horizontal sum.
 * Every operation after the (exact) integer sums is lane by lane, so a row's result does not
 * depend on which rows share its step: any row split over threads gives the same bits.
 */
type QuadStep = (ls: RowLoop[], acc4: V128) => void;

/** A kernel's loops: over one row's blocks `n` at a time, or over four rows' blocks one at a time. */
type KernelPlans = { plans: StepPlan[] } | { quad: QuadStep };

/**
 * The common frame. With a four-row step, rows i, i + q, i + 2q, i + 3q (q = ⌈rows/4⌉) run
 * together for i < q (a lane past the last row repeats row i and is not stored): rows a quarter
 * of the matrix apart, each in pages of its own — four neighbouring rows interleaved (612 bytes
 * apart for a Q8_0 row of 576) ran 2–3× slower from L3 or memory, as the hardware prefetchers
 * follow them poorly. Otherwise, for each row: zero the accumulators, run the plans' loops over
 * the row's blocks (blockSize values, blockBytes bytes each; each plan takes what the previous
 * ones left that fills its step), then store hsum(acc) − hsum(macc) + moff.
 */
function emitGgmlMatvec(m: ModuleBuilder, name: string, blockLog2: number, blockBytes: number, kernel: (frame: Frame) => KernelPlans): void {
  const f = m.function(name, [i32, i32, i32, i32, i32, i32, i32]);
  const [out, w, x16, xs, xsum, rows, cols] = f.params as I32[];
  const s = new Scratch(f), c = new Constants(m, f);
  const lScale = c.f32x4(L_SCALE), rebias = c.f32(2 ** 112);
  const r = f.local(i32), rowEnd = f.local(i32), rowBytes = f.local(i32);
  const pw = f.local(i32), px = f.local(i32), pxs = f.local(i32), pxsum = f.local(i32), po = f.local(i32);
  const acc = f.local(v128), macc = f.local(v128), moff = f.local(f32);
  const fence = (v: V128) => { f.get(po).get(v).simdLane(Simd.f32x4_extract_lane, 0).mem(Op.f32_store); };
  const plan = kernel({ c, f, s, fence });
  const values = 1 << blockLog2, scales = values / 32;
  const frame = { f, s, px, pxs, pxsum, acc, macc, moff, lScale, rebias, fence };
  /** The loop over blocks `n` at a time, advancing every row pointer in `pws` (the first one ends at rowEnd). */
  const steps = (pws: readonly I32[], n: number, body: (ls: RowLoop[]) => void) => f.block(() => f.loop(() => {
    f.get(pws[0]!).i32(n * blockBytes).op(Op.i32_add).get(rowEnd).op(Op.i32_gt_u).brIf(1);
    body(pws.flatMap((p) => Array.from({ length: n }, (_, j) => ({ ...frame, pw: p, wOff: j * blockBytes, xOff: 128 * scales * j, sOff: 4 * scales * j }))));
    for (const p of pws) f.inc(p, n * blockBytes);
    f.inc(px, 128 * scales * n).inc(pxs, 4 * scales * n).inc(pxsum, 4 * scales * n).br(0);
  }));
  const startRow = () => f.get(x16!).set(px).get(xs!).set(pxs).get(xsum!).set(pxsum).get(pw).get(rowBytes).op(Op.i32_add).set(rowEnd);
  f.get(cols!).i32(blockLog2).op(Op.i32_shr_u).i32(blockBytes).op(Op.i32_mul).set(rowBytes);
  if ('quad' in plan) {
    const q = f.local(i32), row = f.local(i32), pws = [pw, f.local(i32), f.local(i32), f.local(i32)];
    f.get(rows!).i32(3).op(Op.i32_add).i32(2).op(Op.i32_shr_u).set(q);
    /** Pushes row i + k·q, or row i where that is past the last row. */
    const laneRow = (k: number) => {
      f.get(r).get(q).i32(k).op(Op.i32_mul).op(Op.i32_add).tee(row).get(r).get(row).get(rows!).op(Op.i32_lt_u).op(Op.select);
    };
    f.forSteps(r, () => f.i32(0), q, 1, () => {
      f.get(out!).get(r).i32(2).op(Op.i32_shl).op(Op.i32_add).set(po);
      pws.forEach((p, k) => { laneRow(k); f.get(rowBytes).op(Op.i32_mul).get(w!).op(Op.i32_add).set(p); });
      f.v128i32(0, 0, 0, 0).set(acc);
      startRow();
      steps(pws, 1, (ls) => plan.quad(ls, acc));
      for (let k = 0; k < 4; k++) {
        f.get(r).get(q).i32(k).op(Op.i32_mul).op(Op.i32_add).tee(row).get(rows!).op(Op.i32_lt_u).if(() => {
          f.get(out!).get(row).i32(2).op(Op.i32_shl).op(Op.i32_add).get(acc).simdLane(Simd.f32x4_extract_lane, k).mem(Op.f32_store);
        });
      }
    });
    return;
  }
  f.get(w!).set(pw);
  f.forSteps(r, () => f.i32(0), rows!, 1, () => {
    f.get(out!).get(r).i32(2).op(Op.i32_shl).op(Op.i32_add).set(po);
    f.v128i32(0, 0, 0, 0).set(acc).v128i32(0, 0, 0, 0).set(macc).f32(0).set(moff);
    startRow();
    for (const { n, body } of plan.plans) steps([pw], n, body);
    f.get(po);
    hsum(f, acc); hsum(f, macc); f.op(Op.f32_sub).get(moff).op(Op.f32_add);
    f.mem(Op.f32_store);
    f.get(rowEnd).set(pw);
  });
}

/** What a kernel gets before the loops: its constants, the builder, scratch locals and the fence. */
interface Frame { c: Constants; f: FunctionBuilder; s: Scratch; fence(v: V128): void }

/** A kernel that handles one block per loop step. */
const oneByOne = (kernel: BlockKernel) => ({ c, f, s }: Frame): KernelPlans => {
  const block = kernel(c, f, s);
  return { plans: [{ n: 1, body: ([l]) => block(l!) }] };
};

/**
 * A 32-value block type: `dot` leaves the block's two integer dot products (h and l terms) in
 * isum / isumL; the f16 scale d is at dOff; values with an offset (d·q + m) have the f16 m at mOff.
 */
interface Block32 {
  dot(l: RowLoop, isum: V128, isumL: V128): void; dOff: number; mOff?: number;
  /** Values are d·(q − shift) with the dot products taken on q: Σ = d·(Σq·x − shift·Σx). */
  shift?: number;
}

/**
 * 32-value blocks, one block of each of four rows per loop step (QuadStep): the block's
 * activations are loaded once for the four rows, the rows' dot products are reduced across rows
 * (lanes = rows) and scaled by (d_0..3 · xs) in one multiply, the four f16 scales converted in
 * one go. Rows four at a time measured 1.07–1.16× one row four blocks at a time (Q5_0, Q8_0,
 * Q4_0, IQ4_NL; Q4_1 and Q5_1, which gather a second f16 per block, 0.99–1.02×).
 */
const fourRowsAtATime = (kernel: Block32Kernel) => ({ c, f, s, fence }: Frame): KernelPlans => {
  const b = kernel(c, f, s);
  const isum = s.v('isum'), isumL = s.v('isumL');
  const hs = [0, 1, 2, 3].map((j) => s.v(`b.h${j}`)), lsums = [0, 1, 2, 3].map((j) => s.v(`b.l${j}`));
  const halves = halvesConstants(c);
  const shift = b.shift ? c.f32x4(-b.shift) : null, dv = s.v('b.d');
  const xRegs = Array.from({ length: 8 }, (_, i) => s.v(`b.x${i}`));
  /** Pushes the f32 values of the four rows' f16s at `off`. */
  const loadHalves = (ls: RowLoop[], off: number) => {
    const v = s.v('b.hv');
    f.get(ls[0]!.pw).simdMem(Simd.v128_load16_splat, ls[0]!.wOff + off, 1).set(v);
    for (let j = 1; j < 4; j++) f.get(ls[j]!.pw).get(v).simdMemLane(Simd.v128_load16_lane, ls[j]!.wOff + off, 1, j).set(v);
    f.get(v); halvesToF32(f, halves);
  };
  return {
    quad: (ls, acc4) => {
      const l = ls[0]!;
      xRegs.forEach((v, i) => f.get(l.px).simdMem(Simd.v128_load, 16 * (i & 3) + 64 * (i >> 2)).set(v));
      ls.forEach((row, k) => {
        b.dot({ ...row, xRegs }, hs[k]!, lsums[k]!);
        if (k < 3) { fence(hs[k]!); fence(lsums[k]!); } // the next row's loads wait for this row's arithmetic
      });
      // acc4 += (h + l·L_SCALE) · d · xs (+ m · Σx, or − shift · d · Σx), lane by lane.
      f.get(acc4);
      reduceIntegerSums(l, hs, lsums, isum, isumL);
      loadHalves(ls, b.dOff); f.set(dv).get(dv).get(l.pxs).simdMem(Simd.v128_load32_splat, 0, 2);
      f.simd(Simd.f32x4_mul).simd(Simd.f32x4_mul).simd(Simd.f32x4_add);
      const xsum = () => f.get(l.pxsum).simdMem(Simd.v128_load32_splat, 0, 2);
      if (b.mOff !== undefined) { loadHalves(ls, b.mOff); xsum(); f.simd(Simd.f32x4_mul).simd(Simd.f32x4_add); }
      if (shift) { f.get(dv); xsum(); f.simd(Simd.f32x4_mul).get(shift).simd(Simd.f32x4_mul).simd(Simd.f32x4_add); }
      f.set(acc4);
    },
  };
};

/**
 * Pushes f32(Σh_j) + f32(Σl_j)·L_SCALE with lane j = unit j, for four units' integer h and l sums
 * (i32x4 locals): the sums are reduced across units as integers (exact), so the conversion and
 * the two terms' combination run once per four units instead of once per unit.
 */
function reduceIntegerSums(l: RowLoop, hs: readonly V128[], lsums: readonly V128[], isum: V128, isumL: V128): void {
  reduce4(l.f, l.s, hs[0]!, hs[1]!, hs[2]!, hs[3]!, Simd.i32x4_add); l.f.set(isum);
  reduce4(l.f, l.s, lsums[0]!, lsums[1]!, lsums[2]!, lsums[3]!, Simd.i32x4_add); l.f.set(isumL);
  combine(l, isum, isumL);
}

/** Pushes f32(h) + f32(l)·L_SCALE for two i32x4 values (locals). */
function combine(l: RowLoop, h: V128, lo: V128): void {
  l.f.get(h).simd(Simd.f32x4_convert_i32x4_s).get(lo).simd(Simd.f32x4_convert_i32x4_s).get(l.lScale).simd(Simd.f32x4_mul).simd(Simd.f32x4_add);
}

/** The four i16x8 quarters of two i8x16 locals (values 0..15 of lo, then 16..31 of hi). */
function quarters(f: FunctionBuilder, lo: V128, hi: V128, signed = true): (() => void)[] {
  const [el, eh] = signed ? [Simd.i16x8_extend_low_i8x16_s, Simd.i16x8_extend_high_i8x16_s] : [Simd.i16x8_extend_low_i8x16_u, Simd.i16x8_extend_high_i8x16_u];
  return [() => f.get(lo).simd(el), () => f.get(lo).simd(eh), () => f.get(hi).simd(el), () => f.get(hi).simd(eh)];
}

/**
 * Nibbles of the 16 bytes at pw + off as bytes: lo = low nibbles (values 0..15), hi = high nibbles
 * (16..31). The shift is i16x8's: wasm's i8x16.shr_u costs V8 a shift plus a rebuilt mask.
 */
function nibbles(l: RowLoop, off: number, low4: V128, lo: V128, hi: V128): void {
  const { f, s } = l, v = s.v('nib.v');
  f.get(l.pw).simdMem(Simd.v128_load, l.wOff + off).set(v);
  f.get(v).get(low4).simd(Simd.v128_and).set(lo);
  f.get(v).i32(4).simd(Simd.i16x8_shr_u).get(low4).simd(Simd.v128_and).set(hi);
}

/**
 * The 32 nibbles of the 16 bytes at pw + off as four i16x8 pushers, values 0..7, 8..15, 16..23,
 * 24..31 (low nibbles of bytes 0..15, then high nibbles): two zero-extending loads of 8 bytes, then
 * a mask or a shift each — no byte-to-word widening left to do. `low4` holds 0x000f per i16 lane.
 */
function nibbleWords(l: RowLoop, off: number, low4: V128, t: readonly [V128, V128]): (() => void)[] {
  const { f } = l;
  t.forEach((v, k) => f.get(l.pw).simdMem(Simd.v128_load8x8_u, l.wOff + off + 8 * k).set(v));
  return [
    () => f.get(t[0]).get(low4).simd(Simd.v128_and), () => f.get(t[1]).get(low4).simd(Simd.v128_and),
    () => f.get(t[0]).i32(4).simd(Simd.i16x8_shr_u), () => f.get(t[1]).i32(4).simd(Simd.i16x8_shr_u),
  ];
}

type Block32Kernel = (c: Constants, f: FunctionBuilder, s: Scratch) => Block32;

const q8_0: Block32Kernel = (_c, f) => ({
  dOff: 0,
  dot: (l, isum, isumL) => dotI16(f, l.s, isum, isumL, l.px, l.xOff, 0, [0, 1, 2, 3].map((g) => () => f.get(l.pw).simdMem(Simd.v128_load8x8_s, l.wOff + 2 + 8 * g)), l.xRegs),
});

/**
 * Q4_0 (q − 8) and Q4_1 (q, plus an offset): 16 bytes of nibbles after the scale(s), unpacked
 * straight into i16 lanes (nibbleWords); Q4_0's −8 is taken out once per block as −8·d·Σx.
 */
const fourBit = (type: number): Block32Kernel => (c, f, s) => {
  const one = type === GGML.Q4_1, qOff = one ? 4 : 2;
  const low4 = c.i16(0x0f), t = [s.v('t0'), s.v('t1')] as const;
  return {
    dOff: 0, mOff: one ? 2 : undefined, shift: one ? undefined : 8,
    dot: (l, isum, isumL) => dotI16(f, s, isum, isumL, l.px, l.xOff, 0, nibbleWords(l, qOff, low4, t), l.xRegs),
  };
};

/** IQ4_NL: nibbles index a 16-entry code book (a byte swizzle), then widen. */
const iq4nl: Block32Kernel = (c, f, s) => {
  const low4 = c.i8(0x0f), book = c.bytes(IQ4_NL_LEVELS), lo = s.v('lo'), hi = s.v('hi');
  return {
    dOff: 0,
    dot: (l, isum, isumL) => {
      nibbles(l, 2, low4, lo, hi);
      for (const v of [lo, hi]) f.get(book).get(v).simd(Simd.i8x16_swizzle).set(v);
      dotI16(f, s, isum, isumL, l.px, l.xOff, 0, quarters(f, lo, hi), l.xRegs);
    },
  };
};

/**
 * Q5_0 (q − 16) and Q5_1 (q, plus an offset): u32 of 5th bits, then 16 bytes of nibbles. The
 * nibbles go straight to i16 lanes (nibbleWords) and each qh byte adds its eight 5th-bit words
 * from a table in low memory (low-memory.ts): one load and one add per 8 values.
 */
const fiveBit = (type: number): Block32Kernel => (c, f, s) => {
  const one = type === GGML.Q5_1, hOff = one ? 4 : 2;
  const low4 = c.i16(0x0f), t = [s.v('t0'), s.v('t1')] as const;
  return {
    // Q5_1 takes its dot products on q − 16 too: d·q + m = d·(q − 16) + m + 16·d.
    dOff: 0, mOff: one ? 2 : undefined, shift: one ? -16 : undefined,
    dot: (l, isum, isumL) => {
      const words = nibbleWords(l, hOff + 4, low4, t).map((push, k) => () => {
        push();
        f.get(l.pw).mem(Op.i32_load8_u, l.wOff + hOff + k, 0).i32(4).op(Op.i32_shl).simdMem(Simd.v128_load, FIVE_BIT_WORDS_ADDR, 4).simd(Simd.i16x8_add);
      });
      dotI16(f, s, isum, isumL, l.px, l.xOff, 0, words, l.xRegs);
    },
  };
};

/**
 * Q4_K / Q5_K super-blocks (256 values, 8 sub-blocks of 32 with 6-bit scales and mins): the 12
 * scale bytes unpack to 8 scales and 8 mins with four u32 operations each, the sub-blocks' integer
 * dot products are reduced four at a time into one vector and scaled by (d·sc_j·xs_j) in one
 * multiply; the mins go to macc as dmin·Σ_j m_j·xsum_j. Q4_K's nibbles go straight to i16 lanes
 * (nibbleWords); Q5_K adds its 5th bits in byte lanes first, then widens.
 */
const emitK45 = (type: number): BlockKernel => (c, f, s) => {
  const five = type === GGML.Q5_K, qOff = five ? 48 : 16;
  const low4 = five ? c.i8(0x0f) : c.i16(0x0f), bitJ = five ? [0, 1, 2, 3, 4, 5, 6, 7].map((j) => c.i8(1 << j)) : [];
  const w0 = s.i('k.w0'), w1 = s.i('k.w1'), w2 = s.i('k.w2'), sm = s.v('k.sm'), d = s.v('k.d');
  const sc = [s.v('k.sc0'), s.v('k.sc1')];
  const isum = s.v('k.is'), isumL = s.v('k.il');
  const hs = [0, 1, 2, 3].map((j) => s.v(`k.sh${j}`)), lsums = [0, 1, 2, 3].map((j) => s.v(`k.sl${j}`));
  const v0 = s.v('k.v0'), v1 = s.v('k.v1'), a0 = s.v('k.a0'), a1 = s.v('k.a1'), hv0 = s.v('k.h0'), hv1 = s.v('k.h1');
  const t = [s.v('k.t0'), s.v('k.t1'), s.v('k.t2'), s.v('k.t3')];
  const lanes = (v: V128, half: 'low' | 'high', quarter: 'low' | 'high') => {
    f.get(v).simd(half === 'low' ? Simd.i16x8_extend_low_i8x16_u : Simd.i16x8_extend_high_i8x16_u)
      .simd(quarter === 'low' ? Simd.i32x4_extend_low_i16x8_u : Simd.i32x4_extend_high_i16x8_u).simd(Simd.f32x4_convert_i32x4_s);
  };
  return (l) => {
    const { pw } = l, wo = l.wOff;
    f.get(pw).mem(Op.i32_load, wo + 4, 0).set(w0).get(pw).mem(Op.i32_load, wo + 8, 0).set(w1).get(pw).mem(Op.i32_load, wo + 12, 0).set(w2);
    // bytes 0..3: scales 0..3, 4..7: scales 4..7, 8..11: mins 0..3, 12..15: mins 4..7
    f.get(w0).i32(0x3f3f3f3f).op(Op.i32_and).simd(Simd.i32x4_splat);
    f.get(w2).i32(0x0f0f0f0f).op(Op.i32_and).get(w0).i32(2).op(Op.i32_shr_u).i32(0x30303030).op(Op.i32_and).op(Op.i32_or).simdLane(Simd.i32x4_replace_lane, 1);
    f.get(w1).i32(0x3f3f3f3f).op(Op.i32_and).simdLane(Simd.i32x4_replace_lane, 2);
    f.get(w2).i32(4).op(Op.i32_shr_u).i32(0x0f0f0f0f).op(Op.i32_and).get(w1).i32(2).op(Op.i32_shr_u).i32(0x30303030).op(Op.i32_and).op(Op.i32_or)
      .simdLane(Simd.i32x4_replace_lane, 3).set(sm);
    halfSplat(f, pw, wo, d, l.rebias);
    // Scale vectors d·sc_j·xs_j for sub-blocks 0..3 and 4..7.
    (['low', 'high'] as const).forEach((q, k) => {
      lanes(sm, 'low', q); f.get(d).simd(Simd.f32x4_mul).get(l.pxs).simdMem(Simd.v128_load, l.sOff + 16 * k).simd(Simd.f32x4_mul).set(sc[k]!);
    });
    // macc += dmin · (m_0..3·xsum_0..3 + m_4..7·xsum_4..7): values are d·sc·q − dmin·m.
    f.get(l.macc);
    lanes(sm, 'high', 'low'); f.get(l.pxsum).simdMem(Simd.v128_load, l.sOff).simd(Simd.f32x4_mul);
    lanes(sm, 'high', 'high'); f.get(l.pxsum).simdMem(Simd.v128_load, l.sOff + 16).simd(Simd.f32x4_mul).simd(Simd.f32x4_add);
    halfAt(f, pw, wo + 2, l.rebias); f.simd(Simd.f32x4_splat).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(l.macc);

    // Each sub-block's two integer dot products become one float vector at once (few live registers).
    if (five) f.get(pw).simdMem(Simd.v128_load, wo + 16).set(hv0).get(pw).simdMem(Simd.v128_load, wo + 32).set(hv1);
    for (let half = 0; half < 2; half++) {
      for (let pair = 0; pair < 2; pair++) {
        const i = 2 * half + pair; // qs bytes 32i..32i+31 hold sub-blocks 2i (low nibbles) and 2i+1 (high)
        if (five) f.get(pw).simdMem(Simd.v128_load, wo + qOff + 32 * i).set(v0).get(pw).simdMem(Simd.v128_load, wo + qOff + 32 * i + 16).set(v1);
        else t.forEach((v, k) => f.get(pw).simdMem(Simd.v128_load8x8_u, wo + qOff + 32 * i + 8 * k).set(v));
        for (let hiNib = 0; hiNib < 2; hiNib++) {
          const j = 2 * i + hiNib;
          let words: (() => void)[];
          if (five) {
            for (const [v, a, hv] of [[v0, a0, hv0], [v1, a1, hv1]] as const) {
              f.get(v);
              if (hiNib) f.i32(4).simd(Simd.i16x8_shr_u);
              f.get(low4).simd(Simd.v128_and);
              // bit j of qh[l] is the 5th bit: move it to bit 4 within each byte.
              f.get(hv).get(bitJ[j]!).simd(Simd.v128_and);
              if (j < 4) f.i32(4 - j).simd(Simd.i16x8_shl); else if (j > 4) f.i32(j - 4).simd(Simd.i16x8_shr_u);
              f.simd(Simd.v128_or).set(a);
            }
            words = quarters(f, a0, a1, false);
          } else {
            words = t.map((v) => hiNib ? () => f.get(v).i32(4).simd(Simd.i16x8_shr_u) : () => f.get(v).get(low4).simd(Simd.v128_and));
          }
          dotI16(f, s, hs[j % 4]!, lsums[j % 4]!, l.px, l.xOff, 32 * j, words);
          l.fence(hs[j % 4]!); l.fence(lsums[j % 4]!);
        }
      }
      f.get(l.acc);
      reduceIntegerSums(l, hs, lsums, isum, isumL);
      f.get(sc[half]!).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(l.acc);
    }
  };
};

/**
 * Q6_K super-blocks (256 values, 16 sub-blocks of 16 with int8 scales): 4 low bits from ql, 2 high
 * bits from qh, minus 32; each sub-block's integer dot product, reduced four at a time, is scaled
 * by d·sc_u·xs (xs per 32 values, so each xs serves two sub-blocks).
 */
const emitQ6K: BlockKernel = (c, f, s) => {
  const low4 = c.i8(0x0f), high2 = c.i8(0x30), off32 = c.i8(32);
  const d = s.v('q6.d'), scv = s.v('q6.sc'), a = s.v('q6.a'), cc = s.v('q6.c'), h = s.v('q6.h'), q = s.v('q6.q');
  const sf = [s.v('q6.sf0'), s.v('q6.sf1')];
  const isum = s.v('q6.is'), isumL = s.v('q6.il'), comb = [0, 1, 2, 3].map((u) => s.v(`q6.c${u}`));
  return (l) => {
    const { pw } = l, wo = l.wOff;
    halfSplat(f, pw, wo + 208, d, l.rebias);
    f.get(pw).simdMem(Simd.v128_load, wo + 192).set(scv);
    for (let n = 0; n < 2; n++) {
      // float scales sc[8n .. 8n+3] and sc[8n+4 .. 8n+7]
      for (let t = 0; t < 2; t++) {
        f.get(scv).simd(n === 0 ? Simd.i16x8_extend_low_i8x16_s : Simd.i16x8_extend_high_i8x16_s)
          .simd(t === 0 ? Simd.i32x4_extend_low_i16x8_s : Simd.i32x4_extend_high_i16x8_s).simd(Simd.f32x4_convert_i32x4_s).set(sf[t]!);
      }
      for (let k = 0; k < 2; k++) {
        // ql[l], ql[l+32] and qh[l] for l = 16k .. 16k+15 of this half give units (qi, k), qi = 0..3:
        // values 128n + 32qi + 16k .. +15, scale sc[8n + 2qi + k], activation block 4n + qi.
        f.get(pw).simdMem(Simd.v128_load, wo + 64 * n + 16 * k).set(a);
        f.get(pw).simdMem(Simd.v128_load, wo + 64 * n + 32 + 16 * k).set(cc);
        f.get(pw).simdMem(Simd.v128_load, wo + 128 + 32 * n + 16 * k).set(h);
        for (let qi = 0; qi < 4; qi++) {
          // low 4 bits: a&15, c&15, a>>4, c>>4; high 2 bits: bits 2qi..2qi+1 of h, moved to bits 4..5.
          f.get(qi % 2 === 0 ? a : cc);
          if (qi >= 2) f.i32(4).simd(Simd.i16x8_shr_u);
          f.get(low4).simd(Simd.v128_and);
          f.get(h);
          if (qi === 0) f.i32(4).simd(Simd.i16x8_shl); else if (qi === 1) f.i32(2).simd(Simd.i16x8_shl); else if (qi === 3) f.i32(2).simd(Simd.i16x8_shr_u);
          f.get(high2).simd(Simd.v128_and).simd(Simd.v128_or);
          f.get(off32).simd(Simd.i8x16_sub).set(q);
          const el = Simd.i16x8_extend_low_i8x16_s, eh = Simd.i16x8_extend_high_i8x16_s;
          dotI16(f, s, isum, isumL, l.px, l.xOff, 128 * n + 32 * qi + 16 * k, [() => f.get(q).simd(el), () => f.get(q).simd(eh)]);
          combine(l, isum, isumL); f.set(comb[qi]!);
          l.fence(comb[qi]!);
        }
        f.get(l.acc);
        reduce4(f, s, comb[0]!, comb[1]!, comb[2]!, comb[3]!);
        f.get(sf[0]!).get(sf[1]!).shuffle(lanes32([k, k + 2, 4 + k, 6 + k])).get(d).simd(Simd.f32x4_mul);
        f.get(l.pxs).simdMem(Simd.v128_load, l.sOff + 16 * n).simd(Simd.f32x4_mul);
        f.simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(l.acc);
      }
    }
  };
};

/** Adds every ggml block kernel to the module. */
export function emitGgmlKernels(m: ModuleBuilder): void {
  m.data(FIVE_BIT_WORDS_ADDR, fiveBitWords());
  const b32 = (type: number, blockBytes: number, k: Block32Kernel) => emitGgmlMatvec(m, GGML_WASM_KERNELS[type]!, 5, blockBytes, fourRowsAtATime(k));
  const b256 = (type: number, blockBytes: number, k: BlockKernel) => emitGgmlMatvec(m, GGML_WASM_KERNELS[type]!, 8, blockBytes, oneByOne(k));
  b32(GGML.Q8_0, 34, q8_0);
  b32(GGML.Q4_0, 18, fourBit(GGML.Q4_0));
  b32(GGML.Q4_1, 20, fourBit(GGML.Q4_1));
  b32(GGML.IQ4_NL, 18, iq4nl);
  b32(GGML.Q5_0, 22, fiveBit(GGML.Q5_0));
  b32(GGML.Q5_1, 24, fiveBit(GGML.Q5_1));
  b256(GGML.Q4_K, 144, emitK45(GGML.Q4_K));
  b256(GGML.Q5_K, 176, emitK45(GGML.Q5_K));
  b256(GGML.Q6_K, 210, emitQ6K);
}
