// The raw kernel set a compute backend provides. The model's hot path calls only these.
// Arrays are plain Float32Arrays plus element offsets; the pure-TS backend works on any
// array, the WebAssembly backend requires arrays from its own `alloc` (they live in its
// WebAssembly.Memory). Every kernel writes its output first (gl-matrix style) and allocates nothing.
export interface Backend {
  readonly name: string;
  /** Zeroed float32 storage usable by this backend's kernels. */
  alloc(n: number): Float32Array;
  /**
   * Gives back an array this backend's alloc (or allocU16/I8/U8) returned, whole; it must not be
   * used afterwards. Backends whose arrays the garbage collector reclaims leave it out.
   */
  free?(view: ArrayBufferView): void;

  /** out[oOff + r] = Σ_c w[wOff + r*cols + c] · x[xOff + c], r < rows. */
  matvec(out: Float32Array, oOff: number, w: Float32Array, wOff: number, x: Float32Array, xOff: number, rows: number, cols: number): void;
  /** out[i*n + j] = Σ_p a[i*k + p] · b[bOff + j*k + p]: A(m×k) · Bᵀ with B (n×k) row-major (a weight matrix). */
  matmulT(out: Float32Array, a: Float32Array, b: Float32Array, bOff: number, m: number, n: number, k: number): void;
  /** out[oOff+i] = w[i] · x[xOff+i] / sqrt(mean(x²) + eps), i < n. out may alias x. */
  rmsnorm(out: Float32Array, oOff: number, x: Float32Array, xOff: number, w: Float32Array, n: number, eps: number): void;
  /**
   * One attention head over `count` cached entries: att[aOff+i] = softmax_i(scale · q·k_i),
   * out[oOff + d] = Σ_i att[aOff+i] · v_i[d]. keys/values hold entry i at i*headDim.
   */
  attendHead(out: Float32Array, oOff: number, q: Float32Array, qOff: number, keys: Float32Array, values: Float32Array,
    count: number, headDim: number, scale: number, att: Float32Array, aOff: number): void;
  /** out[i] = silu(gate[i]) · up[i], i < n (SwiGLU). out may alias gate. */
  swiglu(out: Float32Array, gate: Float32Array, up: Float32Array, n: number): void;
  /** out[i] = a[i] + b[i] (residual). out may alias a. */
  add(out: Float32Array, a: Float32Array, b: Float32Array, n: number): void;
}
