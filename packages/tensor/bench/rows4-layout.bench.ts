// Experiment (issue 15, Q4_K_M decode): what a same-size load-time repack of Q5_0 and Q8_0 into
// "four rows interleaved" blocks would give the decode kernels, before anything is wired into the
// library. Per block of 32 values, a group of four rows stores the four f16 scales, then each i16x8
// weight vector holds two neighbouring values of each of the four rows (lanes 2k, 2k+1 = row k):
// its i32x4.dot_i16x8_s with the activation pair splatted into all lanes gives the four rows' sums
// with lane k = row k, so no per-row reduction across lanes is left. The prototype kernels read the
// activations pre-broadcast (each h/l pair as a full vector, 512 bytes per block, built here in JS)
// and must equal the library's kernel bit for bit (integer sums are exact, the float work after them
// is the same lane by lane): the bench checks every row before timing.
// Weights cycle through ≥ 64 MiB of copies (from memory), plain and repacked alternate in batches,
// best batch by CPU time.
//   node scripts/run-ts.mjs packages/tensor/bench/rows4-layout.bench.ts [--cases Q5_0:1536x576,Q8_0:49152x576] [--time MS] [--fence N]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { GGML, ggmlRowBytes } from '../src/index.js';
import { ModuleBuilder, Op, Simd } from '../src/wasm/emitter.js';
import { buildKernelModule, type KernelExports } from '../src/wasm/kernels.js';
import { Constants, i32, v128, type I32 } from '../src/wasm/kernels/common.js';
import { L_SCALE } from '../src/wasm/kernels/ggml.js';
import { FIVE_BIT_WORDS_ADDR } from '../src/wasm/low-memory.js';
import { randomGgmlMatrix } from '../test/ggml-helpers.js';
import { rng } from '../test/helpers.js';

const { values } = parseArgs({ options: {
  cases: { type: 'string', default: 'Q5_0:1536x576,Q5_0:576x576,Q8_0:49152x576' }, time: { type: 'string', default: '3000' },
  fence: { type: 'string', default: '4' },
} });
const timeMs = Number(values.time), fenceEvery = Number(values.fence);
if (!(timeMs > 0)) throw new RangeError(`--time must be a positive number of ms, got ${values.time}`);
if (![0, 1, 2, 4, 8].includes(fenceEvery)) throw new RangeError(`--fence must be 0, 1, 2, 4 or 8 vectors, got ${values.fence}`);
const WIDE_BLOCK = 512; // bytes of pre-broadcast activations per block of 32: 16 h pairs, then 16 l pairs, 16 bytes each

/**
 * The prototype kernel for Q5_0 or Q8_0 groups (out, w, wide, xs, rows, cols; rows a multiple of 4).
 * A store of a running sum every `fenceEvery` vectors keeps TurboFan from issuing all loads first
 * (without it the kernel ran at 0.64×).
 */
