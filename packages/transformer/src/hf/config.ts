// A Hugging Face config.json → the model's config and the facts the weight mapping needs.
// Each supported model_type is one entry of HF_ARCHITECTURES; the differences between them are
// config fields of the one layer body (arch.ts), never a second forward pass.
import { architecture, type Architecture, type RopeScaling } from '../arch.js';
import type { ModelConfig } from '../config.js';
import { ModelFileError } from '../file-errors.js';

export type HfFamily = 'llama' | 'mistral' | 'qwen2' | 'qwen3' | 'gpt2' | 'phi3' | 'gemma2';

/** model_type → the family whose mapping it uses (the transformers classes are named in errors). */
export const HF_ARCHITECTURES: Readonly<Record<string, { family: HfFamily; cls: string }>> = Object.freeze({
  llama: { family: 'llama', cls: 'LlamaForCausalLM' },
  mistral: { family: 'mistral', cls: 'MistralForCausalLM' },
  qwen2: { family: 'qwen2', cls: 'Qwen2ForCausalLM' },
  qwen3: { family: 'qwen3', cls: 'Qwen3ForCausalLM' },
  gpt2: { family: 'gpt2', cls: 'GPT2LMHeadModel' },
  phi3: { family: 'phi3', cls: 'Phi3ForCausalLM' },
  gemma2: { family: 'gemma2', cls: 'Gemma2ForCausalLM' },
});

export interface HfLayout {
  family: HfFamily;
  config: ModelConfig;
  /** Tokens the config names as BOS/EOS (null when absent). */
  bosId: number | null;
  eosIds: number[];
}

type Json = Record<string, unknown>;

