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
// `qwen2` files are the same block plus biases on q/k/v; llama.cpp rotates them NeoX-style
// (halves), and its converter leaves their q/k rows as Hugging Face stores them.
import { supportedGgmlType } from '@msrnn/tensor';
import { architecture, type RopeScaling } from '../arch.js';
import { validateConfig, type ModelConfig } from '../config.js';
import type { GgufFile, GgufTensor } from './parse.js';

export const SUPPORTED_GGUF_ARCHITECTURES: readonly string[] = ['llama', 'qwen2'];

/** How each architecture's rotation pairs dims (llama.cpp's rope type: normal = pairs, NeoX = halves). */
const ROPE_LAYOUT: Record<string, 'interleaved' | 'half'> = { llama: 'interleaved', qwen2: 'half' };

/** Projections that may carry a bias (blk.N.<name>.bias): qwen2 always has q/k/v ones; llama may. */
export type BiasRole = 'q' | 'k' | 'v' | 'o';

/** The per-layer weights of a llama block, by their role in the layer body (weights.ts). */
export type LlamaRole = 'attnNorm' | 'q' | 'k' | 'v' | 'o' | 'ffnNorm' | 'gate' | 'up' | 'down';

/** The GGUF tensor name of each role (llama.cpp's LLM_TENSOR_NAMES for llama): blk.N.<name>.weight. */
export const GGUF_LAYER_TENSORS: Readonly<Record<LlamaRole, string>> = {
  attnNorm: 'attn_norm', q: 'attn_q', k: 'attn_k', v: 'attn_v', o: 'attn_output',
  ffnNorm: 'ffn_norm', gate: 'ffn_gate', up: 'ffn_up', down: 'ffn_down',
};

