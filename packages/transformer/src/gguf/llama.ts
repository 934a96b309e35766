// GGUF `llama`-architecture files (TinyLlama, SmolLM/SmolLM2, Llama-2/3.x, Mistral-style models):
// hyperparameters from the metadata and each tensor found, shape- and type-checked, by its name.
//
// RoPE: GGUF llama tensors are laid out for llama.cpp's normal (non-NeoX) rope, which rotates
// adjacent pairs (2j, 2j+1) of each head, as llama2.c does. Hugging Face checkpoints rotate halves
// (j, j + headDim/2); llama.cpp's converter (convert_hf_to_gguf.py, LlamaModel.permute) therefore
// reorders the rows of attn_q and attn_k within each head, from [x_0..x_{d/2-1}, y_0..y_{d/2-1}]
// to [x_0, y_0, x_1, y_1, …], so that interleaved-pair rotation of the permuted rows equals halves
// rotation of the original ones. A GGUF llama file thus needs no permutation here, and an HF
// folder uses the same rotation with the halves pairing instead.
// The other architectures are the same block read through a small mapping (GGUF_ARCHITECTURES):
// llama.cpp rotates qwen2/qwen3/phi3/gemma2 NeoX-style (halves), and its converter leaves their
// q/k rows as Hugging Face stores them; phi3 fuses q|k|v into attn_qkv and gate|up into ffn_up;
// gpt2 has LayerNorms with biases, a fused attn_qkv and biases on every projection; gemma2's
// converter stores its norms with the `1 +` already added (Gemma2Model.modify_tensors).
import { supportedGgmlType } from '@msrnn/tensor';
import { architecture, type Activation, type Architecture, type NormKind, type RopeScaling } from '../arch.js';
import { validateConfig, type ModelConfig } from '../config.js';
import { describeType, GgufValueType, type GgufArray, type GgufMetadata } from './metadata.js';
import type { GgufIndex, GgufTensor, GgufTensorEntry } from './parse.js';
import { ModelFileError } from '../file-errors.js';

/** What one GGUF `general.architecture` is, as a mapping onto the one layer body. */
interface GgufArchitectureSpec {
  /** How rotation pairs dims (llama.cpp's rope type: normal = pairs, NeoX = halves), or learned positions (position_embd). */
  positions: 'interleaved' | 'half' | 'learned';
  norm: NormKind;
  activation: Activation;
  /** q|k|v rows in one attn_qkv tensor (phi3, gpt2) instead of attn_q/attn_k/attn_v. */
  fusedQkv: boolean;
  /** 'gate' = ffn_gate + ffn_up; 'fused' = ffn_up holds the gate rows then the up rows (phi3); 'none' = a plain MLP (gpt2). */
  ffn: 'gate' | 'fused' | 'none';
  /** Projections whose bias the architecture always has (any other bias present is used too). */
  biases: readonly string[];
  /** attn_q_norm / attn_k_norm over head_dim (qwen3). */
  qkNorm: boolean;
  /** post_attention_norm / post_ffw_norm (gemma2). */
  postNorms: boolean;
  /**
   * Which layers use `attention.sliding_window` (when present and > 0): every one, or the even ones
   * (gemma2, where llama.cpp also defaults it to 4096); `attention.sliding_window_pattern` (one
   * bool per layer) overrides the rule. llama.cpp's converter writes no window for Mistral (as
   * llama): such a file runs with full attention unless the loader is given one (slidingWindow).
   */
  window: 'none' | 'all' | 'even';
  /** Fields llama.cpp takes from other keys or derives from the architecture. */
  extra?: (m: GgufMetadata, key: (k: string) => string, sizes: { dim: number; nHeads: number; nLayers: number; headDim: number }) => Partial<Architecture>;
}

const ROPE_MODEL = { norm: 'rmsnorm', activation: 'silu', fusedQkv: false, ffn: 'gate', biases: [], qkNorm: false, postNorms: false, window: 'all' } as const;

