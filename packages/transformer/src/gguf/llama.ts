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
import { supportedGgmlType } from '@msrnn/tensor';
import type { ModelConfig } from '../config.js';
import type { LayerTensorName } from '../weights.js';
import type { GgufFile, GgufTensor } from './parse.js';

export const SUPPORTED_GGUF_ARCHITECTURES: readonly string[] = ['llama'];

export type RopeScaling =
  | { kind: 'none' }
  /** Positions divided by `factor` (llama.rope.scaling.type = linear). */
  | { kind: 'linear'; factor: number }
  /** Per-frequency divisors from the rope_freqs tensor (Llama 3.1+'s "llama3" scaling). */
  | { kind: 'frequency-factors'; factors: GgufTensor };

export interface GgufLlamaLayout {
  config: ModelConfig;
  headDim: number;
  /** Dimensions of each head that RoPE rotates (= headDim for llama). */
  ropeDim: number;
  ropeScaling: RopeScaling;
  tokenEmbedding: GgufTensor;
  layers: Record<LayerTensorName, GgufTensor>[];
  finalNorm: GgufTensor;
  /** output.weight, or token_embd.weight itself when the classifier is tied (no output.weight). */
  classifier: GgufTensor;
}

/** The GGUF tensor name of each per-layer weight (llama.cpp's LLM_TENSOR_NAMES for llama). */
export const GGUF_LAYER_TENSORS: Record<LayerTensorName, string> = {
  attNorm: 'attn_norm', wq: 'attn_q', wk: 'attn_k', wv: 'attn_v', wo: 'attn_output',
  ffnNorm: 'ffn_norm', w1: 'ffn_gate', w2: 'ffn_down', w3: 'ffn_up',
};

/** Tensors some llama files carry that the forward pass does not use. */
const IGNORED_TENSOR = /^blk\.\d+\.attn_rot_embd\.weight$/;

export function ggufArchitecture(file: GgufFile): string {
  return file.metadata.string('general.architecture');
}

