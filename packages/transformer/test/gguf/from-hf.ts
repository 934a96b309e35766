// Writes a GGUF file from a Hugging Face llama/qwen2 folder the way llama.cpp's converter
// (convert_hf_to_gguf.py) does, so the GGUF path can be checked against the HF fixtures' float64
// reference: HF [out, in] matrices are GGUF [in, out] with the same bytes; llama's q/k rows are
// permuted from HF's halves to interleaved pairs (LlamaModel.permute); qwen2's are not (llama.cpp
// rotates qwen2 NeoX-style); a llama3 rope_scaling becomes the rope_freqs tensor of per-pair divisors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GgufValueType as T, parseSafetensors, safetensorToFloat32, writeGguf, type GgufWriteTensor, type GgufWriteValue } from '../../src/index.js';

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

/** The GGUF bytes of an HF folder (model.safetensors) of model_type llama or qwen2, weights as F32. */
export function ggufFromHfFolder(dir: string, tokenizerMetadata: GgufWriteValue[] = []): Uint8Array {
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const arch: string = cfg.model_type;
  const st = parseSafetensors(readFileSync(join(dir, 'model.safetensors')), dir);
  const get = (name: string): Float32Array => {
    const t = st.tensorsByName.get(name);
    if (!t) throw new Error(`${dir}: no tensor ${name}`);
    return safetensorToFloat32(t);
  };
  const dim: number = cfg.hidden_size, heads: number = cfg.num_attention_heads, kvHeads: number = cfg.num_key_value_heads;
  const headDim: number = cfg.head_dim ?? dim / heads;
  const tensors: GgufWriteTensor[] = [];
  const add = (name: string, data: Float32Array, dims: number[]) => tensors.push({ name, type: 'F32', dims, data: f32Bytes(data) });
  add('token_embd.weight', get('model.embed_tokens.weight'), [dim, cfg.vocab_size]);
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    const qk = (w: Float32Array, n: number) => (arch === 'llama' ? permuteRows(w, n, dim) : w);
    add(`blk.${l}.attn_norm.weight`, get(`${p}input_layernorm.weight`), [dim]);
    add(`blk.${l}.attn_q.weight`, qk(get(`${p}self_attn.q_proj.weight`), heads), [dim, heads * headDim]);
    add(`blk.${l}.attn_k.weight`, qk(get(`${p}self_attn.k_proj.weight`), kvHeads), [dim, kvHeads * headDim]);
    add(`blk.${l}.attn_v.weight`, get(`${p}self_attn.v_proj.weight`), [dim, kvHeads * headDim]);
    if (arch === 'qwen2') {
      add(`blk.${l}.attn_q.bias`, get(`${p}self_attn.q_proj.bias`), [heads * headDim]);
      add(`blk.${l}.attn_k.bias`, get(`${p}self_attn.k_proj.bias`), [kvHeads * headDim]);
      add(`blk.${l}.attn_v.bias`, get(`${p}self_attn.v_proj.bias`), [kvHeads * headDim]);
    }
    add(`blk.${l}.attn_output.weight`, get(`${p}self_attn.o_proj.weight`), [heads * headDim, dim]);
    add(`blk.${l}.ffn_norm.weight`, get(`${p}post_attention_layernorm.weight`), [dim]);
    add(`blk.${l}.ffn_gate.weight`, get(`${p}mlp.gate_proj.weight`), [dim, cfg.intermediate_size]);
    add(`blk.${l}.ffn_up.weight`, get(`${p}mlp.up_proj.weight`), [dim, cfg.intermediate_size]);
    add(`blk.${l}.ffn_down.weight`, get(`${p}mlp.down_proj.weight`), [cfg.intermediate_size, dim]);
  }
  add('output_norm.weight', get('model.norm.weight'), [dim]);
  if (!cfg.tie_word_embeddings) add('output.weight', get('lm_head.weight'), [dim, cfg.vocab_size]);
  if (cfg.rope_scaling?.rope_type === 'llama3') add('rope_freqs.weight', llama3RopeFactors(headDim, cfg.rope_theta, cfg.rope_scaling), [headDim / 2]);
  const metadata: GgufWriteValue[] = [
    ['general.architecture', T.STRING, arch], ['general.name', T.STRING, cfg.model_type + '-from-hf'],
    [`${arch}.context_length`, T.UINT32, cfg.max_position_embeddings], [`${arch}.embedding_length`, T.UINT32, dim],
    [`${arch}.block_count`, T.UINT32, cfg.num_hidden_layers], [`${arch}.feed_forward_length`, T.UINT32, cfg.intermediate_size],
    [`${arch}.attention.head_count`, T.UINT32, heads], [`${arch}.attention.head_count_kv`, T.UINT32, kvHeads],
    [`${arch}.rope.dimension_count`, T.UINT32, headDim], [`${arch}.rope.freq_base`, T.FLOAT32, cfg.rope_theta],
    [`${arch}.attention.layer_norm_rms_epsilon`, T.FLOAT32, cfg.rms_norm_eps],
    ...tokenizerMetadata,
  ];
  return writeGguf(metadata, tensors);
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