export interface GgufLlamaLayout {
  /** Sizes and the architecture (interleaved RoPE with the file's base, rotary dims and scaling). */
  config: ModelConfig;
  tokenEmbedding: GgufTensor;
  layers: Record<LlamaRole, GgufTensor>[];
  /** Per layer, the biases present. */
  biases: Partial<Record<BiasRole, GgufTensor>>[];
  finalNorm: GgufTensor;
  /** output.weight, or token_embd.weight itself when the classifier is tied (no output.weight). */
  classifier: GgufTensor;
}

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
  const fail = (what: string): never => { throw new Error(`${source}: ${what}`); };
  const key = (k: string) => `${arch}.${k}`;
  const dim = m.integer(key('embedding_length'));
  const nHeads = m.integer(key('attention.head_count'));
  if (nHeads === 0) fail(`${key('attention.head_count')} is 0`);
  const nKvHeads = m.integer(key('attention.head_count_kv'), nHeads);
  const headDim = m.integer(key('attention.key_length'), Math.floor(dim / nHeads));
  const valueDim = m.integer(key('attention.value_length'), headDim);
  const rotaryDim = m.integer(key('rope.dimension_count'), headDim);
  if (valueDim !== headDim) fail(`value head size ${valueDim} ≠ key head size ${headDim}: not supported`);

  const tensor = (name: string): GgufTensor => file.tensorsByName.get(name) ?? fail(`missing tensor ${name} (a ${arch} model needs it)`);
  const tokenEmbedding = tensor('token_embd.weight');
  const vocabSize = tokenEmbedding.dims[1] ?? 0;
  const theta = m.number(key('rope.freq_base'), 10000);
  const used = new Set<string>();
  const config: ModelConfig = {
    dim, hiddenDim: m.integer(key('feed_forward_length')), nLayers: m.integer(key('block_count')), nHeads, nKvHeads, vocabSize,
    seqLen: m.integer(key('context_length')),
    sharedClassifier: !file.tensorsByName.has('output.weight'),
    normEps: m.number(key('attention.layer_norm_rms_epsilon')),
    ...(headDim * nHeads !== dim ? { headDim } : {}),
    arch: architecture({
      positions: {
        kind: 'rope', theta, layout: ROPE_LAYOUT[arch]!, rotaryDim: rotaryDim === headDim ? null : rotaryDim,
        scaling: readRopeScaling(file, key, rotaryDim, used, fail),
      },
    }),
  };
  validateConfig(config, source);
  if (!(theta > 1)) fail(`${key('rope.freq_base')} = ${theta} must be > 1`);

  const { hiddenDim, nLayers } = config;
  const qDim = nHeads * headDim, kvDim = nKvHeads * headDim;
  const take = (name: string, dims: number[], kind: 'matrix' | 'vector'): GgufTensor => {
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
  // Shapes fastest dimension first: [input features, output features].
  const shapes: Record<LlamaRole, number[]> = {
    attnNorm: [dim], q: [dim, qDim], k: [dim, kvDim], v: [dim, kvDim], o: [qDim, dim],
    ffnNorm: [dim], gate: [dim, hiddenDim], up: [dim, hiddenDim], down: [hiddenDim, dim],
  };
  const layers: Record<LlamaRole, GgufTensor>[] = [];
  const biases: Partial<Record<BiasRole, GgufTensor>>[] = [];
  const biasLength: Record<BiasRole, number> = { q: qDim, k: kvDim, v: kvDim, o: dim };
  for (let l = 0; l < nLayers; l++) {
    const layer = {} as Record<LlamaRole, GgufTensor>;
    for (const [role, short] of Object.entries(GGUF_LAYER_TENSORS) as [LlamaRole, string][]) {
      layer[role] = take(`blk.${l}.${short}.weight`, shapes[role], role === 'attnNorm' || role === 'ffnNorm' ? 'vector' : 'matrix');
    }
    layers.push(layer);
    const bias: Partial<Record<BiasRole, GgufTensor>> = {};
    for (const role of ['q', 'k', 'v', 'o'] as const) {
      const name = `blk.${l}.${GGUF_LAYER_TENSORS[role]}.bias`;
      if (file.tensorsByName.has(name) || (arch === 'qwen2' && role !== 'o')) bias[role] = take(name, [biasLength[role]], 'vector');
    }
    biases.push(bias);
  }
  const finalNorm = take('output_norm.weight', [dim], 'vector');
  const classifier = config.sharedClassifier ? tokenEmbedding : take('output.weight', [dim, vocabSize], 'matrix');

  const unexpected = file.tensors.filter((t) => !used.has(t.name) && !IGNORED_TENSOR.test(t.name)).map((t) => t.name);
  if (unexpected.length > 0) {
    fail(`tensor${unexpected.length > 1 ? 's' : ''} ${unexpected.slice(0, 5).join(', ')}${unexpected.length > 5 ? ` and ${unexpected.length - 5} more` : ''} ` +
      `not part of a ${arch} model with ${nLayers} layers (block_count); is the file from a different architecture?`);
  }
  return { config, tokenEmbedding, layers, biases, finalNorm, classifier };
}

/**
 * Llama 3.1+ files carry the "llama3" rescaling precomputed as the rope_freqs tensor (one divisor
 * per rotated pair); linear scaling (positions / factor) is the same divisor for every pair.
 */
function readRopeScaling(file: GgufFile, key: (k: string) => string, rotaryDim: number, used: Set<string>, fail: (w: string) => never): RopeScaling | null {
  const m = file.metadata;
  const freqs = file.tensorsByName.get('rope_freqs.weight');
  if (freqs) {
    used.add(freqs.name);
    if (freqs.type.name !== 'F32' || freqs.dims.length !== 1 || freqs.dims[0] !== rotaryDim / 2) {
      fail(`tensor rope_freqs.weight must be F32 [${rotaryDim / 2}], got ${freqs.type.name} [${freqs.dims.join(', ')}]`);
    }
    const view = new DataView(freqs.data.buffer, freqs.data.byteOffset, freqs.data.byteLength);
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