export function describeGgufLlama(file: GgufFile): GgufLlamaLayout {
  const { metadata: m, source } = file;
  const arch = ggufArchitecture(file);
  if (!SUPPORTED_GGUF_ARCHITECTURES.includes(arch)) {
    throw new Error(`${source}: GGUF architecture "${arch}" is not supported (supported: ${SUPPORTED_GGUF_ARCHITECTURES.join(', ')})`);
  }
  const key = (k: string) => `${arch}.${k}`;
  const dim = m.integer(key('embedding_length'));
  const nHeads = m.integer(key('attention.head_count'));
  const nKvHeads = m.integer(key('attention.head_count_kv'), nHeads);
  const headDim = m.integer(key('attention.key_length'), nHeads > 0 ? dim / nHeads : 0);
  const valueDim = m.integer(key('attention.value_length'), headDim);
  const ropeDim = m.integer(key('rope.dimension_count'), headDim);
  const fail = (what: string): never => { throw new Error(`${source}: ${what}`); };
  if (nHeads === 0 || headDim * nHeads !== dim) fail(`head size ${headDim} × ${nHeads} heads ≠ embedding length ${dim}: not supported yet`);
  if (valueDim !== headDim) fail(`value head size ${valueDim} ≠ key head size ${headDim}: not supported`);
  if (ropeDim !== headDim) fail(`${key('rope.dimension_count')} = ${ropeDim} rotates part of each ${headDim}-wide head: partial rotary is not supported for ${arch}`);

  const tensor = (name: string): GgufTensor => file.tensorsByName.get(name) ?? fail(`missing tensor ${name} (a ${arch} model needs it)`);
  const tokenEmbedding = tensor('token_embd.weight');
  const vocabSize = tokenEmbedding.dims[1] ?? 0;
  const nLayers = m.integer(key('block_count'));
  const hiddenDim = m.integer(key('feed_forward_length'));
  const config: ModelConfig = {
    dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize,
    seqLen: m.integer(key('context_length')),
    sharedClassifier: !file.tensorsByName.has('output.weight'),
    normEps: m.number(key('attention.layer_norm_rms_epsilon')),
    ropeTheta: m.number(key('rope.freq_base'), 10000),
  };
  if (!(config.normEps > 0 && config.normEps < 1)) fail(`${key('attention.layer_norm_rms_epsilon')} = ${config.normEps} is not a sensible epsilon`);
  if (!(config.ropeTheta > 1)) fail(`${key('rope.freq_base')} = ${config.ropeTheta} must be > 1`);

  const kv = nKvHeads * headDim;
  const used = new Set<string>();
  const take = (name: string, dims: number[], kind: 'matrix' | 'vector'): GgufTensor => {
    const t = tensor(name);
    used.add(name);
    if (t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])) {
      fail(`tensor ${name} has shape [${t.dims.join(', ')}], expected [${dims.join(', ')}] from the metadata`);
    }
    supportedGgmlType(t.type.id, `${source}: tensor ${name}`);
    if (kind === 'vector' && t.type.name !== 'F32' && t.type.name !== 'F16' && t.type.name !== 'BF16') {
      fail(`tensor ${name} is ${t.type.name}; a norm weight must be F32, F16 or BF16`);
    }
    return t;
  };
  take('token_embd.weight', [dim, vocabSize], 'matrix');
  const shapes: Record<LayerTensorName, number[]> = {
    attNorm: [dim], wq: [dim, dim], wk: [dim, kv], wv: [dim, kv], wo: [dim, dim],
    ffnNorm: [dim], w1: [dim, hiddenDim], w2: [hiddenDim, dim], w3: [dim, hiddenDim],
  };
  const layers: Record<LayerTensorName, GgufTensor>[] = [];
  for (let l = 0; l < nLayers; l++) {
    const layer = {} as Record<LayerTensorName, GgufTensor>;
    for (const [field, short] of Object.entries(GGUF_LAYER_TENSORS) as [LayerTensorName, string][]) {
      layer[field] = take(`blk.${l}.${short}.weight`, shapes[field], field === 'attNorm' || field === 'ffnNorm' ? 'vector' : 'matrix');
    }
    layers.push(layer);
  }
  const finalNorm = take('output_norm.weight', [dim], 'vector');
  const classifier = config.sharedClassifier ? tokenEmbedding : take('output.weight', [dim, vocabSize], 'matrix');
  const ropeScaling = readRopeScaling(file, key, ropeDim, used, fail);

  const unexpected = file.tensors.filter((t) => !used.has(t.name) && !IGNORED_TENSOR.test(t.name)).map((t) => t.name);
  if (unexpected.length > 0) {
    fail(`tensor${unexpected.length > 1 ? 's' : ''} ${unexpected.slice(0, 5).join(', ')}${unexpected.length > 5 ? ` and ${unexpected.length - 5} more` : ''} ` +
      `not part of a ${arch} model with ${nLayers} layers (block_count); is the file from a different architecture?`);
  }
  return { config, headDim, ropeDim, ropeScaling, tokenEmbedding, layers, finalNorm, classifier };
}

function readRopeScaling(file: GgufFile, key: (k: string) => string, ropeDim: number, used: Set<string>, fail: (w: string) => never): RopeScaling {
  const m = file.metadata;
  const factors = file.tensorsByName.get('rope_freqs.weight');
  if (factors) {
    used.add(factors.name);
    if (factors.type.name !== 'F32' || factors.dims.length !== 1 || factors.dims[0] !== ropeDim / 2) {
      fail(`tensor rope_freqs.weight must be F32 [${ropeDim / 2}], got ${factors.type.name} [${factors.dims.join(', ')}]`);
    }
    return { kind: 'frequency-factors', factors };
  }
  const type = m.string(key('rope.scaling.type'), 'none');
  if (type === 'none') return { kind: 'none' };
  const factor = m.number(key('rope.scaling.factor'), 1);
  if (type === 'linear') {
    if (!(factor >= 1)) fail(`${key('rope.scaling.factor')} = ${factor} must be >= 1`);
    return factor === 1 ? { kind: 'none' } : { kind: 'linear', factor };
  }
  return fail(`${key('rope.scaling.type')} "${type}" is not supported (supported: none, linear, and llama3's rope_freqs tensor)`);
}
