// A loaded model → a GGUF v3 file in llama.cpp's layout for its family (the inverse of
// gguf/llama.ts): tensor names, [in, out] dims, llama's q/k rows in interleaved pairs, the other
// families' in halves, phi3's and gpt2's fused tensors, gemma2's norms with their `1 +` (as the
// model holds them), Llama 3 rope scaling as the rope_freqs tensor. Matrices are written in the
// asked ggml type by ggml's own quantization rules (quantizeGgmlRow); a matrix whose rows are not
// whole blocks falls back to F16, as in ggml's files; norms and biases stay F32.
import { GGML_TYPES, dequantizeGgmlRow, type GgmlTypeInfo, type WeightMatrix } from '@msrnn/tensor';
import { QUANTIZABLE_GGML_TYPES, quantizeGgmlMatrix } from '@msrnn/tensor/quantize';
import { headDimOf, rotaryDimOf } from '../config.js';
import { writeGguf, type GgufWriteTensor, type GgufWriteValue } from '../gguf/write.js';
import { GgufValueType as T } from '../gguf/metadata.js';
import type { Model } from '../model.js';
import { ropeFrequencies } from '../rope-frequencies.js';
import type { Linear, Norm } from '../weights.js';
import { checkExpressible, exportFamily, type ExportFamily } from './family.js';
import { float32Bytes, matrixFloat32, reorderRopeRows, stackRows } from './tensors.js';

/** llama.cpp's general.file_type (enum llama_ftype) for a file whose matrices are all `type`. */
const FILE_TYPES: Readonly<Record<string, number>> = { F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q8_0: 7, Q5_0: 8, Q5_1: 9, BF16: 32 };

export interface GgufExportOptions {
  /** ggml type of the matrices: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0 or Q5_1 (default F32). */
  type?: string;
  /** tokenizer.ggml.* pairs to embed (see tokenizerGgufMetadata); default none. */
  tokenizer?: readonly GgufWriteValue[];
  /** general.name. */
  name?: string;
  /**
   * Write each matrix as F32 holding the values `type` rounds it to (quantized, then dequantized):
   * the reference a quantized file is checked against, free of the rounding's own effect.
   */
  roundedF32?: boolean;
}

export interface GgufExport {
  bytes: Uint8Array;
  /** GGUF general.architecture written. */
  architecture: string;
  /** Things a reader of the file should know (F16 fallbacks, keys llama.cpp ignores). */
  notes: string[];
}

/** The ggml type named `name` among the writable ones, or an error listing them. */
export function ggufExportType(name: string): GgmlTypeInfo {
  const upper = name.toUpperCase();
  const t = GGML_TYPES.find((g) => g.name === upper);
  if (!t || !QUANTIZABLE_GGML_TYPES.includes(t.name)) throw new Error(`GGUF type "${name}" cannot be written (writable: ${QUANTIZABLE_GGML_TYPES.join(', ')})`);
  return t;
}