/** general.architecture → its mapping (llama.cpp's llama-arch.cpp / llama-model.cpp). */
const GGUF_ARCHITECTURES: Readonly<Record<string, GgufArchitectureSpec>> = {
  llama: { ...ROPE_MODEL, positions: 'interleaved' },
  qwen2: { ...ROPE_MODEL, positions: 'half', biases: ['attn_q', 'attn_k', 'attn_v'] },
  qwen3: { ...ROPE_MODEL, positions: 'half', qkNorm: true },
  phi3: { ...ROPE_MODEL, positions: 'half', fusedQkv: true, ffn: 'fused' },
  gemma2: {
    ...ROPE_MODEL, positions: 'half', activation: 'gelu_tanh', postNorms: true, window: 'even',
    extra: (m, key, s) => ({
      // llama.cpp scales the embeddings by sqrt(n_embd) and has these caps' defaults.
      embedScale: Math.sqrt(s.dim),
      attnSoftcap: m.number(key('attn_logit_softcapping'), 50),
      finalSoftcap: m.number(key('final_logit_softcapping'), 30),
      // llama.cpp stores no query_pre_attn_scalar: it uses head_dim, or dim/heads for the 46-layer
      // 27B. `attention.scale` (its key for a score multiplier), when present, is 1/sqrt(scalar).
      queryPreAttnScalar: m.has(key('attention.scale')) ? 1 / m.number(key('attention.scale')) ** 2 : s.nLayers === 46 ? s.dim / s.nHeads : s.headDim,
    }),
  },
  gpt2: {
    positions: 'learned', norm: 'layernorm', activation: 'gelu_tanh', fusedQkv: true, ffn: 'none',
    biases: ['attn_qkv', 'attn_output', 'ffn_up', 'ffn_down'], qkNorm: false, postNorms: false, window: 'none',
  },
};

export const SUPPORTED_GGUF_ARCHITECTURES: readonly string[] = Object.keys(GGUF_ARCHITECTURES);

/** Rows [row0, row0 + rows) of a GGUF matrix (a fused tensor gives several); for a bias, elements. */
export interface GgufSlice {
  tensor: GgufTensorEntry;
  row0: number;
  rows: number;
}
export interface GgufLinear {
  weight: GgufSlice;
  bias: GgufSlice | null;
}
export interface GgufNorm {
  weight: GgufTensorEntry;
  bias: GgufTensorEntry | null;
}
/** A layer's tensors by their role in the layer body (weights.ts LayerWeights). */
export interface GgufLayer {
  attnNorm: GgufNorm;
  q: GgufLinear; k: GgufLinear; v: GgufLinear;
  qNorm: GgufTensorEntry | null; kNorm: GgufTensorEntry | null;
  o: GgufLinear;
  postAttnNorm: GgufNorm | null;
  ffnNorm: GgufNorm;
  gate: GgufLinear | null; up: GgufLinear; down: GgufLinear;
  postFfnNorm: GgufNorm | null;
}

export interface GgufLlamaLayout {
  /** Sizes and the architecture. */
  config: ModelConfig;
  tokenEmbedding: GgufTensorEntry;
  /** gpt2's position_embd, or null. */
  positionEmbedding: GgufTensorEntry | null;
  layers: GgufLayer[];
  finalNorm: GgufNorm;
  /** output.weight, or token_embd.weight itself when the classifier is tied (no output.weight). */
  classifier: GgufTensorEntry;
}

/** Tensors some llama files carry that the forward pass does not use. */
const IGNORED_TENSOR = /^blk\.\d+\.attn_rot_embd\.weight$/;

export function ggufArchitecture(file: GgufIndex): string {
  return file.metadata.string('general.architecture');
}

/**
 * `tensorData` gives the bytes of the one tensor whose values shape the config (rope_freqs); by
 * default the view parseGguf attached.
 */
