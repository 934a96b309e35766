// Pure-TS products with weights in ggml blocks: each block is decoded once (to the exact float32
// values ggml's dequantization gives) into a small scratch buffer, then dotted with every
// activation row in float64. Correct on every backend, not fast; the wasm backend has SIMD kernels.
import { dequantizeBlocksUnchecked } from './ggml-dequant.js';
import { ggmlTypeInfo } from './ggml-types.js';

const SPANS = [32, 16, 8, 4, 2, 1];
let block = new Float32Array(256);
let acc = new Float64Array(16);

/**
 * out[oOff + i·ldo + r] = Σ_c W[r][c] · x[xOff + i·ldx + c] for i < m, r < rows, where row r of W
 * is `cols` values of ggml type `type` at data[dataOff + r·rowBytes ..]. Unchecked: the caller
 * validated the type, shapes and bounds. One pass over the weights for all m activation rows.
 */
export function matmulGgmlJs(type: number, out: Float32Array, oOff: number, ldo: number, data: Uint8Array, dataOff: number,
  x: Float32Array, xOff: number, ldx: number, m: number, rows: number, cols: number): void {
  const info = ggmlTypeInfo(type);
  // Plain element types (F32/F16/BF16, block size 1) are decoded a span of up to 32 values at a time.
  const per = info.blockSize > 1 ? 1 : SPANS.find((n) => cols % n === 0)!;
  const bs = info.blockSize * per, bb = info.blockBytes * per;
  const nBlocks = cols / bs, rowBytes = nBlocks * bb;
  if (block.length < bs) block = new Float32Array(bs);
  if (acc.length < m) acc = new Float64Array(Math.max(m, 2 * acc.length));
  const w = block, a = acc;
  for (let r = 0; r < rows; r++) {
    a.fill(0, 0, m);
    const rowAt = dataOff + r * rowBytes;
    for (let k = 0; k < nBlocks; k++) {
      dequantizeBlocksUnchecked(type, data, rowAt + k * bb, w, 0, per, info.blockSize, info.blockBytes);
      const c0 = k * bs;
      for (let i = 0; i < m; i++) {
        const xb = xOff + i * ldx + c0;
        let s = 0;
        for (let j = 0; j < bs; j++) s += w[j]! * x[xb + j]!;
        a[i]! += s;
      }
    }
    for (let i = 0; i < m; i++) out[oOff + i * ldo + r] = a[i]!;
  }
}

/** out[oOff + r] = W[r] · x[xOff ..] (matmulGgmlJs with one activation row). */
export function matvecGgmlJs(type: number, out: Float32Array, oOff: number, data: Uint8Array, dataOff: number,
  x: Float32Array, xOff: number, rows: number, cols: number): void {
  matmulGgmlJs(type, out, oOff, 0, data, dataOff, x, xOff, 0, 1, rows, cols);
}