export function modelToGguf(model: Model, opts: GgufExportOptions = {}): GgufExport {
  const type = ggufExportType(opts.type ?? 'F32');
  const family = exportFamily(model);
  checkExpressible(model, family, 'GGUF');
  const arch = family === 'mistral' ? 'llama' : family; // llama.cpp's converter writes mistral as llama
  const c = model.config, w = model.weights, notes: string[] = [];
  const tensors: GgufWriteTensor[] = [];
  const fallbacks = new Set<string>();

  const vector = (name: string, v: Float32Array): void => { tensors.push({ name, type: 'F32', dims: [v.length], data: float32Bytes(v.slice()) }); };
  const matrix = (name: string, data: Float32Array, rows: number, cols: number): void => {
    const t = cols % type.blockSize === 0 ? type : ggufExportType('F16');
    if (t !== type) fallbacks.add(name.replace(/^blk\.\d+\./, ''));
    const bytes = quantizeGgmlMatrix(t.id, data, 0, rows, cols);
    if (!opts.roundedF32) tensors.push({ name, type: t, dims: [cols, rows], data: bytes });
    else {
      const rounded = new Float32Array(rows * cols), rowBytes = bytes.length / rows;
      for (let r = 0; r < rows; r++) dequantizeGgmlRow(t.id, bytes, r * rowBytes, cols, rounded, r * cols);
      tensors.push({ name, type: 'F32', dims: [cols, rows], data: float32Bytes(rounded) });
    }
  };
  const weight = (m: WeightMatrix): Float32Array => matrixFloat32(m);
  const normOf = (name: string, n: Norm | null): void => {
    if (!n) return;
    vector(`${name}.weight`, n.weight);
    if (n.bias) vector(`${name}.bias`, n.bias);
  };
  /** One tensor from the row ranges `parts` (fused when several), with their biases when present. */
  const linear = (name: string, parts: readonly Linear[], rope: readonly (number | null)[] = []): void => {
    const to = family === 'llama' || family === 'mistral' ? 'interleaved' : 'half';
    const rows = parts.reduce((n, p) => n + p.weight.rows, 0), cols = parts[0]!.weight.cols;
    const heads = (i: number) => rope[i] ?? null;
    matrix(`${name}.weight`, stackRows(parts.map((p, i) => (heads(i) === null ? weight(p.weight) : reorderRopeRows(weight(p.weight), model, heads(i)!, to)))), rows, cols);
    if (parts.some((p) => p.bias)) {
      vector(`${name}.bias`, stackRows(parts.map((p, i) => {
        const b = p.bias ?? new Float32Array(p.weight.rows);
        return heads(i) === null ? b : reorderRopeRows(b, model, heads(i)!, to);
      })));
    }
  };

  matrix('token_embd.weight', weight(w.tokenEmbedding), c.vocabSize, c.dim);
  if (w.positionEmbedding) {
    const n = w.positionEmbedding.length / c.dim;
    tensors.push({ name: 'position_embd.weight', type: 'F32', dims: [c.dim, n], data: float32Bytes(w.positionEmbedding.slice()) });
  }
  const rope = c.arch.positions.kind === 'rope';
  w.layers.forEach((L, l) => {
    const b = `blk.${l}.`;
    normOf(`${b}attn_norm`, L.attnNorm);
    if (family === 'phi3' || family === 'gpt2') linear(`${b}attn_qkv`, [L.q, L.k, L.v], rope ? [c.nHeads, c.nKvHeads, null] : []);
    else {
      linear(`${b}attn_q`, [L.q], rope ? [c.nHeads] : []);
      linear(`${b}attn_k`, [L.k], rope ? [c.nKvHeads] : []);
      linear(`${b}attn_v`, [L.v]);
    }
    if (L.qNorm) vector(`${b}attn_q_norm.weight`, L.qNorm);
    if (L.kNorm) vector(`${b}attn_k_norm.weight`, L.kNorm);
    linear(`${b}attn_output`, [L.o]);
    normOf(`${b}post_attention_norm`, L.postAttnNorm);
    normOf(`${b}ffn_norm`, L.ffnNorm);
    if (family === 'phi3') linear(`${b}ffn_up`, [L.gate!, L.up]);
    else {
      if (L.gate) linear(`${b}ffn_gate`, [L.gate]);
      linear(`${b}ffn_up`, [L.up]);
    }
    linear(`${b}ffn_down`, [L.down]);
    normOf(`${b}post_ffw_norm`, L.postFfnNorm);
  });
  normOf('output_norm', w.finalNorm);
  if (w.classifier.weight !== w.tokenEmbedding) matrix('output.weight', weight(w.classifier.weight), c.vocabSize, c.dim);
  const p = c.arch.positions;
  if (p.kind === 'rope' && p.scaling) {
    // rope_freqs holds per-pair divisors of the base frequencies.
    const base = ropeFrequencies(rotaryDimOf(c), p.theta, null), scaled = ropeFrequencies(rotaryDimOf(c), p.theta, p.scaling);
    vector('rope_freqs.weight', Float32Array.from(base, (f, i) => f / scaled[i]!));
  }
  if (fallbacks.size > 0) notes.push(`${[...fallbacks].join(', ')}: rows are not whole ${type.name} blocks of ${type.blockSize}, written as F16 (as ggml does)`);

  const metadata: GgufWriteValue[] = [
    ['general.architecture', T.STRING, arch],
    ['general.name', T.STRING, opts.name ?? arch],
    ['general.file_type', T.UINT32, FILE_TYPES[type.name]!],
    ...(type.blockSize > 1 ? [['general.quantization_version', T.UINT32, 2] as GgufWriteValue] : []),
    ...hyperparameters(model, family, arch, notes),
    ...(opts.tokenizer ?? []),
  ];
  return { bytes: writeGguf(metadata, tensors), architecture: arch, notes };
}

