// Writes a GGUF file from a Hugging Face folder the way llama.cpp's converter
// (convert_hf_to_gguf.py) does, so the GGUF path can be checked against the HF fixtures' float64
// reference: HF [out, in] matrices are GGUF [in, out] with the same bytes; llama's q/k rows are
// permuted from HF's halves to interleaved pairs (LlamaModel.permute); the others' are not
// (llama.cpp rotates qwen2/qwen3/phi3/gemma2 NeoX-style); a llama3 rope_scaling becomes the
// rope_freqs tensor of per-pair divisors; gemma2's norms get their `1 +` added (Gemma2Model) and
// its lm_head is dropped; phi3's fused qkv_proj / gate_up_proj become attn_qkv / ffn_up as they
// are; gpt2's input-major Conv1D weights are transposed and wte is also written as output.
// One addition llama.cpp's converter does not make: gemma2's query_pre_attn_scalar, when it is not
// head_dim, is written as `gemma2.attention.scale` (llama.cpp itself would use head_dim).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GgufValueType as T, parseSafetensors, safetensorToFloat32 } from '../../src/index.js';
import { writeGguf, type GgufWriteTensor, type GgufWriteValue } from '../../src/export/index.js';

const f32Bytes = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** llama.cpp's permute: per head, rows [x_0..x_{d/2-1}, y_0..] → [x_0, y_0, x_1, y_1, …]. */
function permuteRows(w: Float32Array, heads: number, cols: number): Float32Array {
  const rows = w.length / cols, hd = rows / heads, out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let t = 0; t < 2; t++) {
      for (let j = 0; j < hd / 2; j++) out.set(w.subarray((h * hd + t * (hd / 2) + j) * cols, (h * hd + t * (hd / 2) + j + 1) * cols), (h * hd + 2 * j + t) * cols);
    }
  }
  return out;
}

/** convert_hf_to_gguf.py's llama3 rope factors: 1 for short wavelengths, `factor` for long ones, smooth between. */
function llama3RopeFactors(headDim: number, theta: number, s: { factor: number; low_freq_factor: number; high_freq_factor: number; original_max_position_embeddings: number }): Float32Array {
  const lowWavelen = s.original_max_position_embeddings / s.low_freq_factor;
  const highWavelen = s.original_max_position_embeddings / s.high_freq_factor;
  return Float32Array.from({ length: headDim / 2 }, (_, i) => {
    const wavelen = (2 * Math.PI) / theta ** (-(2 * i) / headDim);
    if (wavelen < highWavelen) return 1;
    if (wavelen > lowWavelen) return s.factor;
    const smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    return 1 / ((1 - smooth) / s.factor + smooth);
  });
}

/** transposes a rows × cols matrix (gpt2's Conv1D [in, out] → [out, in]). */
function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = w[i * cols + j]!;
  return out;
}

type Add = (name: string, data: Float32Array, dims: number[]) => void;
type Get = (name: string) => Float32Array;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Config = any;

/**
 * The GGUF bytes of an HF folder (model.safetensors) of any model_type but mistral, weights as F32.
 * `edit` rewrites the metadata list before writing (the tests drop or change keys with it).
 */
export function ggufFromHfFolder(dir: string, tokenizerMetadata: GgufWriteValue[] = [], edit = (m: GgufWriteValue[]) => m): Uint8Array {
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const st = parseSafetensors(readFileSync(join(dir, 'model.safetensors')), dir);
  // The converter strips gpt2's "transformer." prefix.
  const find = (name: string) => st.tensorsByName.get(name) ?? st.tensorsByName.get(`transformer.${name}`);
  const get: Get = (name) => {
    const t = find(name);
    if (!t) throw new Error(`${dir}: no tensor ${name}`);
    return safetensorToFloat32(t);
  };
  const tensors: GgufWriteTensor[] = [];
  const add: Add = (name, data, dims) => tensors.push({ name, type: 'F32', dims, data: f32Bytes(data) });
  const metadata = cfg.model_type === 'gpt2' ? gpt2Tensors(cfg, get, add) : ropeModelTensors(cfg, get, (n) => find(n) !== undefined, add);
  return writeGguf(edit([['general.architecture', T.STRING, cfg.model_type], ['general.name', T.STRING, cfg.model_type + '-from-hf'], ...metadata, ...tokenizerMetadata]), tensors);
}

