// Why a prompt's products run the f32 4×2 matmulT tile (options measured for issue 15, Q8_0 prompts):
//  - f32:    the backend's matmulT (mul then add, 8 accumulators);
//  - fma:    the same tile with relaxed SIMD's f32x4.relaxed_madd (an FMA on x86 with FMA3), when the
//            runtime has relaxed SIMD (Node 20 behind --experimental-wasm-relaxed-simd, which this
//            Node-only bench turns on with v8.setFlagsFromString before compiling anything);
//  - int16:  a Q8_0-style product reading int8 weights as int16 (packed 4 rows per vector) against
//            activations rounded to ONE int16 term per block of 32 (i32x4.dot_i16x8_s over pairs of
//            k, a scale per block), the cheapest integer form (the ggml kernels keep two terms).
// GFLOP/s by this process's CPU time (2·m·n·k per product), best of the rounds, all in one run.
// First line: the 4×2 tile's limit on this core (its loads and arithmetic on L1-resident vectors,
// nothing walking memory), f32 mul+add against one-term int16 dot+add: what any f32 tile can reach.
//
//   node scripts/run-ts.mjs packages/tensor/bench/prompt-tiles.bench.ts [--time MS] [--rounds N]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { ModuleBuilder, Op, Simd } from '../src/wasm/emitter.js';
import { Scratch, zeroV, i32, type I32 } from '../src/wasm/kernels/common.js';
import { emitMatmulT } from '../src/wasm/kernels/dot.js';

const { values } = parseArgs({ options: { time: { type: 'string', default: '300' }, rounds: { type: 'string', default: '3' } } });
const time = Number(values.time), rounds = Number(values.rounds);
if (!(time > 0)) throw new RangeError(`--time must be a positive number of ms, got ${values.time}`);
if (!(Number.isInteger(rounds) && rounds > 0)) throw new RangeError(`--rounds must be a positive integer, got ${values.rounds}`);

/** Whether this runtime validates a module using f32x4.relaxed_madd. */
function hasRelaxedSimd(): boolean {
  const m = new ModuleBuilder({ module: 'env', name: 'memory', initialPages: 1 });
  const f = m.function('probe', [i32]);
  f.get(f.params[0]!).get(f.params[0]!).simdMem(Simd.v128_load);
  zeroV(f); zeroV(f); f.simd(Simd.f32x4_relaxed_madd).simdMem(Simd.v128_store);
  return WebAssembly.validate(m.encode());
}
if (!hasRelaxedSimd()) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
const relaxed = hasRelaxedSimd();

/**
 * int16(out, wq, ws, x16, xs, m, quads, k): out[c·4·quads + 4q + r] = Σ_b ws[q,b][r] · xs[c,b] · Σ_{k in b} w[4q+r,k] · x16[c,k]
 * for c < m (multiple of 4), q < quads, k a multiple of 32. wq: per quad, per pair of k, 8 int16
 * (w[4q,2p], w[4q,2p+1], w[4q+1,2p], …); ws: per quad and block, the 4 rows' scales (f32x4).
 */
