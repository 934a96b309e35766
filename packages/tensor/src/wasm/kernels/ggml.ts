// Matvecs on ggml's quantized blocks (layouts in ../../quant/ggml-dequant.ts). Every kernel has
// the signature (out, w, x16, xs, xsum, rows, cols): w is row 0's blocks; x16 the activations as
// two int16 terms per value, x ≈ xs[b]·(h + l/65534) (kernels/split.ts, as quant/weights.ts splitActivations16: 128
// bytes per block of 32, the 32 h then the 32 l); xsum[b] the float sum of x over block b (for the
// types whose values carry an offset, w = d·q − m). One int16 term alone (error 1/65534 of the
// block's largest |x|) moved the shared fixtures' logits by 1–2e-3; two terms leave ~1e-9, so the
// result is float accuracy. The quants are unpacked to int16 lanes once and multiplied with
// i32x4.dot_i16x8_s against both terms, so each 32-value dot product is exact integer arithmetic;
// one float multiply-add per block (or per 4 sub-blocks) applies the scales.
import { FunctionBuilder, ModuleBuilder, Op, Simd } from '../emitter.js';
import { Scratch, hsum, i32, v128, type I32, type V128 } from './common.js';
import { GGML } from '../../quant/ggml-types.js';
import { IQ4_NL_LEVELS } from '../../quant/ggml-dequant.js';

/** Export name of the wasm kernel for each ggml type that has one. */
export const GGML_WASM_KERNELS: Readonly<Record<number, string>> = Object.freeze({
  [GGML.Q8_0]: 'matvecQ8_0', [GGML.Q4_0]: 'matvecQ4_0', [GGML.Q4_1]: 'matvecQ4_1', [GGML.Q5_0]: 'matvecQ5_0',
  [GGML.Q5_1]: 'matvecQ5_1', [GGML.IQ4_NL]: 'matvecIQ4_NL', [GGML.Q4_K]: 'matvecQ4_K', [GGML.Q5_K]: 'matvecQ5_K',
  [GGML.Q6_K]: 'matvecQ6_K',
});

// Constants as v128.const (V8 materializes those without the scalar → vector splat).
const splat8 = (f: FunctionBuilder, b: number) => f.v128bytes(Array(16).fill(b) as number[]);
const f32Bits = (x: number): number => new Int32Array(new Float32Array([x]).buffer)[0]!;
const splatConstF = (f: FunctionBuilder, x: number) => { const b = f32Bits(x); return f.v128i32(b, b, b, b); };

/** Pushes the f32 value of the IEEE half at address p + offset (sign-extend, shift, mask, rebias by 2^112). */
function halfAt(f: FunctionBuilder, p: I32, offset: number): void {
  f.get(p).mem(Op.i32_load16_s, offset, 1).i32(13).op(Op.i32_shl).i32(0x8fffe000 | 0).op(Op.i32_and)
    .op(Op.f32_reinterpret_i32).f32(2 ** 112).op(Op.f32_mul);
}

/** Residual term weight: x ≈ xs·(h + l·L_SCALE). */
export const L_SCALE = 1 / 65534;

/** Byte offset of value v's h term in the split activations (its l term is 64 bytes further). */
const xAt = (v: number): number => 128 * (v >> 5) + 2 * (v & 31);

/**
 * dst = Σ_g dot(w_g, h) and dstL = Σ_g dot(w_g, l) over the activations of values v0 + 8g ..:
 * `weights[g]` pushes i16x8 lanes of values v0+8g..v0+8g+7 (unpacked once, used for both terms).
 */
