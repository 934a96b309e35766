// A loaded model → a Hugging Face folder (config.json + model.safetensors) in transformers'
// layout for its family (the inverse of hf/load.ts + hf/config.ts): [out, in] matrices, q/k rows
// in halves, phi3's fused qkv_proj / gate_up_proj, gpt2's input-major Conv1D weights under
// "transformer.", gemma2's norms as offsets from 1. Weights in F32, F16 or BF16.
import { GGML } from '@msrnn/tensor';
import { quantizeGgmlMatrix } from '@msrnn/tensor/quantize';
import { headDimOf, rotaryDimOf } from '../config.js';
import type { Model } from '../model.js';
import { writeSafetensors, type SafetensorWrite } from '../safetensors/write.js';
import type { SafetensorsDtype } from '../safetensors/parse.js';
import type { Linear, Norm } from '../weights.js';
import { checkExpressible, exportFamily, type ExportFamily } from './family.js';
import { float32Bytes, matrixFloat32, reorderRopeRows, stackRows, transposed } from './tensors.js';

export interface HfExportOptions {
  /** Weight dtype: F32 (default), F16 or BF16. */
  dtype?: string;
  /** Token ids config.json names (from the tokenizer written beside it). */
  bosId?: number;
  eosId?: number;
}

const CLASSES: Readonly<Record<ExportFamily, string>> = {
  llama: 'LlamaForCausalLM', mistral: 'MistralForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM',
  phi3: 'Phi3ForCausalLM', gemma2: 'Gemma2ForCausalLM', gpt2: 'GPT2LMHeadModel',
};
const TORCH_DTYPES: Readonly<Record<SafetensorsDtype, string>> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

/** config.json and model.safetensors of `model`, by file name. */
export function modelToHfFiles(model: Model, opts: HfExportOptions = {}): Map<string, Uint8Array> {
  const dtype = (opts.dtype ?? 'F32').toUpperCase();
  if (!(dtype in TORCH_DTYPES)) throw new Error(`safetensors dtype "${opts.dtype}" cannot be written (writable: ${Object.keys(TORCH_DTYPES).join(', ')})`);
  const family = exportFamily(model);
  checkExpressible(model, family, 'Hugging Face folder');
  const tensors: Record<string, SafetensorWrite> = {};
  const put = (name: string, data: Float32Array, shape: number[]): void => {
    const bytes = dtype === 'F32' ? float32Bytes(data) : quantizeGgmlMatrix(dtype === 'F16' ? GGML.F16 : GGML.BF16, data, 0, 1, data.length);
    tensors[name] = { dtype: dtype as SafetensorsDtype, shape, bytes };
  };
  if (family === 'gpt2') gpt2Tensors(model, put);
  else ropeTensors(model, family, put);
  const files = new Map<string, Uint8Array>();
  files.set('config.json', new TextEncoder().encode(JSON.stringify(hfConfig(model, family, TORCH_DTYPES[dtype as SafetensorsDtype], opts), null, 2)));
  files.set('model.safetensors', writeSafetensors(tensors, { format: 'pt' }));
  return files;
}

type Put = (name: string, data: Float32Array, shape: number[]) => void;

