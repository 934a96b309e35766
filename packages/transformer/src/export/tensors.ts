// A loaded model's weights read back as plain float32 arrays, in the layouts the file formats
// store: the pieces every writer (GGUF, safetensors, llama2.c) shares.
import { dequantizeRow, type WeightMatrix } from '@msrnn/tensor';
import { headDimOf, rotaryDimOf } from '../config.js';
import type { Model } from '../model.js';

/** rows × cols, row-major, dequantized from any weight type. */
export function matrixFloat32(w: WeightMatrix): Float32Array {
  const out = new Float32Array(w.rows * w.cols);
  for (let r = 0; r < w.rows; r++) dequantizeRow(out, r * w.cols, w, r);
  return out;
}

/** Row-major matrices stacked (a fused tensor: q|k|v, gate|up). */
export function stackRows(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** out × in (row-major) → in × out: GPT-2's Conv1D weights are stored input-major. */
export function transposed(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = w[i * cols + j]!;
  return out;
}

/**
 * The q or k rows (or bias) of `heads` heads reordered from one RoPE pairing to the other within
 * each head's rotated dims: 'half' pairs (j, j + r/2) as Hugging Face does, 'interleaved' pairs
 * (2j, 2j + 1) as llama2.c and GGUF llama do. half → interleaved is llama.cpp's converter permute
 * (LlamaModel.permute); interleaved → half is its inverse. Rows past the rotated dims stay put.
 */
export function reorderRopeRows(w: Float32Array, model: Model, heads: number, to: 'interleaved' | 'half'): Float32Array {
  const c = model.config, p = c.arch.positions;
  if (p.kind !== 'rope' || p.layout === to) return w;
  const hd = headDimOf(c), r = rotaryDimOf(c), cols = w.length / (heads * hd);
  const out = w.slice();
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < r / 2; j++) {
      for (let t = 0; t < 2; t++) {
        const half = h * hd + t * (r / 2) + j, pair = h * hd + 2 * j + t;
        const [from, into] = to === 'interleaved' ? [half, pair] : [pair, half];
        out.set(w.subarray(from * cols, (from + 1) * cols), into * cols);
      }
    }
  }
  return out;
}

/** The little-endian bytes of a float32 array (a view; JS typed arrays are little-endian on every platform this runs on). */
export const float32Bytes = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
