// Argument checks and iteration shared by the checked Tensor-level ops. Every failure names the
// op, the argument and the shapes/strides involved.
import { fmtShape, Tensor, type Shape } from '../tensor.js';

export function requireTensor(op: string, name: string, t: unknown): asserts t is Tensor {
  if (!(t instanceof Tensor)) {
    const got = t === null ? 'null' : typeof t === 'object' ? (t as object).constructor?.name ?? 'object' : typeof t;
    throw new TypeError(`${op}: ${name} must be a Tensor, got ${got}`);
  }
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

/**
 * Visits the rows (last axis) of up to three same-shaped tensors together: fn receives each
 * row's start position and stride in every tensor and the row length. One call when the
 * tensors are 1-D; the odometer over leading axes allocates one small index array per call.
 */
export function forEachRow(shape: Shape, t0: Tensor, t1: Tensor | null, t2: Tensor | null,
  fn: (p0: number, s0: number, p1: number, s1: number, p2: number, s2: number, n: number) => void): void {
  let count = 1;
  for (const d of shape) count *= d;
  if (count === 0) return;
  const nd = shape.length;
  if (nd === 0) { fn(t0.offset, 1, t1?.offset ?? 0, 1, t2?.offset ?? 0, 1, 1); return; }
  const last = nd - 1, n = shape[last]!;
  const s0 = t0.strides[last]!, s1 = t1?.strides[last] ?? 0, s2 = t2?.strides[last] ?? 0;
  let p0 = t0.offset, p1 = t1?.offset ?? 0, p2 = t2?.offset ?? 0;
  const idx = new Array<number>(nd).fill(0);
  for (;;) {
    fn(p0, s0, p1, s1, p2, s2, n);
    let d = last - 1;
    for (; d >= 0; d--) {
      idx[d]!++;
      p0 += t0.strides[d]!; if (t1) p1 += t1.strides[d]!; if (t2) p2 += t2.strides[d]!;
      if (idx[d]! < shape[d]!) break;
      const back = idx[d]!;
      p0 -= back * t0.strides[d]!; if (t1) p1 -= back * t1.strides[d]!; if (t2) p2 -= back * t2.strides[d]!;
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}