function ropeTensors(model: Model, family: ExportFamily, put: Put): void {
  const c = model.config, w = model.weights;
  const gemma = family === 'gemma2';
  // gemma stores RMSNorm weights as offsets from 1 (the model holds them folded).
  const norm = (name: string, n: Norm | null) => { if (n) put(name, gemma ? n.weight.map((x) => x - 1) : n.weight.slice(), [n.weight.length]); };
  const halves = (m: Float32Array, heads: number | null) => (heads === null ? m : reorderRopeRows(m, model, heads, 'half'));
  const lin = (name: string, parts: readonly Linear[], heads: readonly (number | null)[] = []): void => {
    const rows = parts.reduce((n, p) => n + p.weight.rows, 0);
    put(`${name}.weight`, stackRows(parts.map((p, i) => halves(matrixFloat32(p.weight), heads[i] ?? null))), [rows, parts[0]!.weight.cols]);
    if (parts.some((p) => p.bias)) put(`${name}.bias`, stackRows(parts.map((p, i) => halves(p.bias ?? new Float32Array(p.weight.rows), heads[i] ?? null))), [rows]);
  };
  put('model.embed_tokens.weight', matrixFloat32(w.tokenEmbedding), [c.vocabSize, c.dim]);
  w.layers.forEach((L, l) => {
    const p = `model.layers.${l}.`;
    norm(`${p}input_layernorm.weight`, L.attnNorm);
    if (family === 'phi3') lin(`${p}self_attn.qkv_proj`, [L.q, L.k, L.v], [c.nHeads, c.nKvHeads, null]);
    else {
      lin(`${p}self_attn.q_proj`, [L.q], [c.nHeads]);
      lin(`${p}self_attn.k_proj`, [L.k], [c.nKvHeads]);
      lin(`${p}self_attn.v_proj`, [L.v]);
    }
    if (L.qNorm) put(`${p}self_attn.q_norm.weight`, L.qNorm.slice(), [L.qNorm.length]);
    if (L.kNorm) put(`${p}self_attn.k_norm.weight`, L.kNorm.slice(), [L.kNorm.length]);
    lin(`${p}self_attn.o_proj`, [L.o]);
    if (gemma) {
      norm(`${p}post_attention_layernorm.weight`, L.postAttnNorm);
      norm(`${p}pre_feedforward_layernorm.weight`, L.ffnNorm);
      norm(`${p}post_feedforward_layernorm.weight`, L.postFfnNorm);
    } else norm(`${p}post_attention_layernorm.weight`, L.ffnNorm);
    if (family === 'phi3') lin(`${p}mlp.gate_up_proj`, [L.gate!, L.up]);
    else {
      lin(`${p}mlp.gate_proj`, [L.gate!]);
      lin(`${p}mlp.up_proj`, [L.up]);
    }
    lin(`${p}mlp.down_proj`, [L.down]);
  });
  norm('model.norm.weight', w.finalNorm);
  if (w.classifier.weight !== w.tokenEmbedding) put('lm_head.weight', matrixFloat32(w.classifier.weight), [c.vocabSize, c.dim]);
}

function gpt2Tensors(model: Model, put: Put): void {
  const c = model.config, w = model.weights, p = 'transformer.';
  const ln = (name: string, n: Norm) => { put(`${name}.weight`, n.weight.slice(), [c.dim]); put(`${name}.bias`, n.bias!.slice(), [c.dim]); };
  /** Conv1D: the [out, in] rows of `parts` stacked, stored [in, out]. */
  const conv = (name: string, parts: readonly Linear[]) => {
    const rows = parts.reduce((n, q) => n + q.weight.rows, 0), cols = parts[0]!.weight.cols;
    put(`${name}.weight`, transposed(stackRows(parts.map((q) => matrixFloat32(q.weight))), rows, cols), [cols, rows]);
    put(`${name}.bias`, stackRows(parts.map((q) => q.bias ?? new Float32Array(q.weight.rows))), [rows]);
  };
  put(`${p}wte.weight`, matrixFloat32(w.tokenEmbedding), [c.vocabSize, c.dim]);
  put(`${p}wpe.weight`, w.positionEmbedding!.slice(), [w.positionEmbedding!.length / c.dim, c.dim]);
  w.layers.forEach((L, l) => {
    const h = `${p}h.${l}.`;
    ln(`${h}ln_1`, L.attnNorm);
    conv(`${h}attn.c_attn`, [L.q, L.k, L.v]);
    conv(`${h}attn.c_proj`, [L.o]);
    ln(`${h}ln_2`, L.ffnNorm);
    conv(`${h}mlp.c_fc`, [L.up]);
    conv(`${h}mlp.c_proj`, [L.down]);
  });
  ln(`${p}ln_f`, w.finalNorm);
  if (w.classifier.weight !== w.tokenEmbedding) throw new Error(`${model.source}: an untied classifier cannot be written as a gpt2 folder (GPT-2 ties it to wte)`);
}

