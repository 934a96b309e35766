// Random matrices in ggml's block types for kernel tests: random bytes, with every block's f16
// scale (and min) overwritten by a small finite value so no block decodes to Inf/NaN.
import { GGML, GGML_TYPES, dequantizeGgmlRow, encodeFloat16, ggmlRowBytes, ggmlTypeInfo } from '../src/index.js';

/** Byte offsets of the f16 scales/mins inside one block, per type. */
export const SCALE_OFFSETS: Record<number, number[]> = {
  [GGML.Q8_0]: [0], [GGML.Q4_0]: [0], [GGML.Q4_1]: [0, 2], [GGML.Q5_0]: [0], [GGML.Q5_1]: [0, 2], [GGML.IQ4_NL]: [0],
  [GGML.Q4_K]: [0, 2], [GGML.Q5_K]: [0, 2], [GGML.Q6_K]: [208],
};

/** The supported types, every one (the kernels must cover each). */
export const KERNEL_TYPES: readonly number[] = GGML_TYPES.filter((t) => t.supported).map((t) => t.id);

function putHalf(b: Uint8Array, o: number, v: number): void {
  const h = encodeFloat16(new Float32Array([v]))[0]!;
  b[o] = h & 255; b[o + 1] = h >> 8;
}

/** rows × cols of type `type` as bytes (rows of whole blocks), values of order 1. */
export function randomGgmlMatrix(rand: () => number, type: number, rows: number, cols: number): Uint8Array {
  const rb = ggmlRowBytes(type, cols), b = new Uint8Array(rows * rb);
  const n = rows * cols;
  if (type === GGML.F32) { new Float32Array(b.buffer).set(Array.from({ length: n }, () => rand() * 2 - 1)); return b; }
  if (type === GGML.F16 || type === GGML.BF16) {
    for (let i = 0; i < n; i++) {
      const v = rand() * 2 - 1;
      if (type === GGML.F16) putHalf(b, 2 * i, v);
      else { const u = new Uint32Array(new Float32Array([v]).buffer)[0]!; b[2 * i] = (u >>> 16) & 255; b[2 * i + 1] = u >>> 24; }
    }
    return b;
  }
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(rand() * 256);
  const { blockBytes } = ggmlTypeInfo(type);
  const kType = type === GGML.Q4_K || type === GGML.Q5_K || type === GGML.Q6_K;
  for (let o = 0; o < b.length; o += blockBytes) for (const s of SCALE_OFFSETS[type]!) putHalf(b, o + s, (rand() * 2 - 1) * (kType ? 0.004 : 0.1));
  return b;
}

/** The matrix dequantized to float32 (ggml's values), row-major. */
export function dequantizeMatrix(type: number, b: Uint8Array, byteOffset: number, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols), rb = ggmlRowBytes(type, cols);
  for (let r = 0; r < rows; r++) dequantizeGgmlRow(type, b, byteOffset + r * rb, cols, out, r * cols);
  return out;
}

/** out[i·rows + r] = Σ_c w[r][c]·x[i·cols + c] in float64, and the matching Σ|w·x| (the error scale). */
export function referenceProduct(w: Float32Array, x: Float32Array, m: number, rows: number, cols: number): { out: Float64Array; scale: Float64Array } {
  const out = new Float64Array(m * rows), scale = new Float64Array(m * rows);
  for (let i = 0; i < m; i++) for (let r = 0; r < rows; r++) {
    let s = 0, a = 0;
    for (let c = 0; c < cols; c++) { const p = w[r * cols + c]! * x[i * cols + c]!; s += p; a += Math.abs(p); }
    out[i * rows + r] = s; scale[i * rows + r] = a;
  }
  return { out, scale };
}

export const typeName = (id: number): string => ggmlTypeInfo(id).name;
