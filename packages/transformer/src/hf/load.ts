// A Hugging Face folder (config.json + safetensors) → the model's config and weights, by family.
// Projections keep the file's dtype: F16/BF16 as 16-bit blocks (the ggml F16/BF16 kernels read
// them), F32 as f32 (views on the js backend, read once into wasm memory). Load-time mappings, not
// runtime branches: fused qkv / gate_up rows are split into row ranges; GPT-2's input-major Conv1D
// matrices are transposed (to f32); gemma's `(1 + w)` norms are folded into the weight. Nothing is
// read here: the bytes are planned (../read-plan.ts) and arrive when the caller runs the plan.
import { f32WeightsUnscanned, GGML, ggmlWeightsUnscanned, type QuantAlloc, type WeightMatrix } from '@msrnn/tensor';
import { headDimOf, kvDimOf, qDimOf, validateConfig, type ModelConfig } from '../config.js';
import { foldUnitOffset } from '../norm.js';
import { SAFETENSORS_DTYPES, decodeSafetensorInto, type SafetensorsEntry } from '../safetensors/parse.js';
import type { Located, SafetensorsCheckpoint } from '../safetensors/folder.js';
import type { ReadPlan } from '../read-plan.js';
import { linear, norm, type LayerWeights, type Linear, type Norm, type Weights } from '../weights.js';
import type { HfLayout } from './config.js';
import { ModelFileError } from '../file-errors.js';
import { finiteTensorCheck } from '../finite-tensor.js';

export interface HfModelParts {
  config: ModelConfig;
  weights: Weights;
  /** e.g. "Hugging Face qwen2 (safetensors, F32 ×37)". */
  format: string;
}

/**
 * `mem` is the backend's storage (a backend, or the Allocations a model will own); `plan`
 * receives the reads that fill the weights.
 */
export function hfModelParts(layout: HfLayout, ckpt: SafetensorsCheckpoint<SafetensorsEntry>, mem: QuantAlloc, plan: ReadPlan): HfModelParts {
  // Before any tensor is read: a config.json claiming 2^64 layers is refused here, in words.
  validateConfig(layout.config, ckpt.source);
  const t = new TensorReader(ckpt, mem, plan);
  const weights = layout.family === 'gpt2' ? gpt2Weights(layout.config, t) : ropeWeights(layout, t);
  t.checkAllUsed();
  return { config: layout.config, weights, format: `Hugging Face ${layout.family} (safetensors${ckpt.files.length > 1 ? `, ${ckpt.files.length} shards` : ''}: ${t.dtypeSummary()})` };
}

/** Named tensors with shape checks; remembers which were used so a leftover (a wrong mapping) is an error. */
class TensorReader {
  private readonly used = new Set<string>();
  constructor(private readonly ckpt: SafetensorsCheckpoint<SafetensorsEntry>, private readonly mem: QuantAlloc, private readonly plan: ReadPlan) {}

