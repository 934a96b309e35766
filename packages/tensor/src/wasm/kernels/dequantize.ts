// ggml rows to f32 in SIMD, for a prompt's product: the weights are converted a panel at a time
// (inside the matmul job, each thread its own rows) and run through the f32 matmul, whose float
// products need no activation split; the conversion, once per weight, is shared by every row of
// the prompt. Every value is computed with the same float32 operations, in the same order, as the
// exact reference (../../quant/ggml-dequant.ts, itself ggml's to_float): integer codes are exact in
// f32, and each multiply or add is one correctly rounded f32 operation on both sides, so the
// results are equal bit for bit (test/ggml-dequant-wasm.test.ts). Scales are finite halves.
//
// Every kernel has the signature (dst, src, count): `count` blocks (elements for F16/BF16) at src
// → count·blockSize f32 at dst. Block values are unpacked into i16 lanes, 8 at a time
// (storeEight widens, converts and scales them).
import { FunctionBuilder, ModuleBuilder, Op, Simd } from '../emitter.js';
import { Constants, Scratch, i32, type I32, type V128 } from './common.js';
import { GGML } from '../../quant/ggml-types.js';
import { IQ4_NL_LEVELS } from '../../quant/ggml-dequant.js';
import { FIVE_BIT_WORDS_ADDR } from '../low-memory.js';
import { loadARow, loadAScalar } from './dot.js';
import { halfAt, halfSplat } from './ggml.js';

/** Export name of the wasm dequantizer of each ggml type that has one (every supported type but F32). */
export const GGML_WASM_DEQUANTIZERS: Readonly<Record<number, string>> = Object.freeze({
  [GGML.F16]: 'dequantizeF16', [GGML.BF16]: 'dequantizeBF16', [GGML.Q8_0]: 'dequantizeQ8_0', [GGML.Q4_0]: 'dequantizeQ4_0',
  [GGML.Q4_1]: 'dequantizeQ4_1', [GGML.Q5_0]: 'dequantizeQ5_0', [GGML.Q5_1]: 'dequantizeQ5_1', [GGML.IQ4_NL]: 'dequantizeIQ4_NL',
  [GGML.Q4_K]: 'dequantizeQ4_K', [GGML.Q5_K]: 'dequantizeQ5_K', [GGML.Q6_K]: 'dequantizeQ6_K',
});

/** How a scaled value gets its offset: Q4_1/Q5_1 add their min (d·q + m), the K types subtract theirs (d·q − m). */
type Offset = { v: V128; op: typeof Simd.f32x4_add | typeof Simd.f32x4_sub } | null;

/**
 * Stores the eight i16 lanes pushed by `push` as f32 at dst + off: scale·q (then ± the offset),
 * one f32 multiply (and add) per value, as the reference computes it.
 */
function storeEight(f: FunctionBuilder, s: Scratch, dst: I32, off: number, push: () => void, scale: V128, offset: Offset = null): void {
  const q = s.v('eight');
  push(); f.set(q);
  for (const [half, ext] of [[0, Simd.i32x4_extend_low_i16x8_s], [1, Simd.i32x4_extend_high_i16x8_s]] as const) {
    f.get(dst).get(q).simd(ext).simd(Simd.f32x4_convert_i32x4_s).get(scale).simd(Simd.f32x4_mul);
    if (offset) f.get(offset.v).simd(offset.op);
    f.simdMem(Simd.v128_store, off + 16 * half);
  }
}

/**
 * One block's conversion: `constants` asks for the vector constants (read once, before the loop),
 * `block` emits the block at (src, dst).
 */
interface BlockDequantizer<K> {
  constants(c: Constants): K;
  block(f: FunctionBuilder, s: Scratch, k: K, src: I32, dst: I32): void;
}

