// Checked linear algebra. Matrices need unit stride along one axis: row-major views (any row
// stride, e.g. a column slice) and transposed views of row-major data both run without copying —
// a transposed B simply selects the A·Bᵀ kernel.
import * as raw from '../raw/index.js';
import { fmtShape, Tensor } from '../tensor.js';
import { requireNoOverlap, requireRank, requireUnitInnerStride } from './check.js';

/** How a 2-D view maps to memory: row-major with `ld` between rows, or the transpose of that. */
interface MatrixLayout { transposed: boolean; ld: number }

function layout(op: string, name: string, t: Tensor): MatrixLayout {
  const [rows, cols] = t.shape as [number, number];
  const [sr, sc] = t.strides as [number, number];
  if (cols <= 1 || sc === 1) return { transposed: false, ld: rows <= 1 ? cols : sr };
  if (rows <= 1 || sr === 1) return { transposed: true, ld: sc };
  throw new RangeError(`${op}: ${name} with shape ${fmtShape(t.shape)} and strides ${fmtShape(t.strides)} has no unit-stride axis; ` +
    'call .contiguous() to copy it first');
}

/** out (m×n) = a (m×k) · b (k×n). Returns out. */
export function matmul(out: Tensor, a: Tensor, b: Tensor): Tensor {
  return matmulChecked('matmul', out, a, b);
}

/** out (m×n) = a (m×k) · bᵀ for b (n×k), the layout of a weight matrix. Returns out. */
export function matmulT(out: Tensor, a: Tensor, b: Tensor): Tensor {
  requireRank('matmulT', 'b', b, 2);
  return matmulChecked('matmulT', out, a, b.transpose());
}

function matmulChecked(op: string, out: Tensor, a: Tensor, b: Tensor): Tensor {
  requireRank(op, 'out', out, 2); requireRank(op, 'a', a, 2); requireRank(op, 'b', b, 2);
  const [m, k] = a.shape as [number, number];
  const n = b.shape[1]!;
  if (b.shape[0] !== k || out.shape[0] !== m || out.shape[1] !== n) {
    // matmulT received b as (n×k) and transposed it; report the shape the caller passed.
    const bShown = op === 'matmulT' ? `b ${fmtShape([n, b.shape[0]!])}` : `b ${fmtShape(b.shape)}`;
    throw new RangeError(`${op}: shapes do not chain: a ${fmtShape(a.shape)}, ${bShown}, out ${fmtShape(out.shape)}; ` +
      `expected out ${fmtShape([m, n])} and inner dimensions equal`);
  }
  requireNoOverlap(op, out, a, 'a'); requireNoOverlap(op, out, b, 'b');
  const lo = layout(op, 'out', out), la = layout(op, 'a', a), lb = layout(op, 'b', b);
  if (lo.transposed) throw new RangeError(`${op}: out must be row-major (unit stride on its last axis), got strides ${fmtShape(out.strides)}`);
  if (la.transposed) throw new RangeError(`${op}: a must be row-major (unit stride on its last axis), got strides ${fmtShape(a.strides)}; call .contiguous() first`);
  if (lb.transposed) {
    // b (k×n) is the transpose of a row-major (n×k) matrix: exactly the A·Bᵀ kernel.
    raw.matmulT(out.data, out.offset, a.data, a.offset, b.data, b.offset, m, n, k, la.ld, lb.ld, lo.ld);
  } else {
    raw.matmul(out.data, out.offset, a.data, a.offset, b.data, b.offset, m, n, k, la.ld, lb.ld, lo.ld);
  }
  return out;
}

/**
 * Batched matmul over the leading axis: out[t] = a[t] · b[t] (b rank 3) or a[t] · b (b rank 2,
 * shared across the batch). Returns out.
 */
export function matmulBatched(out: Tensor, a: Tensor, b: Tensor): Tensor {
  return batched('matmulBatched', matmul, out, a, b);
}

/** Batched A·Bᵀ: out[t] = a[t] · b[t]ᵀ (b rank 3) or a[t] · bᵀ (b rank 2, e.g. one weight matrix). */
export function matmulTBatched(out: Tensor, a: Tensor, b: Tensor): Tensor {
  return batched('matmulTBatched', matmulT, out, a, b);
}

function batched(op: string, each: (o: Tensor, a: Tensor, b: Tensor) => Tensor, out: Tensor, a: Tensor, b: Tensor): Tensor {
  requireRank(op, 'out', out, 3); requireRank(op, 'a', a, 3);
  if (b.ndim !== 2 && b.ndim !== 3) throw new RangeError(`${op}: b must have rank 2 or 3, got shape ${fmtShape(b.shape)}`);
  const batch = a.shape[0]!;
  if (out.shape[0] !== batch || (b.ndim === 3 && b.shape[0] !== batch)) {
    throw new RangeError(`${op}: batch sizes differ: out ${fmtShape(out.shape)}, a ${fmtShape(a.shape)}, b ${fmtShape(b.shape)}`);
  }
  try {
    for (let t = 0; t < batch; t++) each(out.pick(0, t), a.pick(0, t), b.ndim === 3 ? b.pick(0, t) : b);
  } catch (e) {
    // Re-throw under the batched op's name with the full shapes.
    throw new RangeError(`${op}: out ${fmtShape(out.shape)}, a ${fmtShape(a.shape)}, b ${fmtShape(b.shape)}: ${(e as Error).message}`);
  }
  return out;
}

/** out (rows) = w (rows×cols) · x (cols). w may be a row-major or transposed view. Returns out. */
export function matvec(out: Tensor, w: Tensor, x: Tensor): Tensor {
  requireRank('matvec', 'out', out, 1); requireRank('matvec', 'w', w, 2); requireRank('matvec', 'x', x, 1);
  const [rows, cols] = w.shape as [number, number];
  if (x.shape[0] !== cols || out.shape[0] !== rows) {
    throw new RangeError(`matvec: shapes do not chain: w ${fmtShape(w.shape)}, x ${fmtShape(x.shape)}, out ${fmtShape(out.shape)}; ` +
      `expected x [${cols}] and out [${rows}]`);
  }
  requireUnitInnerStride('matvec', 'x', x); requireUnitInnerStride('matvec', 'out', out);
  requireNoOverlap('matvec', out, w, 'w'); requireNoOverlap('matvec', out, x, 'x');
  const lw = layout('matvec', 'w', w);
  if (lw.transposed) {
    // w is the transpose of a row-major (cols×rows) matrix: out = xᵀ·that, a 1-row matmul.
    raw.matmul(out.data, out.offset, x.data, x.offset, w.data, w.offset, 1, rows, cols, cols, lw.ld, rows);
  } else {
    raw.matvec(out.data, out.offset, w.data, w.offset, x.data, x.offset, rows, cols, lw.ld);
  }
  return out;
}

/** Σ a[i]·b[i] over two 1-D tensors of equal length (any strides). */
export function dot(a: Tensor, b: Tensor): number {
  requireRank('dot', 'a', a, 1); requireRank('dot', 'b', b, 1);
  const n = a.shape[0]!;
  if (b.shape[0] !== n) throw new RangeError(`dot: lengths differ: a ${fmtShape(a.shape)}, b ${fmtShape(b.shape)}`);
  const sa = a.strides[0]!, sb = b.strides[0]!;
  if ((sa === 1 || n <= 1) && (sb === 1 || n <= 1)) return raw.dot(a.data, a.offset, b.data, b.offset, n);
  let s = 0;
  for (let i = 0; i < n; i++) s += a.data[a.offset + i * sa]! * b.data[b.offset + i * sb]!;
  return s;
}
