// Argument checks shared by the checked Tensor-level ops. Every failure names the
// op, the argument and the shapes/strides involved.
import { describeValue, fmtShape, Tensor, type Shape } from '../tensor.js';

export function requireTensor(op: string, name: string, t: unknown): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${name} must be a Tensor, got ${describeValue(t)}`);
}

export function requireRank(op: string, name: string, t: Tensor, rank: number): void {
  requireTensor(op, name, t);
  if (t.ndim !== rank) throw new RangeError(`${op}: ${name} must have rank ${rank}, got shape ${fmtShape(t.shape)}`);
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function requireSameShape(op: string, names: string, ...ts: Tensor[]): void {
  const each = names.split(', ');
  ts.forEach((t, i) => requireTensor(op, each[i] ?? names, t));
  const first = ts[0]!;
  if (!ts.every((t) => sameShape(t.shape, first.shape))) {
    throw new RangeError(`${op}: shapes of ${names} must match, got ${ts.map((t) => fmtShape(t.shape)).join(' vs ')}`);
  }
}

/** Throws unless the last axis has unit stride (kernels walk rows contiguously). */
export function requireUnitInnerStride(op: string, name: string, t: Tensor): void {
  const last = t.ndim - 1;
  if (last >= 0 && t.shape[last]! > 1 && t.strides[last] !== 1) {
    throw new RangeError(`${op}: ${name} must be contiguous along its last axis, got shape ${fmtShape(t.shape)} ` +
      `with strides ${fmtShape(t.strides)}; call .contiguous() to copy it first`);
  }
}

export function requireNumber(op: string, name: string, v: unknown, { min = -Infinity } = {}): void {
  if (typeof v !== 'number' || Number.isNaN(v) || v < min) {
    throw new RangeError(`${op}: ${name} must be a number${min > -Infinity ? ` >= ${min}` : ''}, got ${String(v)}`);
  }
}

/** [lowest, highest] data position a tensor can touch (empty tensors touch nothing: null). */
function extent(t: Tensor): [number, number] | null {
  if (t.size === 0) return null;
  let lo = t.offset, hi = t.offset;
  for (let d = 0; d < t.ndim; d++) {
    const span = (t.shape[d]! - 1) * t.strides[d]!;
    if (span < 0) lo += span; else hi += span;
  }
  return [lo, hi];
}

function sameView(a: Tensor, b: Tensor): boolean {
  return a.data === b.data && a.offset === b.offset && sameShape(a.shape, b.shape) && sameShape(a.strides, b.strides);
}

function mayOverlap(a: Tensor, b: Tensor): boolean {
  if (a.data.buffer !== b.data.buffer) return false;
  const ea = extent(a), eb = extent(b);
  if (!ea || !eb) return false;
  const baseA = a.data.byteOffset / 4, baseB = b.data.byteOffset / 4;
  return baseA + ea[0] <= baseB + eb[1] && baseB + eb[0] <= baseA + ea[1];
}

/** Elementwise ops may write in place (out is exactly the input view) but not into a shifted overlap. */
export function requireNoPartialOverlap(op: string, out: Tensor, input: Tensor, name: string): void {
  if (!sameView(out, input) && mayOverlap(out, input)) {
    throw new RangeError(`${op}: out ${fmtShape(out.shape)} overlaps ${name} ${fmtShape(input.shape)} in memory without being the same view`);
  }
}

/** Reductions such as matmul read inputs while writing out, so any overlap is an error. */
export function requireNoOverlap(op: string, out: Tensor, input: Tensor, name: string): void {
  if (mayOverlap(out, input)) throw new RangeError(`${op}: out must not share memory with ${name}`);
}