/** A kernel looping over `count` blocks of `blockBytes` bytes, `blockValues` values each. */
function blockLoop<K>(m: ModuleBuilder, name: string, blockBytes: number, blockValues: number, kernel: BlockDequantizer<K>): void {
  const f = m.function(name, [i32, i32, i32]);
  const [dst, src, count] = f.params as I32[];
  const s = new Scratch(f), k = kernel.constants(new Constants(m, f)), b = f.local(i32);
  f.forSteps(b, () => f.i32(0), count!, 1, () => {
    kernel.block(f, s, k, src!, dst!);
    f.inc(src!, blockBytes).inc(dst!, 4 * blockValues);
  });
}

/** Q8_0: d, 32 int8. */
const q8_0: BlockDequantizer<null> = { constants: () => null, block: (f, s, _k, src, dst) => {
  const d = s.v('d');
  halfSplat(f, src, 0, d);
  for (let g = 0; g < 4; g++) storeEight(f, s, dst, 32 * g, () => f.get(src).simdMem(Simd.v128_load8x8_s, 2 + 8 * g), d);
} };

/**
 * Q4_0 ((q − 8)·d), Q4_1 (q·d + m), Q5_0 ((q − 16)·d), Q5_1 (q·d + m): bytes j hold values j (low
 * nibble) and j + 16 (high). Q5's 5th bits come as 0/−16 words from the low-memory table (one per
 * qh byte, eight values): q − 16 = nibble + word, and Q5_1 adds the 16 back.
 */
const legacy = (type: number): BlockDequantizer<{ low4: V128; shift: V128 }> => ({ constants: (c) => ({ low4: c.i16(0x0f), shift: c.i16(type === GGML.Q4_0 ? 8 : 16) }), block: (f, s, k, src, dst) => {
  const min = type === GGML.Q4_1 || type === GGML.Q5_1, five = type === GGML.Q5_0 || type === GGML.Q5_1;
  const hOff = min ? 4 : 2, qOff = hOff + (five ? 4 : 0);
  const d = s.v('d'), mv = s.v('m'), q = s.v('q');
  halfSplat(f, src, 0, d);
  if (min) halfSplat(f, src, 2, mv);
  const offset: Offset = min ? { v: mv, op: Simd.f32x4_add } : null;
  for (let g = 0; g < 2; g++) {
    f.get(src).simdMem(Simd.v128_load8x8_u, qOff + 8 * g).set(q);
    for (let hi = 0; hi < 2; hi++) {
      // values 16·hi + 8g .. +7; Q5: their 5th bits are qh byte 2·hi + g.
      storeEight(f, s, dst, 4 * (16 * hi + 8 * g), () => {
        f.get(q);
        if (hi) f.i32(4).simd(Simd.i16x8_shr_u);
        f.get(k.low4).simd(Simd.v128_and);
        if (five) {
          f.get(src).mem(Op.i32_load8_u, hOff + 2 * hi + g, 0).i32(4).op(Op.i32_shl).simdMem(Simd.v128_load, FIVE_BIT_WORDS_ADDR, 4).simd(Simd.i16x8_add);
          if (type === GGML.Q5_1) f.get(k.shift).simd(Simd.i16x8_add);
        } else if (type === GGML.Q4_0) f.get(k.shift).simd(Simd.i16x8_sub);
      }, d, offset);
    }
  }
} });

/** IQ4_NL: d·level, the nibbles indexing the 16-entry code book (a byte swizzle). */
const iq4nl: BlockDequantizer<{ low4: V128; book: V128 }> = { constants: (c) => ({ low4: c.i8(0x0f), book: c.bytes(IQ4_NL_LEVELS) }), block: (f, s, k, src, dst) => {
  const d = s.v('d'), q = s.v('q'), lv = s.v('levels');
  halfSplat(f, src, 0, d);
  f.get(src).simdMem(Simd.v128_load, 2).set(q);
  for (let hi = 0; hi < 2; hi++) {
    f.get(k.book).get(q);
    if (hi) f.i32(4).simd(Simd.i8x16_shr_u); else f.get(k.low4).simd(Simd.v128_and);
    f.simd(Simd.i8x16_swizzle).set(lv);
    for (let g = 0; g < 2; g++) storeEight(f, s, dst, 4 * (16 * hi + 8 * g), () => f.get(lv).simd(g ? Simd.i16x8_extend_high_i8x16_s : Simd.i16x8_extend_low_i8x16_s), d);
  }
} };