function dotI16(f: FunctionBuilder, s: Scratch, dst: V128, dstL: V128, px: I32, v0: number, weights: readonly (() => void)[]): void {
  const wv = s.v('dot.w');
  weights.forEach((push, g) => {
    push(); f.set(wv);
    const at = xAt(v0 + 8 * g);
    f.get(wv).get(px).simdMem(Simd.v128_load, at).simd(Simd.i32x4_dot_i16x8_s);
    if (g > 0) f.get(dst).simd(Simd.i32x4_add);
    f.set(dst);
    f.get(wv).get(px).simdMem(Simd.v128_load, at + 64).simd(Simd.i32x4_dot_i16x8_s);
    if (g > 0) f.get(dstL).simd(Simd.i32x4_add);
    f.set(dstL);
  });
}

/** Pushes f32(h) + f32(l)·L_SCALE for two i32x4 values (locals). */
function combine(f: FunctionBuilder, h: V128, l: V128): void {
  f.get(h).simd(Simd.f32x4_convert_i32x4_s).get(l).simd(Simd.f32x4_convert_i32x4_s);
  splatConstF(f, L_SCALE); f.simd(Simd.f32x4_mul).simd(Simd.f32x4_add);
}

/** Pushes (Σa, Σb, Σc, Σd) of four f32x4 locals (a transposing pairwise add). */
function reduce4(f: FunctionBuilder, s: Scratch, a: V128, b: V128, c: V128, d: V128): void {
  const ab = s.v('r.ab'), cd = s.v('r.cd');
  const lanes = (idx: number[]) => idx.flatMap((i) => [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3]);
  const pair = (x: V128, y: V128, dst: V128) => {
    f.get(x).get(y).shuffle(lanes([0, 4, 2, 6])).get(x).get(y).shuffle(lanes([1, 5, 3, 7])).simd(Simd.f32x4_add).set(dst);
  };
  pair(a, b, ab); pair(c, d, cd);
  f.get(ab).get(cd).shuffle(lanes([0, 1, 4, 5])).get(ab).get(cd).shuffle(lanes([2, 3, 6, 7])).simd(Simd.f32x4_add);
}

/** i8x16.shuffle lanes selecting 32-bit lanes (0..3 of a, 4..7 of b). */
const lanes32 = (idx: number[]): number[] => idx.flatMap((i) => [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3]);

interface RowLoop {
  f: FunctionBuilder; s: Scratch;
  /** Current block's address, and the activations' addresses for this block. */
  pw: I32; px: I32; pxs: I32; pxsum: I32;
  /** Float accumulators: acc (scaled dot products) and macc (offset terms, subtracted at the end). */
  acc: V128; macc: V128;
  /**
   * Stores lane 0 of `v` to this row's output slot (overwritten by the result later). TurboFan keeps
   * loads in program order but schedules the arithmetic on them late, so an unrolled super-block
   * would issue all its loads first and spill most of them; a store needs its value computed, so
   * one per sub-block bounds what is live (Q4_K: 376 xmm spill moves before, 25 after; about 2× faster).
   */
  fence(v: V128): void;
}

/**
 * The common frame: for each row, zero the accumulators, run `block` over the row's blocks
 * (blockSize values, blockBytes bytes each), store hsum(acc) − hsum(macc).
 */
function emitGgmlMatvec(m: ModuleBuilder, name: string, blockLog2: number, blockBytes: number, block: (l: RowLoop) => void): void {
  const f = m.function(name, [i32, i32, i32, i32, i32, i32, i32]);
  const [out, w, x16, xs, xsum, rows, cols] = f.params as I32[];
  const s = new Scratch(f);
  const r = f.local(i32), b = f.local(i32), nBlocks = f.local(i32), rowBytes = f.local(i32);
  const pw = f.local(i32), px = f.local(i32), pxs = f.local(i32), pxsum = f.local(i32);
  const acc = f.local(v128), macc = f.local(v128);
  f.get(cols!).i32(blockLog2).op(Op.i32_shr_u).set(nBlocks);
  f.get(nBlocks).i32(blockBytes).op(Op.i32_mul).set(rowBytes);
  f.get(w!).set(pw);
  const po = f.local(i32);
  const fence = (v: V128) => { f.get(po).get(v).simdLane(Simd.f32x4_extract_lane, 0).mem(Op.f32_store); };
  f.forSteps(r, () => f.i32(0), rows!, 1, () => {
    f.get(out!).get(r).i32(2).op(Op.i32_shl).op(Op.i32_add).set(po);
    f.v128i32(0, 0, 0, 0).set(acc).v128i32(0, 0, 0, 0).set(macc);
    f.get(x16!).set(px).get(xs!).set(pxs).get(xsum!).set(pxsum);
    f.forSteps(b, () => f.i32(0), nBlocks, 1, () => {
      block({ f, s, pw, px, pxs, pxsum, acc, macc, fence });
      const values = 1 << blockLog2;
      f.inc(pw, blockBytes).inc(px, 4 * values).inc(pxs, values / 8).inc(pxsum, values / 8);
    });
    f.get(po);
    hsum(f, acc); hsum(f, macc); f.op(Op.f32_sub);
    f.mem(Op.f32_store);
  });
}