function emitInt16Tile(m: ModuleBuilder): void {
  const C = 4;
  const f = m.function('int16', [i32, i32, i32, i32, i32, i32, i32, i32]);
  const [out, wq, ws, x16, xs, mRows, quads, k] = f.params as I32[];
  const s = new Scratch(f);
  const q = f.local(i32), c = f.local(i32), b = f.local(i32), blocks = f.local(i32), pw = f.local(i32), pws = f.local(i32);
  const ia = (cc: number) => s.v(`ia${cc}`), fa = (cc: number) => s.v(`fa${cc}`), px = (cc: number) => s.i(`px${cc}`), pxs = (cc: number) => s.i(`pxs${cc}`);
  const w = s.v('w'), xv = s.v('xv'), sc = s.v('sc');
  f.get(k!).i32(5).op(Op.i32_shr_u).set(blocks);
  f.forSteps(q, () => f.i32(0), quads!, 1, () => {
    f.forSteps(c, () => f.i32(0), mRows!, C, () => {
      f.get(wq!).get(q).get(k!).op(Op.i32_mul).i32(3).op(Op.i32_shl).op(Op.i32_add).set(pw);
      f.get(ws!).get(q).get(blocks).op(Op.i32_mul).i32(4).op(Op.i32_shl).op(Op.i32_add).set(pws);
      for (let cc = 0; cc < C; cc++) {
        zeroV(f).set(fa(cc));
        f.get(x16!).get(c).i32(cc).op(Op.i32_add).get(k!).op(Op.i32_mul).i32(1).op(Op.i32_shl).op(Op.i32_add).set(px(cc));
        f.get(xs!).get(c).i32(cc).op(Op.i32_add).get(blocks).op(Op.i32_mul).i32(2).op(Op.i32_shl).op(Op.i32_add).set(pxs(cc));
      }
      f.forSteps(b, () => f.i32(0), blocks, 1, () => {
        for (let cc = 0; cc < C; cc++) zeroV(f).set(ia(cc));
        for (let p = 0; p < 16; p++) {
          f.get(pw).simdMem(Simd.v128_load, 16 * p).set(w);
          for (let cc = 0; cc < C; cc++) {
            f.get(px(cc)).simdMem(Simd.v128_load32_splat, 4 * p).set(xv);
            f.get(ia(cc)).get(w).get(xv).simd(Simd.i32x4_dot_i16x8_s).simd(Simd.i32x4_add).set(ia(cc));
          }
        }
        f.get(pws).simdMem(Simd.v128_load).set(sc);
        for (let cc = 0; cc < C; cc++) {
          f.get(fa(cc)).get(ia(cc)).simd(Simd.f32x4_convert_i32x4_s).get(sc).get(pxs(cc)).simdMem(Simd.v128_load32_splat).simd(Simd.f32x4_mul)
            .simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(fa(cc));
          f.inc(px(cc), 64).inc(pxs(cc), 4);
        }
        f.inc(pw, 256).inc(pws, 16);
      });
      for (let cc = 0; cc < C; cc++) {
        f.get(out!).get(c).i32(cc).op(Op.i32_add).get(quads!).op(Op.i32_mul).get(q).op(Op.i32_add).i32(4).op(Op.i32_shl).op(Op.i32_add);
        f.get(fa(cc)).simdMem(Simd.v128_store);
      }
    });
  });
}

/**
 * The core's limits for the 4×2 tile: peakF32 / peakI16(p, n) run the tile's loads (from the same
 * L1-resident 4 + 2 vectors) and its 8 products-and-adds n times, with nothing walking memory:
 * f32x4 mul then add, or i32x4.dot_i16x8_s then add (8 multiply-adds a lane pair, one-term int16).
 */
function emitPeak(m: ModuleBuilder, name: string, int16: boolean): void {
  const f = m.function(name, [i32, i32]);
  const [p, n] = f.params as I32[];
  const s = new Scratch(f), it = f.local(i32);
  const acc = (i: number) => s.v(`acc${i}`), b = (c: number) => s.v(`b${c}`), a = s.v('a');
  for (let i = 0; i < 8; i++) f.get(p!).simdMem(Simd.v128_load, 16 * i).set(acc(i));
  f.forSteps(it, () => f.i32(0), n!, 1, () => {
    for (let c = 0; c < 2; c++) f.get(p!).simdMem(Simd.v128_load, 128 + 16 * c).set(b(c));
    for (let r = 0; r < 4; r++) {
      f.get(p!).simdMem(Simd.v128_load, 160 + 16 * r).set(a);
      for (let c = 0; c < 2; c++) f.get(acc(2 * r + c)).get(a).get(b(c)).simd(int16 ? Simd.i32x4_dot_i16x8_s : Simd.f32x4_mul).simd(int16 ? Simd.i32x4_add : Simd.f32x4_add).set(acc(2 * r + c));
    }
  });
  for (let i = 0; i < 8; i++) f.get(p!).get(acc(i)).simdMem(Simd.v128_store, 16 * i);
}

const mb = new ModuleBuilder({ module: 'env', name: 'memory', initialPages: 1024 });
emitMatmulT(mb);
emitPeak(mb, 'peakF32', false);
emitPeak(mb, 'peakI16', true);
if (relaxed) emitMatmulT(mb, 'matmulTFma', true);
emitInt16Tile(mb);
const memory = new WebAssembly.Memory({ initial: 1024 });
const k = (await WebAssembly.instantiate(await WebAssembly.compile(mb.encode()), { env: { memory } })).exports as Record<string, (...a: number[]) => void>;

