// The `q8_0` prompt activations (matmulGgmlActivationsQ8_0, kernels/q8-activations.ts) against an
// independent float64 re-implementation of ggml's arithmetic: each activation block quantized as
// ggml's x86 quantize_row_q8_0 (amax, d = amax/127, q = nearest-even(x·127/amax), each step rounded
// to float32 as the kernel computes it), then the dot with the dequantized weights in float64. The
// quantized integers are equal, so the only difference left is the kernel's float32 accumulation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GGML, createWasmBackend, ggmlRowBytes, ggmlWeights, matmulWeights, type WasmBackend } from '../src/index.js';
import { rng } from './helpers.js';
import { dequantizeMatrix, randomGgmlMatrix } from './ggml-helpers.js';

const rand = rng(0x51a8);
let one: WasmBackend, two: WasmBackend;
test.before(async () => {
  one = await createWasmBackend({ initialBytes: 16 << 20 });
  two = await createWasmBackend({ initialBytes: 16 << 20, threads: 2 });
});
test.after(async () => { await two.dispose(); });

const f = Math.fround;
/** Round half to even (IEEE roundTiesToEven, as f32x4.nearest). */
function nearestEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** One row's blocks as ggml's quantize_row_q8_0 (x86 path) in float32 steps: ints and scales. */
function quantizeRow(x: Float32Array, off: number, cols: number): { q: Int8Array; d: Float64Array } {
  const q = new Int8Array(cols), d = new Float64Array(cols / 32);
  for (let b = 0; b < cols / 32; b++) {
    let amax = 0;
    for (let c = 32 * b; c < 32 * b + 32; c++) amax = Math.max(amax, Math.abs(x[off + c]!));
    d[b] = f(amax / 127);
    const id = amax > 0 ? f(127 / amax) : 0;
    for (let c = 32 * b; c < 32 * b + 32; c++) q[c] = nearestEven(f(x[off + c]! * id));
  }
  return { q, d };
}

/** out[i·rows + r] = Σ_b Σ_c w[r][c]·d_x[i,b]·q_x[i,c] in float64, and Σ|terms| per block sum (the float32 error scale). */
function reference(w: Float32Array, x: Float32Array, m: number, rows: number, cols: number): { out: Float64Array; scale: Float64Array } {
  const out = new Float64Array(m * rows), scale = new Float64Array(m * rows);
  for (let i = 0; i < m; i++) {
    const { q, d } = quantizeRow(x, i * cols, cols);
    for (let r = 0; r < rows; r++) {
      let s = 0, a = 0;
      for (let b = 0; b < cols / 32; b++) {
        let block = 0;
        for (let c = 32 * b; c < 32 * b + 32; c++) block += w[r * cols + c]! * q[c]!;
        s += block * d[b]!; a += Math.abs(block * d[b]!);
      }
      out[i * rows + r] = s; scale[i * rows + r] = a;
    }
  }
  return { out, scale };
}

function run(B: WasmBackend, w: Uint8Array, x: Float32Array, m: number, rows: number, cols: number, type: number = GGML.Q8_0): Float32Array {
  const data = B.allocU8(w.length); data.set(w);
  const xs = B.alloc(m * cols); xs.set(x);
  const out = B.alloc(m * rows + 3); out.fill(-7);
  B.matmulGgmlActivationsQ8_0(type, out, 2, data, 0, xs, 0, m, rows, cols);
  const result = out.slice(2, 2 + m * rows);
  assert.is(out[0], -7); assert.is(out[1], -7); assert.is(out[2 + m * rows], -7, 'nothing written past the output');
  B.free(data); B.free(xs); B.free(out);
  return result;
}

function check(label: string, got: Float32Array, w: Float32Array, x: Float32Array, m: number, rows: number, cols: number): void {
  const { out, scale } = reference(w, x, m, rows, cols);
  // float32: each block's (exact) integer sum times d_w·d_x rounds twice, the running sum once a block.
  const eps = ((cols / 32 + 3) * 2 ** -24);
  for (let k = 0; k < m * rows; k++) {
    const err = Math.abs(got[k]! - out[k]!);
    if (!(err <= eps * scale[k]! + 1e-30)) assert.unreachable(`${label}: output ${k} = ${got[k]}, float64 reference ${out[k]} (error ${err}, allowed ${eps * scale[k]!})`);
  }
}