/**
 * Q4_K / Q5_K: d, dmin, 12 bytes of 6-bit scales and mins (kScaleMin), Q5_K's qh[32], qs[128].
 * Sub-blocks 2i and 2i+1 share qs[32i .. 32i+31] (low, then high nibbles); Q5_K's 5th bit of
 * sub-block j, value l, is bit j of qh[l]. Value = fround(d·scale_j)·q − fround(dmin·min_j).
 */
const k45 = (type: number): BlockDequantizer<{ low4: V128; bit4: V128 }> => ({ constants: (c) => ({ low4: c.i16(0x0f), bit4: c.i16(16) }), block: (f, s, k, src, dst) => {
  const five = type === GGML.Q5_K, qh = 16, qs = five ? 48 : 16;
  const d = s.s('d'), dmin = s.s('dmin'), dj = s.v('dj'), mj = s.v('mj'), q = s.v('q');
  halfAt(f, src, 0); f.set(d);
  halfAt(f, src, 2); f.set(dmin);
  const byte = (o: number) => f.get(src).mem(Op.i32_load8_u, 4 + o, 0);
  for (let j = 0; j < 8; j++) {
    // get_scale_min_k4: the 6-bit scale (which 0) or min (which 1) of sub-block j, times d or dmin.
    for (const [which, dst6, mul] of [[0, dj, d], [1, mj, dmin]] as const) {
      if (j < 4) { byte(j + 4 * which).i32(63).op(Op.i32_and); } else if (which === 0) {
        byte(j + 4).i32(0x0f).op(Op.i32_and); byte(j - 4).i32(6).op(Op.i32_shr_u).i32(4).op(Op.i32_shl).op(Op.i32_or);
      } else {
        byte(j + 4).i32(4).op(Op.i32_shr_u); byte(j).i32(6).op(Op.i32_shr_u).i32(4).op(Op.i32_shl).op(Op.i32_or);
      }
      f.op(Op.f32_convert_i32_s).get(mul).op(Op.f32_mul).simd(Simd.f32x4_splat).set(dst6);
    }
    const i = j >> 1, hi = j & 1;
    for (let g = 0; g < 4; g++) {
      storeEight(f, s, dst, 4 * (32 * j + 8 * g), () => {
        f.get(src).simdMem(Simd.v128_load8x8_u, qs + 32 * i + 8 * g).set(q);
        f.get(q);
        if (hi) f.i32(4).simd(Simd.i16x8_shr_u);
        f.get(k.low4).simd(Simd.v128_and);
        if (five) {
          // bit j of qh[l] to bit 4
          f.get(src).simdMem(Simd.v128_load8x8_u, qh + 8 * g);
          if (j < 4) f.i32(4 - j).simd(Simd.i16x8_shl); else if (j > 4) f.i32(j - 4).simd(Simd.i16x8_shr_u);
          f.get(k.bit4).simd(Simd.v128_and).simd(Simd.v128_or);
        }
      }, dj, { v: mj, op: Simd.f32x4_sub });
    }
  }
} });

/**
 * Q6_K: ql[128], qh[64], scales[16] (int8), d. Per half n of 128 values, ql[l], ql[l+32] hold
 * the low nibbles of values l, l+32 (low) and l+64, l+96 (high), qh[l] their top 2 bits (2 each);
 * value = fround(d·scale)·(q − 32), the scale of value 16k.. of the half's 32-value quarter qi being
 * scales[8n + 2qi + k].
 */