/** acc += (h + l·L_SCALE) · (d · xs[block]) for a 32-value block whose f16 scale is at pw + dOff. */
function scaleInto(l: RowLoop, isum: V128, isumL: V128, dOff: number): void {
  const { f } = l;
  f.get(l.acc); combine(f, isum, isumL);
  halfAt(f, l.pw, dOff); f.get(l.pxs).mem(Op.f32_load).op(Op.f32_mul).simd(Simd.f32x4_splat);
  f.simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(l.acc);
}

/** macc += m · xsum[block] (lane 0) for the f16 offset at pw + mOff (values are d·q + m: subtract −m). */
function offsetInto(l: RowLoop, mOff: number): void {
  const { f } = l;
  // macc collects −m·Σx so that out = hsum(acc) − hsum(macc) adds m·Σx.
  f.get(l.macc);
  halfAt(f, l.pw, mOff); f.op(Op.f32_neg).get(l.pxsum).mem(Op.f32_load).op(Op.f32_mul).simd(Simd.f32x4_splat);
  f.v128i32(-1, 0, 0, 0).simd(Simd.v128_and); // lane 0 only
  f.simd(Simd.f32x4_add).set(l.macc);
}

/** The four i16x8 quarters of two i8x16 locals (values 0..15 of lo, then 16..31 of hi). */
function quarters(f: FunctionBuilder, lo: V128, hi: V128, signed = true): (() => void)[] {
  const [el, eh] = signed ? [Simd.i16x8_extend_low_i8x16_s, Simd.i16x8_extend_high_i8x16_s] : [Simd.i16x8_extend_low_i8x16_u, Simd.i16x8_extend_high_i8x16_u];
  return [() => f.get(lo).simd(el), () => f.get(lo).simd(eh), () => f.get(hi).simd(el), () => f.get(hi).simd(eh)];
}

/** Nibbles of the 16 bytes at pw + off: lo = low nibbles (values 0..15), hi = high nibbles (16..31). */
function nibbles(l: RowLoop, off: number, lo: V128, hi: V128): void {
  const { f, s } = l, v = s.v('nib.v');
  f.get(l.pw).simdMem(Simd.v128_load, off).set(v);
  f.get(v); splat8(f, 0x0f); f.simd(Simd.v128_and).set(lo);
  f.get(v).i32(4).simd(Simd.i8x16_shr_u).set(hi);
}

/** Bytes 0xFF where bit i of the u32 at pw + off is set: lanes 0..15 → lo (bits 0..15), hi (bits 16..31). */
function bitMasks(l: RowLoop, off: number, lo: V128, hi: V128): void {
  const { f, s } = l, h = s.v('bits.h');
  const bits = [1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128];
  f.get(l.pw).mem(Op.i32_load, off, 0).simd(Simd.i32x4_splat).set(h);
  const spread = (b0: number, dst: V128) => {
    const sel = [...Array(8).fill(b0), ...Array(8).fill(b0 + 1)] as number[];
    f.get(h).get(h).shuffle(sel).v128bytes(bits).simd(Simd.v128_and).v128bytes(bits).simd(Simd.i8x16_eq).set(dst);
  };
  spread(0, lo); spread(2, hi);
}