test('matches the float64 re-implementation of ggml Q8_0 × Q8_0 and Q4_0 × Q8_0 (m, rows, cols of every remainder)', () => {
  for (const type of [GGML.Q8_0, GGML.Q4_0]) {
    for (const [m, rows, cols] of [[1, 1, 32], [3, 5, 64], [4, 2, 32], [5, 7, 96], [8, 6, 128], [13, 9, 576], [128, 10, 64], [6, 401, 576]] as const) {
      const wb = randomGgmlMatrix(rand, type, rows, cols), w = dequantizeMatrix(type, wb, 0, rows, cols);
      const x = Float32Array.from({ length: m * cols }, () => (rand() * 2 - 1) * (rand() < 0.1 ? 40 : 1));
      check(`type ${type} ${m}×${rows}×${cols}`, run(one, wb, x, m, rows, cols, type), w, x, m, rows, cols);
    }
  }
});

test('ties round to even, an all-zero block gives zero, a block of one value is exact', () => {
  const cols = 96, rows = 3, m = 2;
  const wb = randomGgmlMatrix(rand, GGML.Q8_0, rows, cols), w = dequantizeMatrix(GGML.Q8_0, wb, 0, rows, cols);
  const x = new Float32Array(m * cols);
  // Row 0, block 0: amax 127 → d = 1 and 127/amax = 1, so x = k + ½ is a tie: 2.5 → 2, −3.5 → −4, 0.5 → 0.
  x.set([127, 2.5, -3.5, 0.5, 1.5, -0.5, 126.5, -126.5], 0);
  // Row 0, block 1: all zero. Row 0, block 2: one value (q = ±127, d = |x|/127).
  x[64 + 5] = -0.3;
  for (let c = 0; c < cols; c++) x[cols + c] = c % 32 === 0 ? 0 : (rand() * 2 - 1);
  const got = run(one, wb, x, m, rows, cols);
  check('ties and zeros', got, w, x, m, rows, cols);
  // The tie rule is the one ggml's SIMD path uses (round half to even), not half away from zero:
  const { q } = quantizeRow(x, 0, cols);
  assert.equal(Array.from(q.subarray(0, 8)), [127, 2, -4, 0, 2, 0, 126, -126]);
  assert.equal(Array.from(q.subarray(32, 64)), Array(32).fill(0));
});

test('2 threads give the 1-thread bits; matmulWeights picks the mode; bad options are refused', () => {
  const m = 37, rows = 401, cols = 576;
  const wb = randomGgmlMatrix(rand, GGML.Q8_0, rows, cols);
  const x = Float32Array.from({ length: m * cols }, () => rand() * 2 - 1);
  const a = run(one, wb, x, m, rows, cols), b = run(two, wb, x, m, rows, cols);
  assert.equal(Array.from(b), Array.from(a));

  const W = ggmlWeights(GGML.Q8_0, rows, cols, wb, one), xs = one.alloc(m * cols), out = one.alloc(m * rows);
  xs.set(x);
  matmulWeights(one, out, xs, m, W, 'q8_0');
  assert.equal(Array.from(out), Array.from(a));
  matmulWeights(one, out, xs, m, W, 'exact');
  assert.not.equal(Array.from(out), Array.from(a), 'the exact path does not round the activations');
  assert.throws(() => matmulWeights(one, out, xs, m, W, 'q8' as never), /activations must be one of "exact", "q8_0", got "q8"/);
  const data = one.allocU8(ggmlRowBytes(GGML.Q4_1, cols));
  assert.throws(() => one.matmulGgmlActivationsQ8_0(GGML.Q4_1, out, 0, data, 0, xs, 0, 1, 1, cols), /weights must be Q8_0 or Q4_0/);
  assert.throws(() => one.matmulGgmlActivationsQ8_0(GGML.Q8_0, out, 0, data, 0, xs, 0, 1, 1, 40), /not a multiple of the block size 32/);
});

test.run();