function ropeModelTensors(cfg: Config, get: Get, has: (name: string) => boolean, add: Add): GgufWriteValue[] {
  const arch: string = cfg.model_type;
  const dim: number = cfg.hidden_size, heads: number = cfg.num_attention_heads, kvHeads: number = cfg.num_key_value_heads ?? heads;
  const hidden: number = cfg.intermediate_size, vocab: number = cfg.vocab_size;
  const headDim: number = cfg.head_dim ?? dim / heads;
  const gemma = arch === 'gemma2', phi3 = arch === 'phi3';
  const normW = (name: string) => (gemma ? get(name).map((x) => x + 1) : get(name));
  add('token_embd.weight', get('model.embed_tokens.weight'), [dim, vocab]);
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    const qk = (w: Float32Array, n: number) => (arch === 'llama' ? permuteRows(w, n, dim) : w);
    add(`blk.${l}.attn_norm.weight`, normW(`${p}input_layernorm.weight`), [dim]);
    if (phi3) {
      add(`blk.${l}.attn_qkv.weight`, get(`${p}self_attn.qkv_proj.weight`), [dim, (heads + 2 * kvHeads) * headDim]);
    } else {
      add(`blk.${l}.attn_q.weight`, qk(get(`${p}self_attn.q_proj.weight`), heads), [dim, heads * headDim]);
      add(`blk.${l}.attn_k.weight`, qk(get(`${p}self_attn.k_proj.weight`), kvHeads), [dim, kvHeads * headDim]);
      add(`blk.${l}.attn_v.weight`, get(`${p}self_attn.v_proj.weight`), [dim, kvHeads * headDim]);
    }
    for (const [hf, gg, n] of [['q', 'q', heads], ['k', 'k', kvHeads], ['v', 'v', kvHeads]] as const) {
      if (has(`${p}self_attn.${hf}_proj.bias`)) add(`blk.${l}.attn_${gg}.bias`, get(`${p}self_attn.${hf}_proj.bias`), [n * headDim]);
    }
    if (arch === 'qwen3') {
      add(`blk.${l}.attn_q_norm.weight`, get(`${p}self_attn.q_norm.weight`), [headDim]);
      add(`blk.${l}.attn_k_norm.weight`, get(`${p}self_attn.k_norm.weight`), [headDim]);
    }
    add(`blk.${l}.attn_output.weight`, get(`${p}self_attn.o_proj.weight`), [heads * headDim, dim]);
    if (gemma) {
      add(`blk.${l}.post_attention_norm.weight`, normW(`${p}post_attention_layernorm.weight`), [dim]);
      add(`blk.${l}.ffn_norm.weight`, normW(`${p}pre_feedforward_layernorm.weight`), [dim]);
      add(`blk.${l}.post_ffw_norm.weight`, normW(`${p}post_feedforward_layernorm.weight`), [dim]);
    } else {
      add(`blk.${l}.ffn_norm.weight`, get(`${p}post_attention_layernorm.weight`), [dim]);
    }
    if (phi3) {
      add(`blk.${l}.ffn_up.weight`, get(`${p}mlp.gate_up_proj.weight`), [dim, 2 * hidden]);
    } else {
      add(`blk.${l}.ffn_gate.weight`, get(`${p}mlp.gate_proj.weight`), [dim, hidden]);
      add(`blk.${l}.ffn_up.weight`, get(`${p}mlp.up_proj.weight`), [dim, hidden]);
    }
    add(`blk.${l}.ffn_down.weight`, get(`${p}mlp.down_proj.weight`), [hidden, dim]);
  }
  add('output_norm.weight', normW('model.norm.weight'), [dim]);
  if (!gemma && has('lm_head.weight')) add('output.weight', get('lm_head.weight'), [dim, vocab]);
  if (cfg.rope_scaling?.rope_type === 'llama3') add('rope_freqs.weight', llama3RopeFactors(headDim, cfg.rope_theta, cfg.rope_scaling), [headDim / 2]);

  const metadata: GgufWriteValue[] = [
    [`${arch}.context_length`, T.UINT32, cfg.max_position_embeddings], [`${arch}.embedding_length`, T.UINT32, dim],
    [`${arch}.block_count`, T.UINT32, cfg.num_hidden_layers], [`${arch}.feed_forward_length`, T.UINT32, hidden],
    [`${arch}.attention.head_count`, T.UINT32, heads], [`${arch}.attention.head_count_kv`, T.UINT32, kvHeads],
    [`${arch}.attention.layer_norm_rms_epsilon`, T.FLOAT32, cfg.rms_norm_eps],
  ];
  if (cfg.head_dim !== undefined && (arch === 'qwen3' || gemma)) {
    metadata.push([`${arch}.attention.key_length`, T.UINT32, headDim], [`${arch}.attention.value_length`, T.UINT32, headDim]);
  }
  if (!gemma) metadata.push([`${arch}.rope.freq_base`, T.FLOAT32, cfg.rope_theta ?? 10000]);
  if (arch === 'llama' || arch === 'qwen2') metadata.push([`${arch}.rope.dimension_count`, T.UINT32, headDim]);
  if (phi3) {
    // Phi3MiniModel: rope dims int(partial_rotary_factor · n_embd) // n_head; sliding_window 0 when null.
    metadata.push(
      [`${arch}.rope.dimension_count`, T.UINT32, Math.trunc((cfg.partial_rotary_factor ?? 1) * dim) / heads | 0],
      [`${arch}.rope.scaling.original_context_length`, T.UINT32, cfg.original_max_position_embeddings ?? cfg.max_position_embeddings],
      [`${arch}.attention.sliding_window`, T.UINT32, cfg.sliding_window ?? 0],
    );
  }
  if (gemma) {
    metadata.push(
      [`${arch}.attn_logit_softcapping`, T.FLOAT32, cfg.attn_logit_softcapping],
      [`${arch}.final_logit_softcapping`, T.FLOAT32, cfg.final_logit_softcapping],
      [`${arch}.attention.sliding_window`, T.UINT32, cfg.sliding_window],
    );
    if (cfg.query_pre_attn_scalar !== headDim) metadata.push([`${arch}.attention.scale`, T.FLOAT32, 1 / Math.sqrt(cfg.query_pre_attn_scalar)]);
  }
  return metadata;
}

