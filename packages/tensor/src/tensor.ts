// Tensor: a Float32Array plus shape, strides and offset — the layout of scijs ndarray, so views
// convert both ways without copying. Element (i0, i1, …) lives at data[offset + Σ i_d · strides[d]].
// Every view method (reshape, slice, pick, transpose) returns a new Tensor over the same data.

export type Shape = readonly number[];

/** Row-major strides for a shape: the last axis is contiguous. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) { strides[d] = s; s *= shape[d]!; }
  return strides;
}

/** Number of elements of a shape (1 for a scalar shape []). */
export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** "[2,3]" for error messages. */
export function fmtShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

function checkShape(op: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`${op}: shape ${fmtShape(shape)} must hold non-negative integers`);
  }
}

export class Tensor {
  readonly data: Float32Array;
  readonly shape: Shape;
  readonly strides: Shape;
  readonly offset: number;
  /** Number of elements. */
  readonly size: number;

  /**
   * A view of `data`. Strides default to row-major; every element the view can reach must lie inside
   * `data` (checked here, so kernels never read out of bounds through a bad view).
   */
  constructor(data: Float32Array, shape: Shape, strides?: Shape, offset = 0) {
    if (!(data instanceof Float32Array)) throw new TypeError(`Tensor: data must be a Float32Array, got ${describeValue(data)}`);
    checkShape('Tensor', shape);
    const st = strides ?? contiguousStrides(shape);
    if (st.length !== shape.length) {
      throw new RangeError(`Tensor: strides ${fmtShape(st)} do not match shape ${fmtShape(shape)} (rank ${shape.length})`);
    }
    if (!st.every(Number.isInteger)) throw new RangeError(`Tensor: strides ${fmtShape(st)} must be integers`);
    if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`Tensor: offset ${offset} must be a non-negative integer`);
    this.data = data;
    this.shape = Object.freeze(shape.slice());
    this.strides = Object.freeze(st.slice());
    this.offset = offset;
    this.size = shapeSize(shape);
    if (this.size > 0) {
      let lo = offset, hi = offset;
      for (let d = 0; d < shape.length; d++) {
        const span = (shape[d]! - 1) * st[d]!;
        if (span < 0) lo += span; else hi += span;
      }
      if (lo < 0 || hi >= data.length) {
        throw new RangeError(`Tensor: shape ${fmtShape(shape)} with strides ${fmtShape(st)} and offset ${offset} ` +
          `reaches elements [${lo}, ${hi}] but data has length ${data.length}`);
      }
    }
  }

  /** A row-major tensor over all of `data`; its length must equal the shape's element count. */
  static from(data: Float32Array | ArrayLike<number>, shape: Shape): Tensor {
    checkShape('Tensor.from', shape);
    const n = shapeSize(shape);
    if (data.length !== n) {
      throw new RangeError(`Tensor.from: data length ${data.length} does not match shape ${fmtShape(shape)} (${n} elements)`);
    }
    return new Tensor(data instanceof Float32Array ? data : Float32Array.from(data), shape);
  }

  /** A zero-filled row-major tensor; `alloc` lets a backend (e.g. WebAssembly) own the memory. */
  static zeros(shape: Shape, alloc: (n: number) => Float32Array = (n) => new Float32Array(n)): Tensor {
    checkShape('Tensor.zeros', shape);
    return new Tensor(alloc(shapeSize(shape)), shape);
  }

  get ndim(): number { return this.shape.length; }

  /** Whether elements are packed in row-major order (axes of length 1 may have any stride). */
  isContiguous(): boolean {
    let expected = 1;
    for (let d = this.shape.length - 1; d >= 0; d--) {
      const n = this.shape[d]!;
      if (n !== 1 && this.strides[d] !== expected) return false;
      expected *= n;
    }
    return true;
  }

  /** Position in `data` of the element at `index` (one integer per axis, bounds-checked). */
  indexOf(index: readonly number[]): number {
    if (index.length !== this.shape.length) {
      throw new RangeError(`Tensor.get: index [${index.join(',')}] has ${index.length} entries for shape ${fmtShape(this.shape)}`);
    }
    let p = this.offset;
    for (let d = 0; d < index.length; d++) {
      const i = index[d]!;
      if (!Number.isInteger(i) || i < 0 || i >= this.shape[d]!) {
        throw new RangeError(`Tensor.get: index [${index.join(',')}] is out of range for shape ${fmtShape(this.shape)} (axis ${d})`);
      }
      p += i * this.strides[d]!;
    }
    return p;
  }

  get(...index: number[]): number { return this.data[this.indexOf(index)]!; }

  set(index: readonly number[], value: number): void { this.data[this.indexOf(index)] = value; }

  /** Normalizes a possibly negative axis, throwing a clear error when out of range. */
  axis(op: string, axis: number): number {
    const a = axis < 0 ? axis + this.ndim : axis;
    if (!Number.isInteger(axis) || a < 0 || a >= this.ndim) {
      throw new RangeError(`${op}: axis ${axis} is out of range for shape ${fmtShape(this.shape)} (rank ${this.ndim})`);
    }
    return a;
  }

  /**
   * Same data, new shape (one entry may be -1: inferred). Requires a contiguous tensor, because a
   * non-contiguous one cannot be reshaped in general without copying; call contiguous() first.
   */
  reshape(shape: Shape): Tensor {
    const inferAt = shape.indexOf(-1);
    if (inferAt !== shape.lastIndexOf(-1)) throw new RangeError(`reshape: at most one -1 allowed in ${fmtShape(shape)}`);
    let target = shape;
    if (inferAt >= 0) {
      const known = shapeSize(shape.filter((_, i) => i !== inferAt));
      if (known === 0 || this.size % known !== 0) {
        throw new RangeError(`reshape: cannot infer -1 in ${fmtShape(shape)} from shape ${fmtShape(this.shape)} (${this.size} elements)`);
      }
      target = shape.map((d, i) => (i === inferAt ? this.size / known : d));
    }
    checkShape('reshape', target);
    if (shapeSize(target) !== this.size) {
      throw new RangeError(`reshape: shape ${fmtShape(this.shape)} (${this.size} elements) cannot become ${fmtShape(target)} (${shapeSize(target)} elements)`);
    }
    requireContiguous('reshape', this);
    return new Tensor(this.data, target, contiguousStrides(target), this.offset);
  }

  /**
   * Elements start, start+step, … < end along one axis (negative start/end count from the end, as
   * in Python; step must be positive). A view: no copy.
   */
  slice(axis: number, start: number, end: number = this.shape[this.axis('slice', axis)]!, step = 1): Tensor {
    const a = this.axis('slice', axis);
    const n = this.shape[a]!;
    const lo = start < 0 ? start + n : start, hi = end < 0 ? end + n : end;
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi > n || lo > hi) {
      throw new RangeError(`slice: range [${start}, ${end}) is out of bounds for axis ${axis} of shape ${fmtShape(this.shape)}`);
    }
    if (!Number.isInteger(step) || step < 1) throw new RangeError(`slice: step ${step} must be a positive integer`);
    const shape = this.shape.slice(), strides = this.strides.slice();
    shape[a] = Math.ceil((hi - lo) / step);
    strides[a] = this.strides[a]! * step;
    return new Tensor(this.data, shape, strides, shape[a] === 0 ? this.offset : this.offset + lo * this.strides[a]!);
  }

  /** The sub-tensor at `index` along `axis`, with that axis removed (ndarray's pick). */
  pick(axis: number, index: number): Tensor {
    const a = this.axis('pick', axis);
    const n = this.shape[a]!;
    const i = index < 0 ? index + n : index;
    if (!Number.isInteger(i) || i < 0 || i >= n) {
      throw new RangeError(`pick: index ${index} is out of range for axis ${axis} of shape ${fmtShape(this.shape)}`);
    }
    const shape = this.shape.filter((_, d) => d !== a), strides = this.strides.filter((_, d) => d !== a);
    return new Tensor(this.data, shape, strides, this.offset + i * this.strides[a]!);
  }

  /** Axes permuted (default: reversed, i.e. the matrix transpose for rank 2). A view: no copy. */
  transpose(...axes: number[]): Tensor {
    const order = axes.length === 0 ? this.shape.map((_, d) => this.ndim - 1 - d) : axes.map((ax) => this.axis('transpose', ax));
    const seen = new Set(order);
    if (order.length !== this.ndim || seen.size !== this.ndim) {
      throw new RangeError(`transpose: axes [${axes.join(',')}] are not a permutation of the ${this.ndim} axes of shape ${fmtShape(this.shape)}`);
    }
    return new Tensor(this.data, order.map((d) => this.shape[d]!), order.map((d) => this.strides[d]!), this.offset);
  }

  /** This tensor if already contiguous, else a packed copy (the only copying method besides copy()). */
  contiguous(alloc?: (n: number) => Float32Array): Tensor {
    return this.isContiguous() ? this : this.copy(alloc);
  }

  /** A packed row-major copy. */
  copy(alloc: (n: number) => Float32Array = (n) => new Float32Array(n)): Tensor {
    const out = new Tensor(alloc(this.size), this.shape);
    let i = 0;
    forEachOffset(this, (p) => { out.data[i++] = this.data[p]!; });
    return out;
  }

  /** The elements in row-major order as a plain array (for tests and printing). */
  toArray(): number[] {
    const result: number[] = [];
    forEachOffset(this, (p) => { result.push(this.data[p]!); });
    return result;
  }

  toString(): string {
    return `Tensor(shape ${fmtShape(this.shape)}, strides ${fmtShape(this.strides)}, offset ${this.offset})`;
  }
}

/** Calls fn with the data position of every element, in row-major order. */
export function forEachOffset(t: Tensor, fn: (p: number) => void): void {
  forEachRow(t.shape, t, null, null, (p, s, _p1, _s1, _p2, _s2, n) => { for (let i = 0; i < n; i++) fn(p + i * s); });
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

/** Throws unless t is packed row-major; returns its offset. */
export function requireContiguous(op: string, t: Tensor, name = 'tensor'): number {
  if (!t.isContiguous()) {
    throw new RangeError(`${op}: ${name} with shape ${fmtShape(t.shape)} and strides ${fmtShape(t.strides)} is not contiguous; ` +
      'call .contiguous() to copy it first');
  }
  return t.offset;
}

/** What a bad argument was, for error messages: null, a class name or a typeof. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}