function emitQ8_0(m: ModuleBuilder): void {
  emitGgmlMatvec(m, GGML_WASM_KERNELS[GGML.Q8_0]!, 5, 34, (l) => {
    const isum = l.s.v('isum'), isumL = l.s.v('isumL');
    dotI16(l.f, l.s, isum, isumL, l.px, 0, [0, 1, 2, 3].map((g) => () => l.f.get(l.pw).simdMem(Simd.v128_load8x8_s, 2 + 8 * g)));
    scaleInto(l, isum, isumL, 0);
  });
}

/** Q4_0 (q − 8), IQ4_NL (code book) and Q4_1 (q, plus an offset): 16 bytes of nibbles after the scale(s). */
function emit4bit(m: ModuleBuilder, type: number): void {
  const qOff = type === GGML.Q4_1 ? 4 : 2;
  emitGgmlMatvec(m, GGML_WASM_KERNELS[type]!, 5, type === GGML.Q4_1 ? 20 : 18, (l) => {
    const { f, s } = l, lo = s.v('lo'), hi = s.v('hi'), isum = s.v('isum'), isumL = s.v('isumL');
    nibbles(l, qOff, lo, hi);
    if (type === GGML.Q4_0) {
      for (const v of [lo, hi]) { f.get(v); splat8(f, 8); f.simd(Simd.i8x16_sub).set(v); }
    } else if (type === GGML.IQ4_NL) {
      for (const v of [lo, hi]) f.v128bytes(IQ4_NL_LEVELS).get(v).simd(Simd.i8x16_swizzle).set(v);
    }
    dotI16(f, s, isum, isumL, l.px, 0, quarters(f, lo, hi, type !== GGML.Q4_1));
    scaleInto(l, isum, isumL, 0);
    if (type === GGML.Q4_1) offsetInto(l, 2);
  });
}

/** Q5_0 (q − 16) and Q5_1 (q, plus an offset): u32 of 5th bits, then 16 bytes of nibbles. */
function emit5bit(m: ModuleBuilder, type: number): void {
  const one = type === GGML.Q5_1, hOff = one ? 4 : 2;
  emitGgmlMatvec(m, GGML_WASM_KERNELS[type]!, 5, one ? 24 : 22, (l) => {
    const { f, s } = l, lo = s.v('lo'), hi = s.v('hi'), ml = s.v('ml'), mh = s.v('mh'), isum = s.v('isum'), isumL = s.v('isumL');
    nibbles(l, hOff + 4, lo, hi);
    bitMasks(l, hOff, ml, mh);
    for (const [v, mk] of [[lo, ml], [hi, mh]] as const) {
      // Q5_1: q = nibble | 16·bit. Q5_0: q − 16 = nibble − 16·(1 − bit) = nibble − (16 & ~mask).
      if (one) { f.get(v).get(mk); splat8(f, 0x10); f.simd(Simd.v128_and).simd(Simd.v128_or).set(v); }
      else { f.get(v); splat8(f, 0x10); f.get(mk).simd(Simd.v128_andnot).simd(Simd.i8x16_sub).set(v); }
    }
    dotI16(f, s, isum, isumL, l.px, 0, quarters(f, lo, hi, !one));
    scaleInto(l, isum, isumL, 0);
    if (one) offsetInto(l, 2);
  });
}

/**
 * Q4_K / Q5_K super-blocks (256 values, 8 sub-blocks of 32 with 6-bit scales and mins): the 12
 * scale bytes unpack to 8 scales and 8 mins with four u32 operations each, the sub-blocks' integer
 * dot products are reduced four at a time into one vector and scaled by (d·sc_j·xs_j) in one
 * multiply; the mins go to macc as dmin·Σ_j m_j·xsum_j.
 */