  /** GPT-2 checkpoints saved from GPT2LMHeadModel prefix every name with "transformer.". */
  resolve(name: string): string | undefined {
    if (this.ckpt.tensors.has(name)) return name;
    if (this.ckpt.tensors.has(`transformer.${name}`)) return `transformer.${name}`;
    return undefined;
  }
  has(name: string): boolean {
    return this.resolve(name) !== undefined;
  }
  get(name: string, shape: readonly number[]): Located<SafetensorsEntry> {
    const key = this.resolve(name);
    if (key === undefined) throw new ModelFileError(`${this.ckpt.source}: tensor ${name} is missing`);
    const t = this.ckpt.tensors.get(key)!;
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new ModelFileError(`${this.ckpt.source}: tensor ${key} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    this.used.add(key);
    return t;
  }

  /** A float32 vector in the backend's memory (norms, biases, the position table); `then` runs on it once read (gemma's norm fold). */
  vector(name: string, n: number | readonly number[], then?: (v: Float32Array) => void): Float32Array {
    const t = this.get(name, typeof n === 'number' ? [n] : n);
    const out = this.mem.alloc(t.elements);
    this.plan.convert(t.file, t.fileOffset, t.byteLength, `tensor ${t.name}`, (bytes) => {
      decodeSafetensorInto(t.dtype, bytes, out);
      for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i]!)) throw new ModelFileError(`${this.ckpt.source}: tensor ${name}[${i}] is ${out[i]} — the file is corrupt`);
      then?.(out);
    });
    return out;
  }
  optionalVector(name: string, n: number): Float32Array | null {
    return this.has(name) ? this.vector(name, n) : null;
  }

  /** Rows [row0, row0+rows) of an out × in matrix stored as the file has it. */
  matrix(name: string, shape: readonly [number, number], row0 = 0, rows = shape[0]): WeightMatrix {
    const t = this.get(name, shape);
    const cols = shape[1], what = `${this.ckpt.source}: tensor ${name}`;
    const size = t.dtype === 'F32' ? 4 : 2, offset = t.fileOffset + row0 * cols * size, n = rows * cols * size;
    const type = GGML[t.dtype];
    const check = finiteTensorCheck(this.mem, this.ckpt.source, t.name, type, cols, row0);
    if (t.dtype === 'F32') {
      // js: a view of the file (or a fresh array); wasm: read into its memory. Either way aligned for a Float32Array.
      const f32 = this.mem.allocU8 ? this.mem.alloc(rows * cols) : null;
      const bytes = f32 ? new Uint8Array(f32.buffer, f32.byteOffset, n) : this.plan.place(t.file, offset, n, `tensor ${t.name}`, undefined, 4, check);
      if (f32) this.plan.copy(t.file, offset, bytes, `tensor ${t.name}`, check);
      return f32WeightsUnscanned(f32 ?? new Float32Array(bytes.buffer, bytes.byteOffset, rows * cols), 0, rows, cols); // scanned by `check` as read
    }
    // 16-bit rows are used in place; the js kernels read them as Uint16Array, which needs an even offset.
    const bytes = this.plan.place(t.file, offset, n, `tensor ${t.name}`, this.mem.allocU8?.bind(this.mem), 2, check);
    return ggmlWeightsUnscanned(type, rows, cols, bytes, what); // scanned by `check` as they are read
  }

  /**
   * An in × out (Conv1D) matrix as out × in float32, cut into `parts` equal column ranges (GPT-2's
   * c_attn: q | k | v), one matrix each: the tensor is read and decoded once for all of them.
   */
  transposed(name: string, shape: readonly [number, number], parts = 1): WeightMatrix[] {
    const t = this.get(name, shape);
    const rowsIn = shape[0], width = shape[1], cols = width / parts;
    const outs = Array.from({ length: parts }, () => this.mem.alloc(cols * rowsIn));
    const check = finiteTensorCheck(this.mem, this.ckpt.source, t.name, GGML[t.dtype], width);
    this.plan.convert(t.file, t.fileOffset, t.byteLength, `tensor ${t.name}`, (bytes) => {
      check.run(bytes, 0);
      if (this.decoded.length < t.elements) this.decoded = new Float32Array(t.elements); // one tensor's values at a time
      const src = this.decoded.subarray(0, t.elements);
      decodeSafetensorInto(t.dtype, bytes, src);
      outs.forEach((out, p) => {
        for (let i = 0; i < rowsIn; i++) for (let j = 0; j < cols; j++) out[j * rowsIn + i] = src[i * width + p * cols + j]!;
      });
    });
    return outs.map((out) => f32WeightsUnscanned(out, 0, cols, rowsIn)); // scanned by `check` as read
  }
  /** Scratch for transposed's decoded tensor (grown to the largest). */
  private decoded = new Float32Array(0);

  checkAllUsed(): void {
    const left = [...this.ckpt.tensors.keys()].filter((k) => !this.used.has(k) && !IGNORED.test(k));
    if (left.length > 0) throw new ModelFileError(`${this.ckpt.source}: tensors not used by this architecture: ${left.slice(0, 5).join(', ')}${left.length > 5 ? ` and ${left.length - 5} more` : ''}`);
  }

  dtypeSummary(): string {
    const counts = new Map<string, number>();
    for (const t of this.ckpt.tensors.values()) counts.set(t.dtype, (counts.get(t.dtype) ?? 0) + 1);
    return [...counts].sort((a, b) => b[1] - a[1]).map(([d, n]) => `${d} ×${n}`).join(', ');
  }
}

/**
 * Bytes the weights of `ckpt` take once loaded: what the backend must have room for, counted
 * before anything is allocated. A matrix used in place keeps its dtype's bytes; vectors (norms,
 * biases) and GPT-2's Conv1D matrices and position table are decoded to f32 (GPT-2 F16's take
 * twice their file bytes); ignored buffers and GPT-2's saved copy of its tied classifier take none.
 * (`test/load-errors.test.ts` holds this to what the loader allocates.)
 */
export function hfWeightBytes(layout: HfLayout, ckpt: SafetensorsCheckpoint<SafetensorsEntry>): number {
  const gpt2 = layout.family === 'gpt2';
  let bytes = 0;
  for (const [name, t] of ckpt.tensors) {
    if (IGNORED.test(name) || (gpt2 && /(^|\.)lm_head\.weight$/.test(name))) continue;
    const inPlace = t.shape.length === 2 && (!gpt2 || /(^|\.)wte\.weight$/.test(name));
    bytes += t.elements * (inPlace ? SAFETENSORS_DTYPES[t.dtype] : 4);
  }
  return bytes;
}

/** Buffers some checkpoints carry that are not parameters (GPT-2's causal-mask "bias" tables, rotary caches). */
const IGNORED = /(^|\.)attn\.(masked_)?bias$|rotary_emb\.inv_freq$/;

function ropeWeights(layout: HfLayout, t: TensorReader): Weights {
  const c = layout.config, family = layout.family, dim = c.dim, hd = headDimOf(c);
  const qDim = qDimOf(c), kvDim = kvDimOf(c), hidden = c.hiddenDim;
  const gemma = family === 'gemma2';
  const rms = (name: string): Norm => norm(t.vector(name, dim, gemma ? foldUnitOffset : undefined));
  const lin = (name: string, rows: number, cols: number): Linear =>
    linear(t.matrix(`${name}.weight`, [rows, cols]), t.optionalVector(`${name}.bias`, rows));

  const layers = Array.from({ length: c.nLayers }, (_, l): LayerWeights => {
    const p = `model.layers.${l}`;
    let q: Linear, k: Linear, v: Linear, gate: Linear, up: Linear;
    if (family === 'phi3') {
      // Fused rows: q (heads·hd), k (kv·hd), v (kv·hd); gate then up.
      const qkv = `${p}.self_attn.qkv_proj.weight`, gu = `${p}.mlp.gate_up_proj.weight`;
      const shape: [number, number] = [qDim + 2 * kvDim, dim];
      q = linear(t.matrix(qkv, shape, 0, qDim));
      k = linear(t.matrix(qkv, shape, qDim, kvDim));
      v = linear(t.matrix(qkv, shape, qDim + kvDim, kvDim));
      gate = linear(t.matrix(gu, [2 * hidden, dim], 0, hidden));
      up = linear(t.matrix(gu, [2 * hidden, dim], hidden, hidden));
    } else {
      q = lin(`${p}.self_attn.q_proj`, qDim, dim);
      k = lin(`${p}.self_attn.k_proj`, kvDim, dim);
      v = lin(`${p}.self_attn.v_proj`, kvDim, dim);
      gate = lin(`${p}.mlp.gate_proj`, hidden, dim);
      up = lin(`${p}.mlp.up_proj`, hidden, dim);
    }
    const qkNorm = family === 'qwen3';
    return {
      attnNorm: rms(`${p}.input_layernorm.weight`),
      q, k, v,
      qNorm: qkNorm ? t.vector(`${p}.self_attn.q_norm.weight`, hd) : null,
      kNorm: qkNorm ? t.vector(`${p}.self_attn.k_norm.weight`, hd) : null,
      o: lin(`${p}.self_attn.o_proj`, dim, qDim),
      // gemma2: post_attention_layernorm normalises the attention output; the FFN has its own pre/post norms.
      postAttnNorm: gemma ? rms(`${p}.post_attention_layernorm.weight`) : null,
      ffnNorm: rms(gemma ? `${p}.pre_feedforward_layernorm.weight` : `${p}.post_attention_layernorm.weight`),
      gate, up,
      down: lin(`${p}.mlp.down_proj`, dim, hidden),
      postFfnNorm: gemma ? rms(`${p}.post_feedforward_layernorm.weight`) : null,
    };
  });
  const tokenEmbedding = t.matrix('model.embed_tokens.weight', [c.vocabSize, dim]);
  const classifier = c.sharedClassifier || !t.has('lm_head.weight') ? tokenEmbedding : t.matrix('lm_head.weight', [c.vocabSize, dim]);
  if (!c.sharedClassifier && classifier === tokenEmbedding) throw new ModelFileError(`tie_word_embeddings is false but there is no lm_head.weight`);
  return { tokenEmbedding, positionEmbedding: null, layers, finalNorm: rms('model.norm.weight'), classifier: linear(classifier) };
}

function gpt2Weights(c: ModelConfig, t: TensorReader): Weights {
  const dim = c.dim, hidden = c.hiddenDim;
  const ln = (name: string): Norm => norm(t.vector(`${name}.weight`, dim), t.vector(`${name}.bias`, dim));
  const layers = Array.from({ length: c.nLayers }, (_, l): LayerWeights => {
    const p = `h.${l}`;
    // c_attn: [dim, 3·dim], output columns q | k | v (heads contiguous in each).
    const qkv: [number, number] = [dim, 3 * dim];
    const qkvBias = t.vector(`${p}.attn.c_attn.bias`, 3 * dim);
    const [wq, wk, wv] = t.transposed(`${p}.attn.c_attn.weight`, qkv, 3) as [WeightMatrix, WeightMatrix, WeightMatrix];
    return {
      attnNorm: ln(`${p}.ln_1`),
      q: linear(wq, qkvBias.subarray(0, dim)),
      k: linear(wk, qkvBias.subarray(dim, 2 * dim)),
      v: linear(wv, qkvBias.subarray(2 * dim)),
      qNorm: null, kNorm: null,
      o: linear(t.transposed(`${p}.attn.c_proj.weight`, [dim, dim])[0]!, t.vector(`${p}.attn.c_proj.bias`, dim)),
      postAttnNorm: null,
      ffnNorm: ln(`${p}.ln_2`),
      gate: null,
      up: linear(t.transposed(`${p}.mlp.c_fc.weight`, [dim, hidden])[0]!, t.vector(`${p}.mlp.c_fc.bias`, hidden)),
      down: linear(t.transposed(`${p}.mlp.c_proj.weight`, [hidden, dim])[0]!, t.vector(`${p}.mlp.c_proj.bias`, dim)),
      postFfnNorm: null,
    };
  });
  const tokenEmbedding = t.matrix('wte.weight', [c.vocabSize, dim]);
  if (t.has('lm_head.weight')) t.get('lm_head.weight', [c.vocabSize, dim]); // saved tied copy: same values
  return {
    tokenEmbedding, positionEmbedding: t.vector('wpe.weight', [c.seqLen, dim]), layers, finalNorm: ln('ln_f'), classifier: linear(tokenEmbedding),
  };
}
