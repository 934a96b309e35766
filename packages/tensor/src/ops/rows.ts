// Checked row-wise ops: they act on the last axis, independently for every row. Rows must be
// contiguous (unit stride on the last axis); the leading axes may have any strides.
import * as raw from '../raw/index.js';
import { fmtShape, forEachRow, Tensor } from '../tensor.js';
import { requireNoPartialOverlap, requireNumber, requireRank, requireSameShape, requireTensor, requireUnitInnerStride } from './check.js';

/** Checks x has rows (at least one axis, unit stride along the last) and returns the row length. */
function requireRows(op: string, x: Tensor): number {
  requireTensor(op, 'x', x);
  if (x.ndim === 0) throw new RangeError(`${op}: x must have at least one axis, got shape []`);
  requireUnitInnerStride(op, 'x', x);
  return x.shape[x.ndim - 1]!;
}

function requireWeight(op: string, name: string, w: Tensor, n: number): void {
  requireRank(op, name, w, 1);
  if (w.shape[0] !== n) throw new RangeError(`${op}: ${name} ${fmtShape(w.shape)} must have length ${n} (the last axis of x)`);
  requireUnitInnerStride(op, name, w);
}

function rowArgs(op: string, out: Tensor, x: Tensor): number {
  requireSameShape(op, 'out, x', out, x);
  const n = requireRows(op, x);
  requireUnitInnerStride(op, 'out', out);
  requireNoPartialOverlap(op, out, x, 'x');
  return n;
}

/** out = w ⊙ x / sqrt(mean(x²) + eps) along the last axis. out may be x. Returns out. */
export function rmsnorm(out: Tensor, x: Tensor, w: Tensor, eps = 1e-5): Tensor {
  const n = rowArgs('rmsnorm', out, x);
  requireWeight('rmsnorm', 'w', w, n);
  requireNumber('rmsnorm', 'eps', eps, { min: 0 });
  forEachRow(x.shape, out, x, null, (po, _so, px) => raw.rmsnorm(out.data, po, x.data, px, w.data, w.offset, n, eps));
  return out;
}

/** out = (x - mean) / sqrt(var + eps) ⊙ w + b along the last axis (b = null: no bias). Returns out. */
export function layernorm(out: Tensor, x: Tensor, w: Tensor, b: Tensor | null, eps = 1e-5): Tensor {
  const n = rowArgs('layernorm', out, x);
  requireWeight('layernorm', 'w', w, n);
  if (b !== null) requireWeight('layernorm', 'b', b, n);
  requireNumber('layernorm', 'eps', eps, { min: 0 });
  forEachRow(x.shape, out, x, null, (po, _so, px) =>
    raw.layernorm(out.data, po, x.data, px, w.data, w.offset, b === null ? null : b.data, b === null ? 0 : b.offset, n, eps));
  return out;
}

/** Stable softmax along the last axis, in place. Returns x. */
export function softmax(x: Tensor): Tensor {
  const n = requireRows('softmax', x);
  forEachRow(x.shape, x, null, null, (p) => raw.softmax(x.data, p, n));
  return x;
}

export interface RopeOptions {
  /** 'interleaved': pairs (x[2i], x[2i+1]) as llama2.c/GGUF; 'half': pairs (x[i], x[i+d/2]) as Hugging Face. */
  style: 'interleaved' | 'half';
  /** Frequency base θ (10000 for LLaMA-2, 500000 for LLaMA-3, …). Default 10000. */
  base?: number;
  /** Leading dims of each head that rotate (default: all of the last axis); the rest pass through. */
  rotaryDim?: number;
}

/**
 * Rotary position embedding for position `pos`, in place, on every row of x (the last axis is one
 * head; e.g. x of shape [nHeads, headDim]). Returns x.
 */
export function rope(x: Tensor, pos: number, options: RopeOptions): Tensor {
  const headDim = requireRows('rope', x);
  const { style, base = 10000, rotaryDim = headDim } = options;
  if (style !== 'interleaved' && style !== 'half') throw new RangeError(`rope: style must be 'interleaved' or 'half', got ${String(style)}`);
  if (!Number.isInteger(pos) || pos < 0) throw new RangeError(`rope: pos must be a non-negative integer, got ${pos}`);
  requireNumber('rope', 'base', base, { min: Number.MIN_VALUE });
  if (!Number.isInteger(rotaryDim) || rotaryDim < 0 || rotaryDim % 2 !== 0 || rotaryDim > headDim) {
    throw new RangeError(`rope: rotaryDim ${rotaryDim} must be even and at most the head size ${headDim} (x shape ${fmtShape(x.shape)})`);
  }
  forEachRow(x.shape, x, null, null, (p) => raw.rope(x.data, p, 1, headDim, rotaryDim, pos, base, style));
  return x;
}