function emitK45(m: ModuleBuilder, type: number): void {
  const five = type === GGML.Q5_K, qOff = five ? 48 : 16;
  emitGgmlMatvec(m, GGML_WASM_KERNELS[type]!, 8, five ? 176 : 144, (l) => {
    const { f, s } = l;
    const w0 = s.i('k.w0'), w1 = s.i('k.w1'), w2 = s.i('k.w2'), sm = s.v('k.sm'), d = s.v('k.d');
    const sc = [s.v('k.sc0'), s.v('k.sc1')];
    f.get(l.pw).mem(Op.i32_load, 4, 0).set(w0).get(l.pw).mem(Op.i32_load, 8, 0).set(w1).get(l.pw).mem(Op.i32_load, 12, 0).set(w2);
    // bytes 0..3: scales 0..3, 4..7: scales 4..7, 8..11: mins 0..3, 12..15: mins 4..7
    f.get(w0).i32(0x3f3f3f3f).op(Op.i32_and).simd(Simd.i32x4_splat);
    f.get(w2).i32(0x0f0f0f0f).op(Op.i32_and).get(w0).i32(2).op(Op.i32_shr_u).i32(0x30303030).op(Op.i32_and).op(Op.i32_or).simdLane(Simd.i32x4_replace_lane, 1);
    f.get(w1).i32(0x3f3f3f3f).op(Op.i32_and).simdLane(Simd.i32x4_replace_lane, 2);
    f.get(w2).i32(4).op(Op.i32_shr_u).i32(0x0f0f0f0f).op(Op.i32_and).get(w1).i32(2).op(Op.i32_shr_u).i32(0x30303030).op(Op.i32_and).op(Op.i32_or)
      .simdLane(Simd.i32x4_replace_lane, 3).set(sm);
    halfAt(f, l.pw, 0); f.simd(Simd.f32x4_splat).set(d);
    const lanes = (v: V128, half: 'low' | 'high', quarter: 'low' | 'high') => {
      f.get(v).simd(half === 'low' ? Simd.i16x8_extend_low_i8x16_u : Simd.i16x8_extend_high_i8x16_u)
        .simd(quarter === 'low' ? Simd.i32x4_extend_low_i16x8_u : Simd.i32x4_extend_high_i16x8_u).simd(Simd.f32x4_convert_i32x4_s);
    };
    // Scale vectors d·sc_j·xs_j for sub-blocks 0..3 and 4..7.
    (['low', 'high'] as const).forEach((q, k) => {
      lanes(sm, 'low', q); f.get(d).simd(Simd.f32x4_mul).get(l.pxs).simdMem(Simd.v128_load, 16 * k).simd(Simd.f32x4_mul).set(sc[k]!);
    });
    // macc += dmin · (m_0..3·xsum_0..3 + m_4..7·xsum_4..7): values are d·sc·q − dmin·m.
    f.get(l.macc);
    lanes(sm, 'high', 'low'); f.get(l.pxsum).simdMem(Simd.v128_load, 0).simd(Simd.f32x4_mul);
    lanes(sm, 'high', 'high'); f.get(l.pxsum).simdMem(Simd.v128_load, 16).simd(Simd.f32x4_mul).simd(Simd.f32x4_add);
    halfAt(f, l.pw, 2); f.simd(Simd.f32x4_splat).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(l.macc);

    // Each sub-block's two integer dot products become one float vector at once (few live registers).
    const isum = s.v('k.is'), isumL = s.v('k.il'), comb = [0, 1, 2, 3].map((j) => s.v(`k.c${j}`));
    const v0 = s.v('k.v0'), v1 = s.v('k.v1'), a0 = s.v('k.a0'), a1 = s.v('k.a1'), hv0 = s.v('k.h0'), hv1 = s.v('k.h1');
    if (five) f.get(l.pw).simdMem(Simd.v128_load, 16).set(hv0).get(l.pw).simdMem(Simd.v128_load, 32).set(hv1);
    for (let half = 0; half < 2; half++) {
      for (let pair = 0; pair < 2; pair++) {
        const i = 2 * half + pair; // qs bytes 32i..32i+31 hold sub-blocks 2i (low nibbles) and 2i+1 (high)
        f.get(l.pw).simdMem(Simd.v128_load, qOff + 32 * i).set(v0).get(l.pw).simdMem(Simd.v128_load, qOff + 32 * i + 16).set(v1);
        for (let hiNib = 0; hiNib < 2; hiNib++) {
          const j = 2 * i + hiNib;
          for (const [v, a, hv] of [[v0, a0, hv0], [v1, a1, hv1]] as const) {
            if (hiNib) f.get(v).i32(4).simd(Simd.i8x16_shr_u);
            else { f.get(v); splat8(f, 0x0f); f.simd(Simd.v128_and); }
            if (five) {
              // bit j of qh[l] is the 5th bit: move it to bit 4 within each byte.
              f.get(hv); splat8(f, 1 << j); f.simd(Simd.v128_and);
              if (j < 4) f.i32(4 - j).simd(Simd.i16x8_shl); else if (j > 4) f.i32(j - 4).simd(Simd.i16x8_shr_u);
              f.simd(Simd.v128_or);
            }
            f.set(a);
          }
          dotI16(f, s, isum, isumL, l.px, 32 * j, quarters(f, a0, a1, false));
          combine(f, isum, isumL); f.set(comb[j % 4]!);
          l.fence(comb[j % 4]!);
        }
      }
      f.get(l.acc);
      reduce4(f, s, comb[0]!, comb[1]!, comb[2]!, comb[3]!);
      f.get(sc[half]!).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(l.acc);
    }
  });
}