export function describeGgufLlama(file: GgufIndex, tensorData: (t: GgufTensorEntry) => Uint8Array = parsedData): GgufLlamaLayout {
  const { metadata: m, source } = file;
  const arch = ggufArchitecture(file);
  const spec = GGUF_ARCHITECTURES[arch];
  if (spec === undefined) {
    throw new ModelFileError(`${source}: GGUF architecture "${arch}" is not supported (supported: ${SUPPORTED_GGUF_ARCHITECTURES.join(', ')})`);
  }
  const fail = (what: string): never => { throw new ModelFileError(`${source}: ${what}`); };
  const key = (k: string) => `${arch}.${k}`;
  const dim = m.integer(key('embedding_length'));
  const nHeads = m.integer(key('attention.head_count'));
  if (nHeads === 0) fail(`${key('attention.head_count')} is 0`);
  const nKvHeads = m.integer(key('attention.head_count_kv'), nHeads);
  const headDim = m.integer(key('attention.key_length'), Math.floor(dim / nHeads));
  const valueDim = m.integer(key('attention.value_length'), headDim);
  const rotaryDim = m.integer(key('rope.dimension_count'), headDim);
  if (valueDim !== headDim) fail(`value head size ${valueDim} ≠ key head size ${headDim}: not supported`);
  const nLayers = m.integer(key('block_count'));

  const tensor = (name: string): GgufTensorEntry => file.tensorsByName.get(name) ?? fail(`missing tensor ${name} (a ${arch} model needs it)`);
  const tokenEmbedding = tensor('token_embd.weight');
  const vocabSize = tokenEmbedding.dims[1] ?? 0;
  const theta = m.number(key('rope.freq_base'), 10000);
  const used = new Set<string>();
  const windowed = spec.window === 'none' ? 0 : m.integer(key('attention.sliding_window'), spec.window === 'even' ? 4096 : 0);
  const config: ModelConfig = {
    dim, hiddenDim: m.integer(key('feed_forward_length')), nLayers, nHeads, nKvHeads, vocabSize,
    seqLen: m.integer(key('context_length')),
    sharedClassifier: !file.tensorsByName.has('output.weight'),
    normEps: m.number(key(spec.norm === 'layernorm' ? 'attention.layer_norm_epsilon' : 'attention.layer_norm_rms_epsilon')),
    ...(headDim * nHeads !== dim ? { headDim } : {}),
    arch: architecture({
      norm: spec.norm,
      activation: spec.activation,
      positions: spec.positions === 'learned' ? { kind: 'learned' } : {
        kind: 'rope', theta, layout: spec.positions, rotaryDim: rotaryDim === headDim ? null : rotaryDim,
        scaling: readRopeScaling(file, tensorData, key, rotaryDim, used, fail),
      },
      slidingWindow: windowed > 0 ? windowPattern(m, key, spec.window, nLayers).map((on) => (on ? windowed : Infinity)) : null,
      ...spec.extra?.(m, key, { dim, nHeads, nLayers, headDim }),
    }),
  };
  validateConfig(config, source);
  if (spec.positions !== 'learned' && !(theta > 1)) fail(`${key('rope.freq_base')} = ${theta} must be > 1`);

  const { hiddenDim } = config;
  const qDim = nHeads * headDim, kvDim = nKvHeads * headDim;
  const take = (name: string, dims: number[], kind: 'matrix' | 'vector'): GgufTensorEntry => {
    const t = tensor(name);
    used.add(name);
    if (t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])) {
      fail(`tensor ${name} has shape [${t.dims.join(', ')}], expected [${dims.join(', ')}] from the metadata`);
    }
    supportedGgmlType(t.type.id, `${source}: tensor ${name}`);
    if (kind === 'vector' && t.type.name !== 'F32' && t.type.name !== 'F16' && t.type.name !== 'BF16') {
      fail(`tensor ${name} is ${t.type.name}; a norm weight or bias must be F32, F16 or BF16`);
    }
    return t;
  };
  take('token_embd.weight', [dim, vocabSize], 'matrix');
  const normOf = (name: string, n = dim): GgufNorm => ({
    weight: take(`${name}.weight`, [n], 'vector'),
    bias: spec.norm === 'layernorm' ? take(`${name}.bias`, [n], 'vector') : null,
  });
  /** `name` [cols, rows] split into row ranges (one range unless fused), each with its bias when there is one. */
  const linears = (name: string, cols: number, parts: number[]): GgufLinear[] => {
    const total = parts.reduce((a, b) => a + b, 0);
    const weight = take(`${name}.weight`, [cols, total], 'matrix');
    const hasBias = spec.biases.includes(name.replace(/^blk\.\d+\./, '')) || file.tensorsByName.has(`${name}.bias`);
    const bias = hasBias ? take(`${name}.bias`, [total], 'vector') : null;
    let row0 = 0;
    return parts.map((rows) => {
      const slice = (tensor: GgufTensorEntry): GgufSlice => ({ tensor, row0, rows });
      const out = { weight: slice(weight), bias: bias ? slice(bias) : null };
      row0 += rows;
      return out;
    });
  };
  const layers: GgufLayer[] = [];
  for (let l = 0; l < nLayers; l++) {
    const b = `blk.${l}.`;
    const [q, k, v] = spec.fusedQkv
      ? linears(`${b}attn_qkv`, dim, [qDim, kvDim, kvDim]) as [GgufLinear, GgufLinear, GgufLinear]
      : [linears(`${b}attn_q`, dim, [qDim])[0]!, linears(`${b}attn_k`, dim, [kvDim])[0]!, linears(`${b}attn_v`, dim, [kvDim])[0]!];
    const [gate, up] = spec.ffn === 'fused' ? linears(`${b}ffn_up`, dim, [hiddenDim, hiddenDim]) as [GgufLinear, GgufLinear]
      : [spec.ffn === 'gate' ? linears(`${b}ffn_gate`, dim, [hiddenDim])[0]! : null, linears(`${b}ffn_up`, dim, [hiddenDim])[0]!];
    layers.push({
      attnNorm: normOf(`${b}attn_norm`),
      q, k, v,
      qNorm: spec.qkNorm ? take(`${b}attn_q_norm.weight`, [headDim], 'vector') : null,
      kNorm: spec.qkNorm ? take(`${b}attn_k_norm.weight`, [headDim], 'vector') : null,
      o: linears(`${b}attn_output`, qDim, [dim])[0]!,
      postAttnNorm: spec.postNorms ? normOf(`${b}post_attention_norm`) : null,
      ffnNorm: normOf(`${b}ffn_norm`),
      gate, up,
      down: linears(`${b}ffn_down`, hiddenDim, [dim])[0]!,
      postFfnNorm: spec.postNorms ? normOf(`${b}post_ffw_norm`) : null,
    });
  }
  const positionEmbedding = spec.positions === 'learned' ? take('position_embd.weight', [dim, tensor('position_embd.weight').dims[1] ?? 0], 'vector') : null;
  if (positionEmbedding && positionEmbedding.dims[1]! < config.seqLen) fail(`tensor position_embd.weight holds ${positionEmbedding.dims[1]} positions, fewer than ${key('context_length')} = ${config.seqLen}`);
  const finalNorm = normOf('output_norm');
  const classifier = config.sharedClassifier ? tokenEmbedding : take('output.weight', [dim, vocabSize], 'matrix');

  const unexpected = file.tensors.filter((t) => !used.has(t.name) && !IGNORED_TENSOR.test(t.name)).map((t) => t.name);
  if (unexpected.length > 0) {
    fail(`tensor${unexpected.length > 1 ? 's' : ''} ${unexpected.slice(0, 5).join(', ')}${unexpected.length > 5 ? ` and ${unexpected.length - 5} more` : ''} ` +
      `not part of a ${arch} model with ${nLayers} layers (block_count); is the file from a different architecture?`);
  }
  return { config, tokenEmbedding, positionEmbedding, layers, finalNorm, classifier };
}