function emitRows4(m: ModuleBuilder, name: string, type: number): void {
  const q8 = type === GGML.Q8_0, groupBlock = 4 * (q8 ? 34 : 22);
  const f = m.function(name, [i32, i32, i32, i32, i32, i32]);
  const [out, w, wide, xs, rows, cols] = f.params as I32[];
  const c = new Constants(m, f);
  const lScale = c.f32x4(L_SCALE), low4 = c.i16(0x0f), rebias4 = c.f32x4(2 ** 112);
  const halfMask = c.bytes(Array.from(new Uint8Array(new Int32Array(4).fill(0x8fffe000 | 0).buffer)));
  const g = f.local(i32), groups = f.local(i32), pw = f.local(i32), px = f.local(i32), pxs = f.local(i32), end = f.local(i32), po = f.local(i32);
  const acc4 = f.local(v128), accH = f.local(v128), accL = f.local(v128), t = f.local(v128), wv = f.local(v128), groupBytes = f.local(i32);
  f.get(cols!).i32(5).op(Op.i32_shr_u).i32(groupBlock).op(Op.i32_mul).set(groupBytes);
  f.get(rows!).i32(2).op(Op.i32_shr_u).set(groups);
  f.get(w!).set(pw);
  f.forSteps(g, () => f.i32(0), groups, 1, () => {
    f.get(pw).get(groupBytes).op(Op.i32_add).set(end);
    f.get(wide!).set(px).get(xs!).set(pxs);
    f.get(out!).get(g).i32(4).op(Op.i32_shl).op(Op.i32_add).set(po);
    f.v128i32(0, 0, 0, 0).set(acc4);
    f.block(() => f.loop(() => {
      f.get(pw).get(end).op(Op.i32_ge_u).brIf(1);
      for (let v = 0; v < 16; v++) {
        if (q8) f.get(pw).simdMem(Simd.v128_load8x8_s, 8 + 8 * v).set(wv);
        else {
          // 8 nibble bytes give vectors 2c (low nibbles) and 2c + 1 (high); qh byte v adds its 5th-bit words.
          if (v % 2 === 0) f.get(pw).simdMem(Simd.v128_load8x8_u, 24 + 4 * v).set(t);
          f.get(t);
          if (v % 2 === 0) f.get(low4).simd(Simd.v128_and); else f.i32(4).simd(Simd.i16x8_shr_u);
          f.get(pw).mem(Op.i32_load8_u, 8 + v, 0).i32(4).op(Op.i32_shl).simdMem(Simd.v128_load, FIVE_BIT_WORDS_ADDR, 4).simd(Simd.i16x8_add).set(wv);
        }
        for (const [acc, at] of [[accH, 16 * v], [accL, 256 + 16 * v]] as const) {
          f.get(wv).get(px).simdMem(Simd.v128_load, at, 4).simd(Simd.i32x4_dot_i16x8_s);
          if (v > 0) f.get(acc).simd(Simd.i32x4_add);
          f.set(acc);
        }
        if (fenceEvery && v % fenceEvery === fenceEvery - 1 && v < 15) for (const a of [accH, accL]) f.get(po).get(a).simdMemLane(Simd.v128_store32_lane, 0, 2, 0);
      }
      // acc4 += (h + l·L_SCALE) · (d_0..3 · xs), as the library's four-rows step does lane by lane.
      f.get(acc4);
      f.get(accH).simd(Simd.f32x4_convert_i32x4_s).get(accL).simd(Simd.f32x4_convert_i32x4_s).get(lScale).simd(Simd.f32x4_mul).simd(Simd.f32x4_add);
      f.get(pw).simdMem(Simd.v128_load64_zero, 0, 0).simd(Simd.i32x4_extend_low_i16x8_s).i32(13).simd(Simd.i32x4_shl).get(halfMask).simd(Simd.v128_and).get(rebias4).simd(Simd.f32x4_mul);
      f.get(pxs).simdMem(Simd.v128_load32_splat, 0, 2).simd(Simd.f32x4_mul).simd(Simd.f32x4_mul).simd(Simd.f32x4_add).set(acc4);
      f.inc(pw, groupBlock).inc(px, WIDE_BLOCK).inc(pxs, 4).br(0);
    }));
    f.get(po).get(acc4).simdMem(Simd.v128_store, 0, 2);
  });
}

/** The plain rows (ggml layout) in the prototype's interleaved layout, a new array of the same size. */
function repack(type: number, src: Uint8Array, rows: number, cols: number): Uint8Array {
  const q8 = type === GGML.Q8_0, bb = q8 ? 34 : 22, rb = ggmlRowBytes(type, cols), out = new Uint8Array(src.length);
  for (let g = 0; g < rows / 4; g++) for (let b = 0; b < cols / 32; b++) {
    const o = g * 4 * rb + 4 * bb * b;
    for (let k = 0; k < 4; k++) {
      const s = (4 * g + k) * rb + bb * b;
      out[o + 2 * k] = src[s]!; out[o + 2 * k + 1] = src[s + 1]!;
      const qh = q8 ? 0 : (src[s + 2]! | (src[s + 3]! << 8) | (src[s + 4]! << 16) | (src[s + 5]! << 24)) >>> 0;
      for (let j = 0; j < 32; j++) {
        const v = j >> 1, lane = 2 * k + (j & 1);
        if (q8) { out[o + 8 + 8 * v + lane] = src[s + 2 + j]!; continue; }
        const nibble = j < 16 ? src[s + 6 + j]! & 15 : src[s + 6 + j - 16]! >> 4;
        out[o + 8 + v]! |= ((qh >>> j) & 1) << lane;
        out[o + 24 + 8 * (v >> 1) + lane]! |= v & 1 ? nibble << 4 : nibble;
      }
    }
  }
  return out;
}

const memory = new WebAssembly.Memory({ initial: 8192 });
const lib = new WebAssembly.Instance(new WebAssembly.Module(buildKernelModule({ initialPages: 1, shared: false })), { env: { memory } }).exports as unknown as KernelExports;
const protoModule = new ModuleBuilder({ module: 'env', name: 'memory', initialPages: 1, shared: false });
emitRows4(protoModule, 'rows4Q5_0', GGML.Q5_0); emitRows4(protoModule, 'rows4Q8_0', GGML.Q8_0);
const proto = new WebAssembly.Instance(new WebAssembly.Module(protoModule.encode()), { env: { memory } }).exports as unknown as
  Record<string, (out: number, w: number, wide: number, xs: number, rows: number, cols: number) => void>;