/**
 * Q6_K super-blocks (256 values, 16 sub-blocks of 16 with int8 scales): 4 low bits from ql, 2 high
 * bits from qh, minus 32; each sub-block's integer dot product, reduced four at a time, is scaled
 * by d·sc_u·xs (xs per 32 values, so each xs serves two sub-blocks).
 */
function emitQ6K(m: ModuleBuilder): void {
  emitGgmlMatvec(m, GGML_WASM_KERNELS[GGML.Q6_K]!, 8, 210, (l) => {
    const { f, s } = l;
    const d = s.v('q6.d'), scv = s.v('q6.sc'), a = s.v('q6.a'), c = s.v('q6.c'), h = s.v('q6.h'), q = s.v('q6.q');
    const sf = [s.v('q6.sf0'), s.v('q6.sf1')];
    const isum = s.v('q6.is'), isumL = s.v('q6.il'), comb = [0, 1, 2, 3].map((u) => s.v(`q6.c${u}`));
    halfAt(f, l.pw, 208); f.simd(Simd.f32x4_splat).set(d);
    f.get(l.pw).simdMem(Simd.v128_load, 192).set(scv);
    for (let n = 0; n < 2; n++) {
      // float scales sc[8n .. 8n+3] and sc[8n+4 .. 8n+7]
      for (let t = 0; t < 2; t++) {
        f.get(scv).simd(n === 0 ? Simd.i16x8_extend_low_i8x16_s : Simd.i16x8_extend_high_i8x16_s)
          .simd(t === 0 ? Simd.i32x4_extend_low_i16x8_s : Simd.i32x4_extend_high_i16x8_s).simd(Simd.f32x4_convert_i32x4_s).set(sf[t]!);
      }
      for (let k = 0; k < 2; k++) {
        // ql[l], ql[l+32] and qh[l] for l = 16k .. 16k+15 of this half give units (qi, k), qi = 0..3:
        // values 128n + 32qi + 16k .. +15, scale sc[8n + 2qi + k], activation block 4n + qi.
        f.get(l.pw).simdMem(Simd.v128_load, 64 * n + 16 * k).set(a);
        f.get(l.pw).simdMem(Simd.v128_load, 64 * n + 32 + 16 * k).set(c);
        f.get(l.pw).simdMem(Simd.v128_load, 128 + 32 * n + 16 * k).set(h);
        for (let qi = 0; qi < 4; qi++) {
          // low 4 bits: a&15, c&15, a>>4, c>>4; high 2 bits: bits 2qi..2qi+1 of h, moved to bits 4..5.
          f.get(qi % 2 === 0 ? a : c);
          if (qi >= 2) f.i32(4).simd(Simd.i16x8_shr_u);
          splat8(f, 0x0f); f.simd(Simd.v128_and);
          f.get(h);
          if (qi === 0) f.i32(4).simd(Simd.i16x8_shl); else if (qi === 1) f.i32(2).simd(Simd.i16x8_shl); else if (qi === 3) f.i32(2).simd(Simd.i16x8_shr_u);
          splat8(f, 0x30); f.simd(Simd.v128_and).simd(Simd.v128_or);
          splat8(f, 32); f.simd(Simd.i8x16_sub).set(q);
          const el = Simd.i16x8_extend_low_i8x16_s, eh = Simd.i16x8_extend_high_i8x16_s;
          dotI16(f, s, isum, isumL, l.px, 128 * n + 32 * qi + 16 * k, [() => f.get(q).simd(el), () => f.get(q).simd(eh)]);
          combine(f, isum, isumL); f.set(comb[qi]!);
          l.fence(comb[qi]!);
        }
        f.get(l.acc);
        reduce4(f, s, comb[0]!, comb[1]!, comb[2]!, comb[3]!);
        f.get(sf[0]!).get(sf[1]!).shuffle(lanes32([k, k + 2, 4 + k, 6 + k])).get(d).simd(Simd.f32x4_mul);
        f.get(l.pxs).simdMem(Simd.v128_load, 16 * n).simd(Simd.f32x4_mul);
        f.simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(l.acc);
      }
    }
  });
}

