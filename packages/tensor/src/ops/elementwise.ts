// Checked elementwise ops: any shapes (equal across arguments), any strides. Fully contiguous
// arguments go straight to the raw kernels; other views run a strided loop per row.
import * as raw from '../raw/index.js';
import { forEachRow, Tensor } from '../tensor.js';
import { requireNoPartialOverlap, requireNumber, requireSameShape } from './check.js';

function allContiguous(...ts: Tensor[]): boolean {
  return ts.every((t) => t.isContiguous());
}

function binaryArgs(op: string, out: Tensor, a: Tensor, b: Tensor): void {
  requireSameShape(op, 'out, a, b', out, a, b);
  requireNoPartialOverlap(op, out, a, 'a');
  requireNoPartialOverlap(op, out, b, 'b');
}

function unaryArgs(op: string, out: Tensor, x: Tensor, name = 'x'): void {
  requireSameShape(op, `out, ${name}`, out, x);
  requireNoPartialOverlap(op, out, x, name);
}

/** out = a + b. Returns out. */
export function add(out: Tensor, a: Tensor, b: Tensor): Tensor {
  binaryArgs('add', out, a, b);
  const o = out.data, x = a.data, y = b.data;
  if (allContiguous(out, a, b)) raw.add(o, out.offset, x, a.offset, y, b.offset, out.size);
  else forEachRow(out.shape, out, a, b, (po, so, pa, sa, pb, sb, n) => {
    for (let i = 0; i < n; i++) o[po + i * so] = x[pa + i * sa]! + y[pb + i * sb]!;
  });
  return out;
}

/** out = a ⊙ b (elementwise product). Returns out. */
export function mul(out: Tensor, a: Tensor, b: Tensor): Tensor {
  binaryArgs('mul', out, a, b);
  const o = out.data, x = a.data, y = b.data;
  if (allContiguous(out, a, b)) raw.mul(o, out.offset, x, a.offset, y, b.offset, out.size);
  else forEachRow(out.shape, out, a, b, (po, so, pa, sa, pb, sb, n) => {
    for (let i = 0; i < n; i++) o[po + i * so] = x[pa + i * sa]! * y[pb + i * sb]!;
  });
  return out;
}

/** out = s · a. Returns out. */
export function scale(out: Tensor, a: Tensor, s: number): Tensor {
  unaryArgs('scale', out, a, 'a');
  requireNumber('scale', 's', s);
  const o = out.data, x = a.data;
  if (allContiguous(out, a)) raw.scale(o, out.offset, x, a.offset, s, out.size);
  else forEachRow(out.shape, out, a, null, (po, so, pa, sa, _p, _s, n) => {
    for (let i = 0; i < n; i++) o[po + i * so] = s * x[pa + i * sa]!;
  });
  return out;
}

/** y += alpha · x (BLAS axpy, in place on y). Returns y. */
export function axpy(y: Tensor, alpha: number, x: Tensor): Tensor {
  requireSameShape('axpy', 'y, x', y, x);
  requireNoPartialOverlap('axpy', y, x, 'x');
  requireNumber('axpy', 'alpha', alpha);
  const yd = y.data, xd = x.data;
  if (allContiguous(y, x)) raw.axpy(yd, y.offset, alpha, xd, x.offset, y.size);
  else forEachRow(y.shape, y, x, null, (py, sy, px, sx, _p, _s, n) => {
    for (let i = 0; i < n; i++) yd[py + i * sy] = yd[py + i * sy]! + alpha * xd[px + i * sx]!;
  });
  return y;
}

/** out = x · sigmoid(x). Returns out. */
export function silu(out: Tensor, x: Tensor): Tensor {
  unaryArgs('silu', out, x);
  const o = out.data, xd = x.data;
  if (allContiguous(out, x)) raw.silu(o, out.offset, xd, x.offset, out.size);
  else forEachRow(out.shape, out, x, null, (po, so, px, sx, _p, _s, n) => {
    for (let i = 0; i < n; i++) raw.silu(o, po + i * so, xd, px + i * sx, 1);
  });
  return out;
}

/** out = silu(gate) ⊙ up (SwiGLU). Returns out. */
export function swiglu(out: Tensor, gate: Tensor, up: Tensor): Tensor {
  requireSameShape('swiglu', 'out, gate, up', out, gate, up);
  requireNoPartialOverlap('swiglu', out, gate, 'gate');
  requireNoPartialOverlap('swiglu', out, up, 'up');
  const o = out.data, g = gate.data, u = up.data;
  if (allContiguous(out, gate, up)) raw.swiglu(o, out.offset, g, gate.offset, u, up.offset, out.size);
  else forEachRow(out.shape, out, gate, up, (po, so, pg, sg, pu, su, n) => {
    for (let i = 0; i < n; i++) raw.swiglu(o, po + i * so, g, pg + i * sg, u, pu + i * su, 1);
  });
  return out;
}

export type GeluApproximation = 'tanh' | 'erf';

/** out = GELU(x): 'erf' is the exact form (BERT), 'tanh' the GPT-2 approximation. Returns out. */
export function gelu(out: Tensor, x: Tensor, approximation: GeluApproximation = 'erf'): Tensor {
  unaryArgs('gelu', out, x);
  if (approximation !== 'tanh' && approximation !== 'erf') {
    throw new RangeError(`gelu: approximation must be 'tanh' or 'erf', got ${String(approximation)}`);
  }
  const kernel = approximation === 'tanh' ? raw.geluTanh : raw.geluErf;
  const o = out.data, xd = x.data;
  if (allContiguous(out, x)) kernel(o, out.offset, xd, x.offset, out.size);
  else forEachRow(out.shape, out, x, null, (po, so, px, sx, _p, _s, n) => {
    for (let i = 0; i < n; i++) kernel(o, po + i * so, xd, px + i * sx, 1);
  });
  return out;
}

/** Copies x into out (any strides, same shape). Returns out. */
export function assign(out: Tensor, x: Tensor): Tensor {
  unaryArgs('assign', out, x);
  const o = out.data, xd = x.data;
  forEachRow(out.shape, out, x, null, (po, so, px, sx, _p, _s, n) => {
    for (let i = 0; i < n; i++) o[po + i * so] = xd[px + i * sx]!;
  });
  return out;
}