function hyperparameters(model: Model, family: ExportFamily, arch: string, notes: string[]): GgufWriteValue[] {
  const c = model.config, a = c.arch, k = (key: string) => `${arch}.${key}`;
  const out: GgufWriteValue[] = [
    [k('context_length'), T.UINT32, c.seqLen], [k('embedding_length'), T.UINT32, c.dim],
    [k('block_count'), T.UINT32, c.nLayers], [k('feed_forward_length'), T.UINT32, c.hiddenDim],
    [k('attention.head_count'), T.UINT32, c.nHeads], [k('attention.head_count_kv'), T.UINT32, c.nKvHeads],
    [k(family === 'gpt2' ? 'attention.layer_norm_epsilon' : 'attention.layer_norm_rms_epsilon'), T.FLOAT32, c.normEps],
  ];
  if (headDimOf(c) * c.nHeads !== c.dim) out.push([k('attention.key_length'), T.UINT32, headDimOf(c)], [k('attention.value_length'), T.UINT32, headDimOf(c)]);
  if (a.positions.kind === 'rope') out.push([k('rope.freq_base'), T.FLOAT32, a.positions.theta], [k('rope.dimension_count'), T.UINT32, rotaryDimOf(c)]);
  if (family === 'gemma2') {
    out.push([k('attn_logit_softcapping'), T.FLOAT32, a.attnSoftcap], [k('final_logit_softcapping'), T.FLOAT32, a.finalSoftcap]);
    // llama.cpp derives the score scale (1/sqrt(head_dim), or dim/heads for the 46-layer 27B)
    // and reads no key for it; `attention.scale` is its key for a score multiplier elsewhere.
    const scalar = a.queryPreAttnScalar ?? headDimOf(c);
    const derived = c.nLayers === 46 ? c.dim / c.nHeads : headDimOf(c);
    if (scalar !== derived) {
      out.push([k('attention.scale'), T.FLOAT32, 1 / Math.sqrt(scalar)]);
      notes.push(`query_pre_attn_scalar ${scalar} ≠ ${derived} is written as ${k('attention.scale')}; msrnn reads it, llama.cpp ignores it for gemma2 and would use 1/sqrt(${derived})`);
    }
  }
  out.push(...windowMetadata(model, family, k));
  return out;
}

/**
 * `attention.sliding_window` (llama.cpp's key) and, when the windowed layers are not the ones the
 * architecture implies (every layer; gemma2: the even ones), `attention.sliding_window_pattern`
 * (one bool per layer, true = windowed), llama.cpp's key for per-layer windows.
 */
function windowMetadata(model: Model, family: ExportFamily, k: (key: string) => string): GgufWriteValue[] {
  const windows = model.config.arch.slidingWindow;
  if (windows === null || windows.every((x) => x === Infinity)) return family === 'phi3' ? [[k('attention.sliding_window'), T.UINT32, 0]] : [];
  if (family === 'gpt2') throw new Error(`${model.source}: sliding windows cannot be written as a gpt2 GGUF`);
  const sizes = [...new Set(windows.filter((x) => x !== Infinity))];
  if (sizes.length > 1) throw new Error(`${model.source}: layers with different sliding windows (${sizes.join(', ')}) cannot be written as GGUF (one attention.sliding_window)`);
  const windowed = windows.map((x) => x !== Infinity);
  const implied = windowed.every((on, l) => on === (family === 'gemma2' ? l % 2 === 0 : true));
  return [
    [k('attention.sliding_window'), T.UINT32, sizes[0]!],
    ...(implied ? [] : [[k('attention.sliding_window_pattern'), T.ARRAY, { elementType: T.BOOL, values: windowed }] as GgufWriteValue]),
  ];
}