let top = 1 << 16; // above the kernel module's low-memory tables
const alloc = (n: number): number => { const at = top; top += (n + 63) & ~63; if (top > memory.buffer.byteLength) memory.grow(Math.ceil((top - memory.buffer.byteLength) / 65536)); return at; };

console.log(`load average ${loadavg()[0]!.toFixed(2)}; best batch by CPU time, plain and rows4 alternating, ${timeMs} ms per case, a store every ${fenceEvery} vectors`);
for (const spec of values.cases!.split(',')) {
  const match = /^(Q5_0|Q8_0):(\d+)x(\d+)$/.exec(spec);
  if (!match || Number(match[2]) % 4 !== 0 || Number(match[3]) % 32 !== 0) throw new RangeError(`--cases: "${spec}" is not Q5_0|Q8_0:ROWSxCOLS with rows a multiple of 4 and cols of 32`);
  const type = GGML[match[1] as 'Q5_0' | 'Q8_0'], rows = Number(match[2]), cols = Number(match[3]), blocks = cols / 32;
  const plainBytes = randomGgmlMatrix(rng(2), type, rows, cols), packedBytes = repack(type, plainBytes, rows, cols);
  const copies = Math.max(1, Math.ceil((64 << 20) / plainBytes.length));
  const place = (b: Uint8Array) => Array.from({ length: copies }, () => { const at = alloc(b.length); new Uint8Array(memory.buffer).set(b, at); return at; });
  const plain = place(plainBytes), packed = place(packedBytes);
  const x = alloc(4 * cols), x16 = alloc(128 * blocks), xs = alloc(4 * blocks), xsum = alloc(4 * blocks), wide = alloc(WIDE_BLOCK * blocks);
  const outPlain = alloc(4 * rows), outPacked = alloc(4 * rows);
  const r = rng(3), xf = new Float32Array(memory.buffer, x, cols);
  for (let i = 0; i < cols; i++) xf[i] = (r() * 2 - 1) * (i % 7 === 0 ? 100 : 1);
  lib.splitActivations(x, x16, xs, xsum, blocks);
  const pairs = new Uint32Array(memory.buffer, x16, 32 * blocks), wideWords = new Uint32Array(memory.buffer, wide, (WIDE_BLOCK / 4) * blocks);
  for (let i = 0; i < wideWords.length; i++) wideWords[i] = pairs[i >> 2]!; // pair p of the split (h then l) into 4 lanes
  const kernel = type === GGML.Q8_0 ? lib.matvecQ8_0! : lib.matvecQ5_0!, rows4 = proto[type === GGML.Q8_0 ? 'rows4Q8_0' : 'rows4Q5_0']!;
  kernel(outPlain, plain[0]!, x16, xs, xsum, rows, cols);
  rows4(outPacked, packed[0]!, wide, xs, rows, cols);
  const a = new Float32Array(memory.buffer, outPlain, rows), b = new Float32Array(memory.buffer, outPacked, rows);
  for (let i = 0; i < rows; i++) if (!Object.is(a[i], b[i])) throw new Error(`${spec}: row ${i} rows4 ${b[i]} vs plain ${a[i]}`);
  const perBatch = Math.max(1, Math.round(1e7 / (rows * cols)));
  const runs = [
    { best: Infinity, call: (i: number) => kernel(outPlain, plain[i % copies]!, x16, xs, xsum, rows, cols) },
    { best: Infinity, call: (i: number) => rows4(outPacked, packed[i % copies]!, wide, xs, rows, cols) },
  ];
  let n = 0;
  for (const end = performance.now() + timeMs; performance.now() < end;) {
    for (const run of runs) {
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < perBatch; i++) run.call(n++);
      const cpu = process.cpuUsage(cpu0);
      run.best = Math.min(run.best, (cpu.user + cpu.system) / 1e6 / perBatch);
    }
  }
  const [p, q] = runs.map((run) => (2 * rows * cols) / run.best / 1e9);
  console.log(`${spec.padEnd(16)} streaming (${copies} copies): plain ${p!.toFixed(1)} rows4 ${q!.toFixed(1)} GFLOP/s, rows4/plain ${(q! / p!).toFixed(3)}, every row bit-identical`);
}