/** Reads config.json's fields with errors that name the field and the file. */
class Fields {
  constructor(private readonly json: Json, private readonly where: string) {}
  has(name: string): boolean {
    return this.json[name] !== undefined && this.json[name] !== null;
  }
  raw(name: string): unknown {
    return this.json[name];
  }
  int(name: string, fallback?: number): number {
    const v = this.json[name];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw new ModelFileError(`${this.where}: missing "${name}"`);
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new ModelFileError(`${this.where}: "${name}" must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  }
  num(name: string, fallback?: number): number {
    const v = this.json[name];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw new ModelFileError(`${this.where}: missing "${name}"`);
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ModelFileError(`${this.where}: "${name}" must be a finite number, got ${JSON.stringify(v)}`);
    return v;
  }
  bool(name: string, fallback: boolean): boolean {
    const v = this.json[name];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') throw new ModelFileError(`${this.where}: "${name}" must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }
  /** An id or a list of ids (eos_token_id may be either). */
  ids(name: string): number[] {
    const v = this.json[name];
    if (v === undefined || v === null) return [];
    const list = Array.isArray(v) ? v : [v];
    for (const id of list) if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new ModelFileError(`${this.where}: "${name}" must be token ids, got ${JSON.stringify(v)}`);
    return list as number[];
  }
}

/** Maps a parsed config.json onto ModelConfig; an unknown model_type lists the supported ones. */
export function hfLayout(json: unknown, where: string): HfLayout {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ModelFileError(`${where}: config.json must be a JSON object`);
  const f = new Fields(json as Json, where);
  const modelType = f.raw('model_type');
  const entry = typeof modelType === 'string' ? HF_ARCHITECTURES[modelType] : undefined;
  if (entry === undefined) {
    const archs = f.raw('architectures');
    const supported = Object.entries(HF_ARCHITECTURES).map(([t, e]) => `${t} (${e.cls})`).join(', ');
    throw new ModelFileError(`${where}: model_type ${JSON.stringify(modelType)}${Array.isArray(archs) ? ` (architectures ${JSON.stringify(archs)})` : ''} is not supported; supported: ${supported}`);
  }
  const family = entry.family;
  const config = family === 'gpt2' ? gpt2Config(f) : ropeModelConfig(f, family, where);
  return { family, config, bosId: f.ids('bos_token_id')[0] ?? null, eosIds: f.ids('eos_token_id') };
}

function gpt2Config(f: Fields): ModelConfig {
  const dim = f.int('n_embd');
  return {
    dim, hiddenDim: f.int('n_inner', 4 * dim), nLayers: f.int('n_layer'), nHeads: f.int('n_head'), nKvHeads: f.int('n_head'),
    vocabSize: f.int('vocab_size'), seqLen: f.int('n_positions'), sharedClassifier: true, normEps: f.num('layer_norm_epsilon', 1e-5),
    arch: architecture({ norm: 'layernorm', activation: 'gelu_tanh', positions: { kind: 'learned' } }),
  };
}

function ropeModelConfig(f: Fields, family: HfFamily, where: string): ModelConfig {
  const dim = f.int('hidden_size'), nHeads = f.int('num_attention_heads'), nLayers = f.int('num_hidden_layers');
  // qwen3's transformers default is 128, not hidden/heads: read it whenever it is there.
  const headDim = f.has('head_dim') ? f.int('head_dim') : family === 'qwen3' ? 128 : undefined;
  const hd = headDim ?? dim / nHeads;
  const partial = family === 'phi3' ? f.num('partial_rotary_factor', 1) : 1;
  if (!(partial > 0 && partial <= 1)) throw new ModelFileError(`${where}: "partial_rotary_factor" must be in (0, 1], got ${partial}`);
  const rotaryDim = partial === 1 ? null : Math.trunc(hd * partial);
  const gemma = family === 'gemma2';
  const arch: Partial<Architecture> = {
    positions: { kind: 'rope', theta: f.num('rope_theta', 10000), layout: 'half', rotaryDim, scaling: ropeScaling(f, where) },
    slidingWindow: slidingWindows(f, family, nLayers, where),
  };
  if (gemma) {
    Object.assign(arch, {
      activation: 'gelu_tanh',
      // Gemma multiplies the embeddings by sqrt(hidden) rounded to the activations' dtype; the
      // reference runs in float64, where the rounding is nil (and sqrt(hidden) is exact for squares).
      embedScale: Math.sqrt(dim),
      attnSoftcap: f.has('attn_logit_softcapping') ? f.num('attn_logit_softcapping') : 0,
      finalSoftcap: f.has('final_logit_softcapping') ? f.num('final_logit_softcapping') : 0,
      queryPreAttnScalar: f.has('query_pre_attn_scalar') ? f.num('query_pre_attn_scalar') : null,
    });
  }
  const activation = f.raw(gemma ? 'hidden_activation' : 'hidden_act');
  const expected = gemma ? ['gelu_pytorch_tanh', 'gelu_tanh'] : ['silu'];
  if (activation !== undefined && activation !== null && !expected.includes(activation as string)) {
    throw new ModelFileError(`${where}: "${gemma ? 'hidden_activation' : 'hidden_act'}" ${JSON.stringify(activation)} is not supported for ${family} (expected ${expected.join(' or ')})`);
  }
  return {
    dim, hiddenDim: f.int('intermediate_size'), nLayers, nHeads, nKvHeads: f.int('num_key_value_heads', nHeads),
    vocabSize: f.int('vocab_size'), seqLen: f.int('max_position_embeddings', 2048),
    // gemma2 and gpt2 always tie; the others say so (transformers' default is true for qwen2/gemma, false for llama/mistral).
    sharedClassifier: f.bool('tie_word_embeddings', family === 'gemma2' || family === 'qwen2'),
    normEps: f.num('rms_norm_eps', 1e-6),
    ...(headDim !== undefined ? { headDim } : {}),
    arch: architecture(arch),
  };
}

function ropeScaling(f: Fields, where: string): RopeScaling | null {
  const s = f.raw('rope_scaling');
  if (s === undefined || s === null) return null;
  if (typeof s !== 'object' || Array.isArray(s)) throw new ModelFileError(`${where}: "rope_scaling" must be an object or null`);
  const g = new Fields(s as Json, `${where}: rope_scaling`);
  const type = (s as Json).rope_type ?? (s as Json).type;
  if (type === 'default') return null;
  if (type !== 'llama3') throw new ModelFileError(`${where}: rope_scaling type ${JSON.stringify(type)} is not supported (supported: llama3, default)`);
  return {
    type: 'llama3', factor: g.num('factor'), lowFreqFactor: g.num('low_freq_factor'), highFreqFactor: g.num('high_freq_factor'),
    originalMaxPositions: g.int('original_max_position_embeddings'),
  };
}

/**
 * Per-layer windows (transformers 5.x): an explicit `layer_types` list wins; else mistral and phi3
 * window every layer when `sliding_window` is set, qwen2/qwen3 only with `use_sliding_window` (from
 * layer max_window_layers on), gemma2 every other layer starting with layer 0.
 */
function slidingWindows(f: Fields, family: HfFamily, nLayers: number, where: string): number[] | null {
  if (!f.has('sliding_window')) return null;
  const W = f.int('sliding_window');
  const types = f.raw('layer_types');
  if (Array.isArray(types)) {
    if (types.length !== nLayers) throw new ModelFileError(`${where}: "layer_types" lists ${types.length} layers, the model has ${nLayers}`);
    return types.map((t, l) => {
      if (t === 'sliding_attention') return W;
      if (t === 'full_attention') return Infinity;
      throw new ModelFileError(`${where}: layer_types[${l}] = ${JSON.stringify(t)} (expected "sliding_attention" or "full_attention")`);
    });
  }
  const all = (rule: (l: number) => boolean): number[] => Array.from({ length: nLayers }, (_, l) => (rule(l) ? W : Infinity));
  switch (family) {
    case 'mistral': case 'phi3': return all(() => true);
    case 'gemma2': return all((l) => l % 2 === 0);
    case 'qwen2': case 'qwen3': {
      if (!f.bool('use_sliding_window', false)) return null;
      const from = f.num('max_window_layers', 0);
      return all((l) => l >= from);
    }
    default: return null;
  }
}
