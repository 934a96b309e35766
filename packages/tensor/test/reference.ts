// Plain, obviously-correct reference implementations (float64 throughout) that the kernels are
// checked against. Written for clarity, not speed; they share no code with src/.

export function refMatvec(w: ArrayLike<number>, x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += w[r * cols + c]! * x[c]!;
    out[r] = s;
  }
  return out;
}

/** A (m×k) · Bᵀ, B (n×k). */
export function refMatmulT(a: ArrayLike<number>, b: ArrayLike<number>, m: number, n: number, k: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += a[i * k + p]! * b[j * k + p]!;
    out[i * n + j] = s;
  }
  return out;
}

export function refSoftmax(x: ArrayLike<number>): Float64Array {
  const max = Math.max(...Array.from(x));
  const e = Array.from(x, (v) => Math.exp(v - max));
  const sum = e.reduce((s, v) => s + v, 0);
  return Float64Array.from(e, (v) => v / sum);
}

export function refRmsnorm(x: ArrayLike<number>, w: ArrayLike<number>, eps: number): Float64Array {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i]! * x[i]!;
  const inv = 1 / Math.sqrt(ss / x.length + eps);
  return Float64Array.from(x, (v, i) => v * inv * w[i]!);
}

export function refLayernorm(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, eps: number): Float64Array {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i]!;
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i]! - mean) ** 2;
  v /= n;
  return Float64Array.from(x, (xi, i) => ((xi - mean) / Math.sqrt(v + eps)) * w[i]! + (b ? b[i]! : 0));
}

export function refSilu(x: number): number { return x / (1 + Math.exp(-x)); }

export function refGeluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

/** erf by its Maclaurin series (converges everywhere; accurate in float64 for |x| < 4). */
export function refErf(x: number): number {
  if (Math.abs(x) >= 6) return Math.sign(x);
  let term = x, sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** erfc: the series for |x| < 3, else the continued fraction e^{-x²}/√π · 1/(x + (1/2)/(x + (2/2)/(x + …))). */
export function refErfc(x: number): number {
  if (x < -3) return 2 - refErfc(-x);
  if (x < 3) return 1 - refErf(x);
  let k = x;
  for (let n = 80; n >= 1; n--) k = x + n / 2 / k;
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * k);
}

export function refGeluErf(x: number): number { return 0.5 * x * refErfc(-x / Math.SQRT2); }

/**
 * RoPE for one head by its definition as complex rotation: pair p = (x[ia(p)], x[ib(p)]) is
 * multiplied by e^{i·pos·θ_p}, θ_p = base^(-2p/rotaryDim).
 */
export function refRope(x: ArrayLike<number>, headDim: number, rotaryDim: number, pos: number, base: number,
  style: 'interleaved' | 'half'): Float64Array {
  const out = Float64Array.from(x);
  const half = rotaryDim / 2;
  for (let h = 0; h < x.length / headDim; h++) {
    for (let p = 0; p < half; p++) {
      const ia = h * headDim + (style === 'interleaved' ? 2 * p : p);
      const ib = h * headDim + (style === 'interleaved' ? 2 * p + 1 : p + half);
      const theta = pos * Math.pow(base, -(2 * p) / rotaryDim);
      const re = x[ia]!, im = x[ib]!;
      out[ia] = re * Math.cos(theta) - im * Math.sin(theta);
      out[ib] = re * Math.sin(theta) + im * Math.cos(theta);
    }
  }
  return out;
}

/** Top-k by full sort: value descending, then index ascending; NaN excluded. */
export function refTopk(x: ArrayLike<number>, k: number): { index: number[]; value: number[] } {
  const order = Array.from(x, (v, i) => ({ v, i })).filter((e) => !Number.isNaN(e.v))
    .sort((a, b) => (b.v - a.v) || (a.i - b.i)).slice(0, k);
  return { index: order.map((e) => e.i), value: order.map((e) => e.v) };
}
