// Checked selection ops over a 1-D, unit-stride tensor (a logits vector).
import * as raw from '../raw/index.js';
import { fmtShape, Tensor } from '../tensor.js';
import { requireRank, requireUnitInnerStride } from './check.js';

function requireVector(op: string, x: Tensor): void {
  requireRank(op, 'x', x, 1);
  requireUnitInnerStride(op, 'x', x);
}

/** Index of the first maximum; NaNs are skipped; -1 for an empty or all-NaN vector. */
export function argmax(x: Tensor): number {
  requireVector('argmax', x);
  return raw.argmax(x.data, x.offset, x.shape[0]!);
}

/**
 * Writes the k largest entries of x, best first (ties: lower index first), into outIndex[0..k) and
 * outValue[0..k); returns how many were found (fewer than k only if x has fewer non-NaN entries).
 */
export function topk(outIndex: Int32Array, outValue: Float32Array, x: Tensor, k: number): number {
  requireVector('topk', x);
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`topk: k must be a non-negative integer, got ${k}`);
  if (!(outIndex instanceof Int32Array) || !(outValue instanceof Float32Array)) {
    throw new TypeError('topk: outIndex must be an Int32Array and outValue a Float32Array');
  }
  if (outIndex.length < k || outValue.length < k) {
    throw new RangeError(`topk: outputs hold ${outIndex.length} indices and ${outValue.length} values, fewer than k = ${k} (x ${fmtShape(x.shape)})`);
  }
  return raw.topk(outIndex, outValue, x.data, x.offset, x.shape[0]!, k);
}
