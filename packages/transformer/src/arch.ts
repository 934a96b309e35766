// What distinguishes one decoder-only architecture from another, beyond its sizes and its weights.
// The layer body (step.ts) is written once; it reads this description and the weights it is given.
// Two kinds of variation:
//  - visible in the weights (present or absent): biases on any projection, per-head q/k norms
//    (qwen3), a gate projection (SwiGLU/GeGLU vs a plain MLP), post-attention / post-FFN norms
//    (gemma2), a learned position table (gpt2). The body calls the piece when the weight exists.
//  - not visible in the weights: the fields below. Defaults (LLAMA) describe llama2.c / Llama.
// Load-time mappings (not runtime variations): fused qkv / gate_up weights are split into row
// ranges at load (a WeightMatrix row range is a view for every type); GPT-2's input-major Conv1D
// weights are transposed at load; gemma's RMSNorm `(1 + w)` is folded into the weight at load
// (see foldUnitOffset in norm.ts).

/** RMSNorm (llama, qwen, gemma, mistral, phi3) or LayerNorm with bias (gpt2). */
export type NormKind = 'rmsnorm' | 'layernorm';

/** The FFN nonlinearity. With a gate projection: silu → SwiGLU, gelu_tanh → GeGLU; without: act(up(x)). */
export type Activation = 'silu' | 'gelu_tanh';

/** Llama 3's frequency rescaling (HF rope_scaling.rope_type = "llama3"). */
export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  /** original_max_position_embeddings. */
  originalMaxPositions: number;
}

/** Per-pair divisors of the frequencies (GGUF's `rope_freqs` tensor: theta_i / factors[i]). */
export interface FactorRopeScaling {
  type: 'factors';
  factors: ArrayLike<number>;
}

export type RopeScaling = Llama3RopeScaling | FactorRopeScaling;

/** Rotary position embedding applied to q and k. */
export interface RopePositions {
  kind: 'rope';
  /** Base of the frequencies (HF rope_theta, GGUF rope.freq_base). */
  theta: number;
  /** Where a pair's two dims sit: 'interleaved' (llama2.c, GGUF) or 'half' (HF rotate_half). */
  layout: 'interleaved' | 'half';
  /** Leading dims of each head that rotate; null = the whole head (phi3's partial_rotary_factor < 1 sets it). */
  rotaryDim: number | null;
  scaling: RopeScaling | null;
}

/** Learned absolute position embeddings added to the token embedding (gpt2's wpe); q and k are not rotated. */
export interface LearnedPositions {
  kind: 'learned';
}

export type PositionEncoding = RopePositions | LearnedPositions;

export interface Architecture {
  norm: NormKind;
  activation: Activation;
  positions: PositionEncoding;
  /** Token embeddings are multiplied by this (gemma: sqrt(dim), rounded to the weights' dtype by the loader). */
  embedScale: number;
  /** Attention scores pass through cap·tanh(s/cap) before the softmax (gemma2); 0 = none. */
  attnSoftcap: number;
  /** Logits pass through cap·tanh(l/cap) (gemma2's final_logit_softcapping); 0 = none. */
  finalSoftcap: number;
  /** Scores are scaled by 1/sqrt(this) (gemma2's query_pre_attn_scalar); null = 1/sqrt(headDim). */
  queryPreAttnScalar: number | null;
  /**
   * Per-layer sliding window W (key j visible from query i when i - W < j <= i), Infinity for a
   * global layer; null = every layer global. A hook for the state: a window is a window policy of
   * capacity W on that layer, never a special attention kernel (see README).
   */
  slidingWindow: readonly number[] | null;
}

/** llama2.c / Llama 2: RMSNorm, SwiGLU, interleaved RoPE with theta 10000, no scaling or caps. */
export const LLAMA: Architecture = Object.freeze({
  norm: 'rmsnorm',
  activation: 'silu',
  positions: Object.freeze({ kind: 'rope', theta: 10000, layout: 'interleaved', rotaryDim: null, scaling: null }),
  embedScale: 1,
  attnSoftcap: 0,
  finalSoftcap: 0,
  queryPreAttnScalar: null,
  slidingWindow: null,
} as const);

/** LLAMA with some fields replaced (what a loader builds from a config file). */
export function architecture(overrides: Partial<Architecture> = {}): Architecture {
  return { ...LLAMA, ...overrides };
}

/** The window of layer `l` (Infinity = global attention). */
export function slidingWindowOf(arch: Architecture, l: number): number {
  return arch.slidingWindow?.[l] ?? Infinity;
}
