// Model hyperparameters and the sanity checks every loader runs before allocating anything.
import type { Architecture } from './arch.js';
import { ModelFileError } from './file-errors.js';

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
  /** Norm epsilon (RMSNorm or LayerNorm). */
  normEps: number;
  /** Per-head size when it is not dim / nHeads (qwen3, gemma2); absent = dim / nHeads. */
  headDim?: number;
  /** Norm kind, activation, position encoding, caps, ...: see arch.ts (LLAMA for llama2.c). */
  arch: Architecture;
}

/** Derived sizes used throughout the forward pass. */
export function headDimOf(c: ModelConfig): number {
  return c.headDim ?? c.dim / c.nHeads;
}
/** Width of all query heads together (= dim unless headDim is set apart from it). */
export function qDimOf(c: ModelConfig): number {
  return headDimOf(c) * c.nHeads;
}
export function kvDimOf(c: ModelConfig): number {
  return headDimOf(c) * c.nKvHeads;
}
/** Leading dims of each head that RoPE rotates (0 with learned positions). */
export function rotaryDimOf(c: ModelConfig): number {
  const p = c.arch.positions;
  return p.kind === 'rope' ? p.rotaryDim ?? headDimOf(c) : 0;
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
    throw new ModelFileError(`${source}: invalid model header: ${what}`);
  };
  const positiveInt = (name: 'dim' | 'hiddenDim' | 'nLayers' | 'nHeads' | 'nKvHeads' | 'vocabSize' | 'seqLen' | 'headDim', max: number): void => {
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
  if (c.headDim === undefined) {
    if (c.dim % c.nHeads !== 0) fail(`dim ${c.dim} is not divisible by n_heads ${c.nHeads}`);
  } else {
    positiveInt('headDim', MAX_DIM);
    if (c.headDim * c.nHeads > 8 * MAX_DIM) fail(`head_dim ${c.headDim} × n_heads ${c.nHeads} exceeds the limit ${8 * MAX_DIM}`);
  }
  if (c.nHeads % c.nKvHeads !== 0) fail(`n_heads ${c.nHeads} is not divisible by n_kv_heads ${c.nKvHeads}`);
  if (!(c.normEps >= 0 && c.normEps < 1)) fail(`norm epsilon must be in [0, 1), got ${c.normEps}`);
  validateArchitecture(c, fail);
}

function validateArchitecture(c: ModelConfig, fail: (what: string) => never): void {
  const a = c.arch, hd = headDimOf(c);
  if (a.norm !== 'rmsnorm' && a.norm !== 'layernorm') fail(`norm must be rmsnorm or layernorm, got ${String(a.norm)}`);
  if (a.activation !== 'silu' && a.activation !== 'gelu_tanh') fail(`activation must be silu or gelu_tanh, got ${String(a.activation)}`);
  const p = a.positions;
  if (p.kind === 'rope') {
    const rotary = rotaryDimOf(c);
    if (hd % 2 !== 0 && p.rotaryDim === null) fail(`head size ${hd} must be even for RoPE`);
    if (!Number.isInteger(rotary) || rotary <= 0 || rotary % 2 !== 0 || rotary > hd) fail(`rotary dims ${rotary} must be even, positive and at most the head size ${hd}`);
    if (p.layout !== 'interleaved' && p.layout !== 'half') fail(`rope layout must be interleaved or half, got ${String(p.layout)}`);
    if (!(p.theta > 0 && Number.isFinite(p.theta))) fail(`rope theta must be a positive number, got ${p.theta}`);
    if (p.scaling?.type === 'factors' && p.scaling.factors.length !== rotary / 2) {
      fail(`rope frequency factors hold ${p.scaling.factors.length} values, expected ${rotary / 2} (one per rotated pair)`);
    }
  } else if (p.kind !== 'learned') fail(`position encoding must be rope or learned, got ${String((p as { kind: unknown }).kind)}`);
  const nonNegative = (name: string, v: number): void => { if (!(v >= 0 && Number.isFinite(v))) fail(`${name} must be a finite number >= 0, got ${v}`); };
  nonNegative('attention softcap', a.attnSoftcap);
  nonNegative('final logit softcap', a.finalSoftcap);
  if (!(a.embedScale > 0 && Number.isFinite(a.embedScale))) fail(`embedding scale must be a positive number, got ${a.embedScale}`);
  if (a.queryPreAttnScalar !== null && !(a.queryPreAttnScalar > 0 && Number.isFinite(a.queryPreAttnScalar))) {
    fail(`query_pre_attn_scalar must be a positive number, got ${a.queryPreAttnScalar}`);
  }
  if (a.slidingWindow !== null) {
    if (a.slidingWindow.length !== c.nLayers) fail(`sliding windows are given for ${a.slidingWindow.length} layers, the model has ${c.nLayers}`);
    a.slidingWindow.forEach((w, l) => {
      if (!(w === Infinity || (Number.isInteger(w) && w > 0))) fail(`sliding window of layer ${l} must be a positive integer or Infinity, got ${w}`);
    });
  }
}
