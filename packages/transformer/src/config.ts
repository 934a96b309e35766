// Model hyperparameters and the sanity checks every loader runs before allocating anything.

export interface ModelConfig {
  /** Residual stream width. */
  dim: number;
  /** FFN inner width. */
  hiddenDim: number;
  nLayers: number;
  /** Query heads. */
  nHeads: number;
  /** Key/value heads (grouped-query attention when < nHeads). */
  nKvHeads: number;
  vocabSize: number;
  /** Training context length (informational: a multi-state RNN can run past it). */
  seqLen: number;
  /** Classifier shares the token embedding matrix. */
  sharedClassifier: boolean;
  /** RMSNorm epsilon. */
  normEps: number;
  /** RoPE base (theta). */
  ropeTheta: number;
}

/** Derived sizes used throughout the forward pass. */
export function headDimOf(c: ModelConfig): number {
  return c.dim / c.nHeads;
}
export function kvDimOf(c: ModelConfig): number {
  return (c.dim / c.nHeads) * c.nKvHeads;
}

// Upper bounds that no llama2.c-format fp32 model we can load in memory exceeds; they exist so a
// corrupt header is rejected before it triggers a multi-gigabyte allocation.
const MAX_DIM = 1 << 16;
const MAX_LAYERS = 1024;
const MAX_VOCAB = 1 << 22;
const MAX_SEQ = 1 << 24;

/** Throws a clear error (prefixed with `source`, e.g. the file name) if the config is not a sane LLaMA geometry. */
export function validateConfig(c: ModelConfig, source: string): void {
  const fail = (what: string): never => {
    throw new Error(`${source}: invalid model header: ${what}`);
  };
  const positiveInt = (name: keyof ModelConfig, max: number): void => {
    const v = c[name] as number;
    if (!Number.isInteger(v) || v <= 0) fail(`${name} must be a positive integer, got ${v}`);
    if (v > max) fail(`${name} = ${v} exceeds the limit ${max}`);
  };
  positiveInt('dim', MAX_DIM);
  positiveInt('hiddenDim', 8 * MAX_DIM);
  positiveInt('nLayers', MAX_LAYERS);
  positiveInt('nHeads', MAX_DIM);
  positiveInt('nKvHeads', MAX_DIM);
  positiveInt('vocabSize', MAX_VOCAB);
  positiveInt('seqLen', MAX_SEQ);
  if (c.dim % c.nHeads !== 0) fail(`dim ${c.dim} is not divisible by n_heads ${c.nHeads}`);
  if (c.nHeads % c.nKvHeads !== 0) fail(`n_heads ${c.nHeads} is not divisible by n_kv_heads ${c.nKvHeads}`);
  if ((c.dim / c.nHeads) % 2 !== 0) fail(`head size ${c.dim / c.nHeads} must be even for RoPE`);
}