/** Llama 3.1+'s precomputed RoPE divisors: the one tensor whose values shape the config. */
export const ROPE_FREQS_TENSOR = 'rope_freqs.weight';

/** A tensor's bytes as parseGguf attached them. */
function parsedData(t: GgufTensorEntry): Uint8Array {
  const data = (t as Partial<GgufTensor>).data;
  if (!data) throw new Error(`tensor ${t.name}: its bytes were not read (parse the file with parseGguf)`);
  return data;
}

/**
 * Llama 3.1+ files carry the "llama3" rescaling precomputed as the rope_freqs tensor (one divisor
 * per rotated pair); linear scaling (positions / factor) is the same divisor for every pair.
 */
function readRopeScaling(file: GgufIndex, tensorData: (t: GgufTensorEntry) => Uint8Array, key: (k: string) => string, rotaryDim: number, used: Set<string>, fail: (w: string) => never): RopeScaling | null {
  const m = file.metadata;
  const freqs = file.tensorsByName.get(ROPE_FREQS_TENSOR);
  if (freqs) {
    used.add(freqs.name);
    if (freqs.type.name !== 'F32' || freqs.dims.length !== 1 || freqs.dims[0] !== rotaryDim / 2) {
      fail(`tensor rope_freqs.weight must be F32 [${rotaryDim / 2}], got ${freqs.type.name} [${freqs.dims.join(', ')}]`);
    }
    const data = tensorData(freqs);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const factors = Float64Array.from({ length: rotaryDim / 2 }, (_, i) => view.getFloat32(4 * i, true));
    if (!factors.every((f) => f > 0 && Number.isFinite(f))) fail('tensor rope_freqs.weight holds a factor that is not a positive number');
    return { type: 'factors', factors };
  }
  const type = m.string(key('rope.scaling.type'), 'none');
  if (type === 'none') return null;
  const factor = m.number(key('rope.scaling.factor'), 1);
  if (type === 'linear') {
    if (!(factor >= 1 && Number.isFinite(factor))) fail(`${key('rope.scaling.factor')} = ${factor} must be a number >= 1`);
    return factor === 1 ? null : { type: 'factors', factors: new Float64Array(rotaryDim / 2).fill(factor) };
  }
  return fail(`${key('rope.scaling.type')} "${type}" is not supported (supported: none, linear, and llama3's rope_freqs tensor)`);
}

/** Which layers are windowed: `attention.sliding_window_pattern` when present, else the architecture's rule. */
function windowPattern(m: GgufMetadata, key: (k: string) => string, rule: 'none' | 'all' | 'even', nLayers: number): boolean[] {
  const name = key('attention.sliding_window_pattern'), e = m.get(name);
  if (e === undefined) return Array.from({ length: nLayers }, (_, l) => rule === 'all' || l % 2 === 0);
  const a = e.type === GgufValueType.ARRAY ? (e.value as GgufArray) : undefined;
  if (!a || a.elementType !== GgufValueType.BOOL || a.values.length !== nLayers) {
    throw new ModelFileError(`${m.source}: GGUF metadata ${name} should be an array of ${nLayers} bools (one per layer), got ${describeType(e)}${a ? ` of ${a.values.length}` : ''}`);
  }
  return [...(a.values as boolean[])];
}
