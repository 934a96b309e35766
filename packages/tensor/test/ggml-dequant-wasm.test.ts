// The wasm dequantizers (kernels/dequantize.ts), which convert a prompt's weight panels inside
// the matmul job, against the exact JS dequantizer (ggml's to_float, quant/ggml-dequant.ts) bit
// for bit: random blocks of every supported type, blocks whose scales are zero, ±0, subnormal,
// the smallest normal and the largest finite half, every finite F16 value, and BF16 patterns.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GGML, dequantizeGgmlRow, ggmlRowBytes, ggmlTypeInfo } from '../src/index.js';
import { buildKernelModule, type Dequantizer, type KernelExports } from '../src/wasm/kernels.js';
import { GGML_WASM_DEQUANTIZERS } from '../src/wasm/kernels/dequantize.js';
import { RESERVED_LOW_BYTES } from '../src/wasm/low-memory.js';
import { KERNEL_TYPES, randomGgmlMatrix, typeName } from './ggml-helpers.js';
import { rng } from './helpers.js';

const rand = rng(41);
const memory = new WebAssembly.Memory({ initial: 64 });
const k = (await WebAssembly.instantiate(buildKernelModule({ initialPages: 64, shared: false }), { env: { memory } })).instance.exports as unknown as KernelExports;
/** Source bytes from SRC, f32 results from DST (2 MiB leaves room for every case below). */
const SRC = RESERVED_LOW_BYTES + 60, DST = 1 << 21; // an odd-ish source address: the kernels must not need alignment

/** Byte offsets of each block's f16 scale(s)/min(s), per type (as the block layouts place them). */
const SCALES: Record<number, number[]> = {
  [GGML.Q8_0]: [0], [GGML.Q4_0]: [0], [GGML.Q4_1]: [0, 2], [GGML.Q5_0]: [0], [GGML.Q5_1]: [0, 2], [GGML.IQ4_NL]: [0],
  [GGML.Q4_K]: [0, 2], [GGML.Q5_K]: [0, 2], [GGML.Q6_K]: [208],
};
/** Halves at the edges: ±0, smallest and largest subnormal, smallest normal, largest finite, 1, and negatives. */
const EDGE_HALVES = [0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x0400, 0x8400, 0x7bff, 0xfbff, 0x3c00, 0xbc00];

/** The wasm dequantizer's output for `bytes` (rows × cols of `type`) against dequantizeGgmlRow's, bit for bit. */
function assertSameBits(type: number, bytes: Uint8Array, rows: number, cols: number, what: string): void {
  const n = rows * cols, rb = ggmlRowBytes(type, cols);
  new Uint8Array(memory.buffer, SRC, bytes.length).set(bytes);
  const dst = new Float32Array(memory.buffer, DST, n + 1);
  dst.fill(12345);
  (k[GGML_WASM_DEQUANTIZERS[type]!] as unknown as Dequantizer)(DST, SRC, n / ggmlTypeInfo(type).blockSize);
  const ref = new Float32Array(n);
  for (let r = 0; r < rows; r++) dequantizeGgmlRow(type, bytes, r * rb, cols, ref, r * cols);
  const got = new Uint32Array(memory.buffer, DST, n), want = new Uint32Array(ref.buffer);
  for (let i = 0; i < n; i++) {
    if (got[i] !== want[i]) assert.unreachable(`${what}: value ${i} is ${dst[i]} (0x${got[i]!.toString(16)}), the JS dequantizer gives ${ref[i]} (0x${want[i]!.toString(16)})`);
  }
  assert.is(dst[n], 12345, `${what}: wrote past its ${n} values`);
}

test('every supported type but F32 has a wasm dequantizer', () => {
  assert.equal(KERNEL_TYPES.filter((t) => GGML_WASM_DEQUANTIZERS[t] === undefined).map(typeName), ['F32']);
});

for (const type of KERNEL_TYPES.filter((t) => t !== GGML.F32)) {
  test(`wasm dequantize ${typeName(type)}: random blocks and edge scales equal the JS dequantizer bit for bit`, () => {
    const bs = ggmlTypeInfo(type).blockSize, cols = bs === 1 ? 37 : bs === 256 ? 512 : 96; // 37: F16/BF16's scalar tail
    assertSameBits(type, randomGgmlMatrix(rand, type, 53, cols), 53, cols, `${typeName(type)} random`);
    if (bs === 1) return;
    // One block per edge scale (and min), the codes random.
    const { blockBytes } = ggmlTypeInfo(type), blocks = EDGE_HALVES.length * EDGE_HALVES.length;
    const bytes = Uint8Array.from({ length: blocks * blockBytes }, () => Math.floor(rand() * 256));
    for (let b = 0; b < blocks; b++) {
      SCALES[type]!.forEach((at, i) => {
        const h = EDGE_HALVES[i === 0 ? b % EDGE_HALVES.length : Math.floor(b / EDGE_HALVES.length)]!;
        bytes[b * blockBytes + at] = h & 255; bytes[b * blockBytes + at + 1] = h >> 8;
      });
    }
    assertSameBits(type, bytes, blocks, bs, `${typeName(type)} edge scales`);
  });
}

test('wasm dequantize F16: every finite half; BF16: every finite pattern of the top byte with random low bytes', () => {
  const halves = Array.from({ length: 65536 }, (_, h) => h).filter((h) => (h & 0x7c00) !== 0x7c00);
  assertSameBits(GGML.F16, new Uint8Array(Uint16Array.from(halves).buffer), 1, halves.length, 'F16 all finite');
  const bf = Array.from({ length: 4096 }, (_, i) => ((i & 255) << 8) | Math.floor(rand() * 256)).filter((b) => (b & 0x7f80) !== 0x7f80);
  assertSameBits(GGML.BF16, new Uint8Array(Uint16Array.from(bf).buffer), 1, bf.length, 'BF16');
});

test.run();