let seed = 7;
const next = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 2 ** 32 - 0.5; };
// SmolLM2-135M's prompt products for a chunk of 128 tokens: x (m×k) against weights (n×k).
const shapes = [[128, 1536, 576], [128, 576, 1536], [128, 576, 576]] as const;
const rows: string[] = [];
for (const [m, n, kk] of shapes) {
  // Byte layout: f32 x, f32 weights, f32 out, then the int16 operands and their scales.
  const X = 0, W = X + 4 * m * kk, O = W + 4 * n * kk, WQ = O + 4 * m * n, WS = WQ + 2 * n * kk, X16 = WS + 4 * n * (kk / 32), XS = X16 + 2 * m * kk;
  const f32 = new Float32Array(memory.buffer), i16 = new Int16Array(memory.buffer);
  for (let i = 0; i < (O >> 2); i++) f32[i] = next();
  for (let i = WQ >> 1; i < (WS >> 1); i++) i16[i] = Math.round(254 * next());
  for (let i = WS >> 2; i < (X16 >> 2); i++) f32[i] = 0.01 + Math.abs(next());
  for (let i = X16 >> 1; i < (XS >> 1); i++) i16[i] = Math.round(65534 * next());
  for (let i = XS >> 2; i < (XS >> 2) + m * (kk / 32); i++) f32[i] = 0.01 + Math.abs(next());
  // The int16 tile computes what its comment says (checked on a few outputs against float64).
  k.int16!(O, WQ, WS, X16, XS, m, n / 4, kk);
  for (const [c, row] of [[0, 0], [m - 1, n - 1], [5, 77]] as const) {
    const qd = row >> 2, r = row & 3;
    let want = 0;
    for (let b = 0; b < kk / 32; b++) {
      let dot = 0;
      for (let e = 32 * b; e < 32 * b + 32; e++) dot += i16[(WQ >> 1) + (qd * (kk / 2) + (e >> 1)) * 8 + 2 * r + (e & 1)]! * i16[(X16 >> 1) + c * kk + e]!;
      want += f32[(WS >> 2) + (qd * (kk / 32) + b) * 4 + r]! * f32[(XS >> 2) + c * (kk / 32) + b]! * dot;
    }
    const got = f32[(O >> 2) + c * n + row]!;
    if (!(Math.abs(got - want) <= 1e-4 * Math.max(1, Math.abs(want)))) throw new Error(`int16 tile: out[${c}][${row}] = ${got}, float64 gives ${want}`);
  }
  const kernels: [string, () => void][] = [['f32', () => k.matmulT!(O, X, W, m, n, kk, n)]];
  if (relaxed) kernels.push(['fma', () => k.matmulTFma!(O, X, W, m, n, kk, n)]);
  kernels.push(['int16', () => k.int16!(O, WQ, WS, X16, XS, m, n / 4, kk)]);
  const best = new Map<string, number>();
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of kernels) {
      run();
      const c0 = process.cpuUsage();
      let reps = 0, us = 0;
      do { run(); reps++; const c = process.cpuUsage(c0); us = c.user + c.system; } while (us < time * 1000);
      best.set(name, Math.max(best.get(name) ?? 0, (2 * m * n * kk * reps) / (us / 1e6) / 1e9));
    }
  }
  const f = best.get('f32')!;
  rows.push(`| ${m}×${n}×${kk} | ${f.toFixed(1)} | ${relaxed ? `${best.get('fma')!.toFixed(1)} (${(best.get('fma')! / f).toFixed(2)}×)` : 'no relaxed SIMD'} | ${best.get('int16')!.toFixed(1)} (${(best.get('int16')! / f).toFixed(2)}×) |`);
}
// The limits: 8 vector multiply-adds an iteration, 4 lanes (f32) or 4 lanes × 2 products (int16).
const peak = new Map<string, number>();
for (let round = 0; round < rounds; round++) {
  for (const [name, perIteration] of [['peakF32', 8 * 4 * 2], ['peakI16', 8 * 8 * 2]] as const) {
    const n = 1 << 20, c0 = process.cpuUsage();
    let reps = 0, us = 0;
    do { k[name]!(0, n); reps++; const c = process.cpuUsage(c0); us = c.user + c.system; } while (us < time * 1000);
    peak.set(name, Math.max(peak.get(name) ?? 0, (perIteration * n * reps) / (us / 1e6) / 1e9));
  }
}
console.log(`GFLOP/s by CPU time, best of ${rounds} rounds of ${time} ms; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`the 4×2 tile's limit on this core (its loads and arithmetic, nothing walking memory): f32 mul+add ${peak.get('peakF32')!.toFixed(1)} GFLOP/s, int16 dot+add ${peak.get('peakI16')!.toFixed(1)} G int ops/s (${(peak.get('peakI16')! / peak.get('peakF32')!).toFixed(2)}× the multiply-adds)`);
console.log('| m×n×k | f32 (matmulT) | fma (relaxed_madd) | int16 (one term) |');
console.log('|---|---:|---:|---:|');
for (const r of rows) console.log(r);