/**
 * dequantizeQ8_0(dst, w, blocks): blocks of Q8_0 at w → 32 f32 each at dst (d·q, as ggml's
 * to_float). A prompt's product runs these rows through the f32 matmul: the conversion, once per
 * weight, is shared by every row of the prompt, and float products need no activation split.
 */
function emitDequantizeQ8_0(m: ModuleBuilder): void {
  const f = m.function('dequantizeQ8_0', [i32, i32, i32]);
  const [dst, w, blocks] = f.params as I32[];
  const b = f.local(i32), d = f.local(v128), q = f.local(v128);
  f.forSteps(b, () => f.i32(0), blocks!, 1, () => {
    halfAt(f, w!, 0); f.simd(Simd.f32x4_splat).set(d);
    for (let g = 0; g < 4; g++) {
      f.get(w!).simdMem(Simd.v128_load8x8_s, 2 + 8 * g).set(q);
      for (const [half, ext] of [[0, Simd.i32x4_extend_low_i16x8_s], [1, Simd.i32x4_extend_high_i16x8_s]] as const) {
        f.get(dst!).get(q).simd(ext).simd(Simd.f32x4_convert_i32x4_s).get(d).simd(Simd.f32x4_mul).simdMem(Simd.v128_store, 32 * g + 16 * half);
      }
    }
    f.inc(w!, 34).inc(dst!, 128);
  });
}

/** Adds every ggml block kernel to the module. */
export function emitGgmlKernels(m: ModuleBuilder): void {
  emitQ8_0(m);
  emitDequantizeQ8_0(m);
  emit4bit(m, GGML.Q4_0);
  emit4bit(m, GGML.Q4_1);
  emit4bit(m, GGML.IQ4_NL);
  emit5bit(m, GGML.Q5_0);
  emit5bit(m, GGML.Q5_1);
  emitK45(m, GGML.Q4_K);
  emitK45(m, GGML.Q5_K);
  emitQ6K(m);
}