const q6k: BlockDequantizer<{ low4: V128; top2: V128; off32: V128 }> = { constants: (c) => ({ low4: c.i16(0x0f), top2: c.i16(0x30), off32: c.i16(32) }), block: (f, s, k, src, dst) => {
  const d = s.s('d'), sc = s.v('sc'), a = s.v('a'), cc = s.v('c'), h = s.v('h');
  halfAt(f, src, 208); f.set(d);
  for (let n = 0; n < 2; n++) {
    for (let g = 0; g < 4; g++) {
      // values 128n + 32qi + 8g .. +7 for qi = 0..3
      f.get(src).simdMem(Simd.v128_load8x8_u, 64 * n + 8 * g).set(a);
      f.get(src).simdMem(Simd.v128_load8x8_u, 64 * n + 32 + 8 * g).set(cc);
      f.get(src).simdMem(Simd.v128_load8x8_u, 128 + 32 * n + 8 * g).set(h);
      for (let qi = 0; qi < 4; qi++) {
        f.get(src).mem(Op.i32_load8_s, 192 + 8 * n + 2 * qi + (g >> 1), 0).op(Op.f32_convert_i32_s).get(d).op(Op.f32_mul).simd(Simd.f32x4_splat).set(sc);
        storeEight(f, s, dst, 4 * (128 * n + 32 * qi + 8 * g), () => {
          f.get(qi % 2 === 0 ? a : cc);
          if (qi >= 2) f.i32(4).simd(Simd.i16x8_shr_u);
          f.get(k.low4).simd(Simd.v128_and);
          // bits 2qi, 2qi+1 of h to bits 4, 5
          f.get(h);
          if (qi < 2) f.i32(4 - 2 * qi).simd(Simd.i16x8_shl); else if (qi === 3) f.i32(2).simd(Simd.i16x8_shr_u);
          f.get(k.top2).simd(Simd.v128_and).simd(Simd.v128_or);
          f.get(k.off32).simd(Simd.i16x8_sub);
        }, sc);
      }
    }
  }
} };

/** F16 / BF16: n halves (bfloat16s) at src → n f32 at dst (the matvecs' widening, dot.ts loadARow). */
function emitPlain(m: ModuleBuilder, name: string, fmt: 'f16' | 'bf16'): void {
  const f = m.function(name, [i32, i32, i32]);
  const [dst, src, n] = f.params as I32[];
  const s = new Scratch(f), i = f.local(i32);
  f.forSteps(i, () => f.i32(0), n!, 4, () => {
    f.get(dst!); loadARow(f, fmt, src!, 0); f.simdMem(Simd.v128_store);
    f.inc(dst!, 16).inc(src!, 8);
  });
  f.forSteps(i, () => f.get(i), n!, 1, () => {
    f.get(dst!); loadAScalar(f, fmt, src!, s); f.mem(Op.f32_store);
    f.inc(dst!, 4).inc(src!, 2);
  });
}

/** Adds every dequantizer of GGML_WASM_DEQUANTIZERS to the module. */
export function emitDequantizers(m: ModuleBuilder): void {
  const name = (t: number) => GGML_WASM_DEQUANTIZERS[t]!;
  emitPlain(m, name(GGML.F16), 'f16');
  emitPlain(m, name(GGML.BF16), 'bf16');
  blockLoop(m, name(GGML.Q8_0), 34, 32, q8_0);
  for (const [t, bytes] of [[GGML.Q4_0, 18], [GGML.Q4_1, 20], [GGML.Q5_0, 22], [GGML.Q5_1, 24]] as const) blockLoop(m, name(t), bytes, 32, legacy(t));
  blockLoop(m, name(GGML.IQ4_NL), 18, 32, iq4nl);
  blockLoop(m, name(GGML.Q4_K), 144, 256, k45(GGML.Q4_K));
  blockLoop(m, name(GGML.Q5_K), 176, 256, k45(GGML.Q5_K));
  blockLoop(m, name(GGML.Q6_K), 210, 256, q6k);
}