function hfConfig(model: Model, family: ExportFamily, torchDtype: string, opts: HfExportOptions): Record<string, unknown> {
  const c = model.config, a = c.arch;
  const ids = { ...(opts.bosId !== undefined ? { bos_token_id: opts.bosId } : {}), ...(opts.eosId !== undefined ? { eos_token_id: opts.eosId } : {}) };
  const head = { architectures: [CLASSES[family]], model_type: family, torch_dtype: torchDtype, ...ids };
  if (family === 'gpt2') {
    return {
      ...head, n_embd: c.dim, n_layer: c.nLayers, n_head: c.nHeads, n_inner: c.hiddenDim, n_positions: model.weights.positionEmbedding!.length / c.dim,
      n_ctx: c.seqLen, vocab_size: c.vocabSize, layer_norm_epsilon: c.normEps, activation_function: 'gelu_new', tie_word_embeddings: true,
    };
  }
  const p = a.positions.kind === 'rope' ? a.positions : null;
  if (p?.scaling?.type === 'factors') throw new Error(`${model.source}: per-pair rope factors (GGUF rope_freqs) cannot be written in config.json (only Llama 3's rope_scaling)`);
  const s = p?.scaling?.type === 'llama3' ? p.scaling : null;
  const hd = headDimOf(c);
  const out: Record<string, unknown> = {
    ...head, hidden_size: c.dim, intermediate_size: c.hiddenDim, num_hidden_layers: c.nLayers, num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads, head_dim: hd, vocab_size: c.vocabSize, max_position_embeddings: c.seqLen, rms_norm_eps: c.normEps,
    rope_theta: p?.theta ?? 10000, tie_word_embeddings: model.weights.classifier.weight === model.weights.tokenEmbedding,
    rope_scaling: s ? { rope_type: 'llama3', factor: s.factor, low_freq_factor: s.lowFreqFactor, high_freq_factor: s.highFreqFactor, original_max_position_embeddings: s.originalMaxPositions } : null,
    [family === 'gemma2' ? 'hidden_activation' : 'hidden_act']: family === 'gemma2' ? 'gelu_pytorch_tanh' : 'silu',
  };
  if (family === 'phi3') Object.assign(out, { partial_rotary_factor: rotaryDimOf(c) / hd, original_max_position_embeddings: c.seqLen });
  if (family === 'qwen3') out.attention_bias = false;
  if (family === 'gemma2') {
    Object.assign(out, { query_pre_attn_scalar: a.queryPreAttnScalar ?? hd, attn_logit_softcapping: a.attnSoftcap || null, final_logit_softcapping: a.finalSoftcap || null });
  }
  Object.assign(out, windowConfig(model, family));
  return out;
}

/** sliding_window and, when the windowed layers are not the family's rule (all; gemma2: even), layer_types. */
function windowConfig(model: Model, family: ExportFamily): Record<string, unknown> {
  const windows = model.config.arch.slidingWindow;
  if (windows === null || windows.every((x) => x === Infinity)) {
    if (family === 'llama' || family === 'qwen2' || family === 'qwen3') return {};
    return { sliding_window: null };
  }
  const sizes = [...new Set(windows.filter((x) => x !== Infinity))];
  if (sizes.length > 1) throw new Error(`${model.source}: layers with different sliding windows (${sizes.join(', ')}) cannot be written in config.json (one sliding_window)`);
  const types = windows.map((x) => (x === Infinity ? 'full_attention' : 'sliding_attention'));
  const implied = types.every((t, l) => (t === 'sliding_attention') === (family === 'gemma2' ? l % 2 === 0 : family === 'mistral' || family === 'phi3'));
  return {
    sliding_window: sizes[0],
    ...(family === 'qwen2' || family === 'qwen3' ? { use_sliding_window: true } : {}),
    ...(implied ? {} : { layer_types: types }),
  };
}