function gpt2Tensors(cfg: Config, get: Get, add: Add): GgufWriteValue[] {
  const dim: number = cfg.n_embd, hidden: number = cfg.n_inner ?? 4 * dim, vocab: number = cfg.vocab_size;
  const wte = get('wte.weight');
  add('token_embd.weight', wte, [dim, vocab]);
  add('position_embd.weight', get('wpe.weight'), [dim, cfg.n_positions]);
  const conv = (name: string, rows: number, cols: number) => transpose(get(name), rows, cols);
  for (let l = 0; l < cfg.n_layer; l++) {
    const p = `h.${l}.`;
    add(`blk.${l}.attn_norm.weight`, get(`${p}ln_1.weight`), [dim]);
    add(`blk.${l}.attn_norm.bias`, get(`${p}ln_1.bias`), [dim]);
    add(`blk.${l}.attn_qkv.weight`, conv(`${p}attn.c_attn.weight`, dim, 3 * dim), [dim, 3 * dim]);
    add(`blk.${l}.attn_qkv.bias`, get(`${p}attn.c_attn.bias`), [3 * dim]);
    add(`blk.${l}.attn_output.weight`, conv(`${p}attn.c_proj.weight`, dim, dim), [dim, dim]);
    add(`blk.${l}.attn_output.bias`, get(`${p}attn.c_proj.bias`), [dim]);
    add(`blk.${l}.ffn_norm.weight`, get(`${p}ln_2.weight`), [dim]);
    add(`blk.${l}.ffn_norm.bias`, get(`${p}ln_2.bias`), [dim]);
    add(`blk.${l}.ffn_up.weight`, conv(`${p}mlp.c_fc.weight`, dim, hidden), [dim, hidden]);
    add(`blk.${l}.ffn_up.bias`, get(`${p}mlp.c_fc.bias`), [hidden]);
    add(`blk.${l}.ffn_down.weight`, conv(`${p}mlp.c_proj.weight`, hidden, dim), [hidden, dim]);
    add(`blk.${l}.ffn_down.bias`, get(`${p}mlp.c_proj.bias`), [dim]);
  }
  add('output_norm.weight', get('ln_f.weight'), [dim]);
  add('output_norm.bias', get('ln_f.bias'), [dim]);
  add('output.weight', wte, [dim, vocab]); // GPT2Model: "output is tied to (same as) wte"
  return [
    ['gpt2.block_count', T.UINT32, cfg.n_layer], ['gpt2.context_length', T.UINT32, cfg.n_ctx],
    ['gpt2.embedding_length', T.UINT32, dim], ['gpt2.feed_forward_length', T.UINT32, hidden],
    ['gpt2.attention.head_count', T.UINT32, cfg.n_head], ['gpt2.attention.layer_norm_epsilon', T.FLOAT32, cfg.layer_norm_epsilon],
  ];
}

/** A byte-level BPE tokenizer.json as llama.cpp's gpt2 converter stores it (tokens by id, types, "a b" merges, pre name). */
export function gpt2TokenizerMetadata(dir: string, pre: string): GgufWriteValue[] {
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  const tokens: string[] = [];
  const types: number[] = [];
  for (const [t, id] of Object.entries(json.model.vocab as Record<string, number>)) { tokens[id] = t; types[id] = 1; }
  for (const a of json.added_tokens) { tokens[a.id] = a.content; types[a.id] = a.special ? 3 : 4; }
  const merges = (json.model.merges as (string | string[])[]).map((m) => (Array.isArray(m) ? m.join(' ') : m));
  const eos = json.added_tokens.find((a: { content: string }) => a.content === '<|endoftext|>').id;
  return [
    ['tokenizer.ggml.model', T.STRING, 'gpt2'], ['tokenizer.ggml.pre', T.STRING, pre],
    ['tokenizer.ggml.tokens', T.ARRAY, { elementType: T.STRING, values: tokens }],
    ['tokenizer.ggml.token_type', T.ARRAY, { elementType: T.INT32, values: Int32Array.from(types) }],
    ['tokenizer.ggml.merges', T.ARRAY, { elementType: T.STRING, values: merges }],
    ['tokenizer.ggml.eos_token_id', T.UINT32, eos], ['tokenizer.ggml.bos_token_id', T.UINT32, eos],
    ['tokenizer.ggml.add_bos_token', T.BOOL, false],
  ];
}
