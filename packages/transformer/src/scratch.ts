// Working memory for the forward pass, allocated through the backend once (per-token buffers at
// load, chunk buffers on first prefill). The attention-weights buffer grows by doubling with an
// unbounded state and stops growing at capacity+1 entries for a bounded one.
import { kvDimOf, qDimOf, type ModelConfig } from './config.js';

type Alloc = (n: number) => Float32Array;
/** Gives back a buffer the Alloc made (replaced by a larger one). */
type Free = (a: Float32Array) => void;

/** Buffers holding `rows` tokens at once (rows = 1 for step, the chunk size for prefill). */
export class RowBuffers {
  /** Residual stream, rows × dim. */
  readonly x: Float32Array;
  /** Normed input / projection output, rows × dim. */
  readonly xb: Float32Array;
  /** Attention output (before the output projection), rows × qDim. */
  readonly xb2: Float32Array;
  /** rows × qDim (nHeads × headDim). */
  readonly q: Float32Array;
  /** rows × kvDim. */
  readonly k: Float32Array;
  readonly v: Float32Array;
  /** FFN gate / up, rows × hiddenDim. */
  readonly hb: Float32Array;
  readonly hb2: Float32Array;

  constructor(readonly rows: number, c: ModelConfig, alloc: Alloc) {
    const kv = kvDimOf(c), qDim = qDimOf(c);
    this.x = alloc(rows * c.dim);
    this.xb = alloc(rows * c.dim);
    this.xb2 = alloc(rows * qDim);
    this.q = alloc(rows * qDim);
    this.k = alloc(rows * kv);
    this.v = alloc(rows * kv);
    this.hb = alloc(rows * c.hiddenDim);
    this.hb2 = alloc(rows * c.hiddenDim);
  }

  freeWith(free: Free): void {
    for (const a of [this.x, this.xb, this.xb2, this.q, this.k, this.v, this.hb, this.hb2]) free(a);
  }
}

export class Scratch {
  readonly one: RowBuffers;
  /** Last-position logits (vocab) when the caller passes no output buffer. */
  readonly logits: Float32Array;
  /** Post-softmax weights, nHeads rows of `attStride`. */
  att: Float32Array;
  attStride = 0;
  private chunk: RowBuffers | null = null;
  private chunkLogits: Float32Array | null = null;
  /** A prompt chunk's post-softmax weights (chunk-attention.ts): token i, query head h at (i·nHeads + h)·chunkAttStride. */
  chunkAtt: Float32Array;
  chunkAttStride = 0;
  /** chunkAttViews[i]: chunkAtt from token i's rows on (what the policy reads for token i). */
  chunkAttViews: Float32Array[] = [];

  constructor(private readonly config: ModelConfig, private readonly alloc: Alloc, private readonly free: Free = () => {}) {
    this.one = new RowBuffers(1, config, alloc);
    this.logits = alloc(config.vocabSize);
    this.att = alloc(0);
    this.chunkAtt = alloc(0);
  }

  /**
   * Makes chunkAtt hold `tokens` tokens of nHeads rows of at least `entries` weights; returns the
   * row stride. A new buffer is sized for this request alone (the stride a power of two, so a
   * growing context reallocates only log times): keeping an earlier batch's many rows with a later
   * batch's long stride would multiply them (512 tokens × 64k entries: gigabytes for a 4-token batch).
   */
  chunkAttFor(tokens: number, entries: number): number {
    const nHeads = this.config.nHeads;
    if (entries > this.chunkAttStride || tokens > this.chunkAttViews.length) {
      const stride = Math.max(16, 2 ** Math.ceil(Math.log2(entries)));
      const rows = tokens;
      this.free(this.chunkAtt);
      this.chunkAtt = this.alloc(rows * nHeads * stride);
      this.chunkAttStride = stride;
      this.chunkAttViews = Array.from({ length: rows }, (_, i) => this.chunkAtt.subarray(i * nHeads * stride));
    }
    return this.chunkAttStride;
  }

  /** Makes `att` hold nHeads rows of at least `entries` weights; returns the row stride. */
  attFor(entries: number): number {
    if (entries > this.attStride) {
      const stride = Math.max(entries, 2 * this.attStride, 16);
      this.free(this.att);
      this.att = this.alloc(this.config.nHeads * stride);
      this.attStride = stride;
    }
    return this.attStride;
  }

  /** Chunk buffers for prefill (allocated once, at the largest chunk size requested). */
  chunkBuffers(rows: number): RowBuffers {
    if (!this.chunk || this.chunk.rows < rows) {
      if (this.chunk) this.chunk.freeWith(this.free);
      if (this.chunkLogits) this.free(this.chunkLogits);
      this.chunk = new RowBuffers(rows, this.config, this.alloc);
      this.chunkLogits = null;
    }
    return this.chunk;
  }

  /** rows × vocab logits for prefill callers that want every position's logits. */
  chunkLogitsBuffer(rows: number): Float32Array {
    if (!this.chunkLogits || this.chunkLogits.length < rows * this.config.vocabSize) {
      if (this.chunkLogits) this.free(this.chunkLogits);
      this.chunkLogits = this.alloc(rows * this.config.vocabSize);
    }
    return this.chunkLogits;
  }
}
