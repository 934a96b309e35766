// Random-weight GGUF files in the shapes of the models people run (SmolLM2-135M, a Qwen2.5-0.5B-like
// shape, TinyLlama-1.1B) and in the weight types they are downloaded in, for `msrnn bench`: speed
// depends on shapes and types, not on values. Files are written tensor by tensor (never held
// whole in memory) into a cache folder, to a .part file renamed when complete.
import { closeSync, existsSync, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { fp32ToFp16, float16Bits, GGML, ggmlRowBytes, ggmlTypeInfo } from '@msrnn/tensor';
import { GgufValueType as T } from '@msrnn/transformer';
import { ggufHeader, ggufPadding, type GgufTensorInfo, type GgufWriteValue } from '@msrnn/transformer/export';

export interface ModelShape {
  /** What the shape is of (the model's published hyperparameters). */
  model: string;
  dim: number; hiddenDim: number; nLayers: number; nHeads: number; nKvHeads: number; vocabSize: number;
  /** Classifier = token embedding (no output.weight). */
  tied: boolean;
}

export const MODEL_SHAPES: Readonly<Record<string, ModelShape>> = Object.freeze({
  'smollm2-135m': { model: 'SmolLM2-135M', dim: 576, hiddenDim: 1536, nLayers: 30, nHeads: 9, nKvHeads: 3, vocabSize: 49152, tied: true },
  'qwen2.5-0.5b': { model: 'Qwen2.5-0.5B (llama layout, no q/k/v biases)', dim: 896, hiddenDim: 4864, nLayers: 24, nHeads: 14, nKvHeads: 2, vocabSize: 151936, tied: true },
  'tinyllama-1.1b': { model: 'TinyLlama-1.1B', dim: 2048, hiddenDim: 5632, nLayers: 22, nHeads: 32, nKvHeads: 4, vocabSize: 32000, tied: false },
});

/** Weight types of the files: one ggml type for every matrix (q8 = Q8_0, q4_0 = Q4_0), or llama.cpp's Q4_K_M mix. */
export const GGUF_WEIGHTS = ['f32', 'f16', 'q8', 'q4_0', 'q4_k_m'] as const;
export type GgufWeights = (typeof GGUF_WEIGHTS)[number];

/** Largest file the wasm backend can hold (its heap addresses 4 GiB; the loader reads tensors straight into it). */
export const MAX_GGUF_BYTES = 2 ** 32;

/**
 * llama.cpp's Q4_K_M choice per tensor (llama_tensor_get_type): Q4_K, with Q6_K for the
 * classifier and for attn_v / ffn_down in the layers use_more_bits picks; a K type on rows that are
 * not whole 256-blocks falls back (Q4_K → Q5_0, Q6_K → Q8_0), which is SmolLM2's Q4_K/Q5_0 mix.
 */
function q4kmType(name: string, cols: number, layer: number, nLayers: number, isClassifier: boolean): number {
  // C's integer division, as llama.cpp's use_more_bits writes it.
  const eighth = Math.floor(nLayers / 8);
  const moreBits = layer < eighth || layer >= Math.floor((7 * nLayers) / 8) || (layer - eighth) % 3 === 2;
  let type: number = GGML.Q4_K;
  if (isClassifier) type = GGML.Q6_K;
  else if ((name.endsWith('attn_v.weight') || name.endsWith('ffn_down.weight')) && moreBits) type = GGML.Q6_K;
  if (cols % 256 !== 0) type = type === GGML.Q6_K ? GGML.Q8_0 : GGML.Q5_0;
  return type;
}

function matrixType(weights: GgufWeights, name: string, cols: number, layer: number, nLayers: number, isClassifier: boolean): number {
  switch (weights) {
    case 'f32': return GGML.F32;
    case 'f16': return GGML.F16;
    case 'q8': return GGML.Q8_0;
    case 'q4_0': return GGML.Q4_0;
    case 'q4_k_m': return q4kmType(name, cols, layer, nLayers, isClassifier);
  }
}

/** The tensors of a llama GGUF in this shape, matrices in `weights`' types, norms F32. */
export function randomGgufTensors(s: ModelShape, weights: GgufWeights): GgufTensorInfo[] {
  const kv = (s.dim / s.nHeads) * s.nKvHeads;
  const mat = (name: string, cols: number, rows: number, layer = -1, isClassifier = false): GgufTensorInfo => {
    const type = ggmlTypeInfo(matrixType(weights, name, cols, layer, s.nLayers, isClassifier));
    return { name, type, dims: [cols, rows] };
  };
  const vec = (name: string): GgufTensorInfo => ({ name, type: 'F32', dims: [s.dim] });
  const tensors = [mat('token_embd.weight', s.dim, s.vocabSize, -1, s.tied)];
  for (let l = 0; l < s.nLayers; l++) {
    const b = `blk.${l}.`;
    tensors.push(
      vec(`${b}attn_norm.weight`), mat(`${b}attn_q.weight`, s.dim, s.dim, l), mat(`${b}attn_k.weight`, s.dim, kv, l),
      mat(`${b}attn_v.weight`, s.dim, kv, l), mat(`${b}attn_output.weight`, s.dim, s.dim, l), vec(`${b}ffn_norm.weight`),
      mat(`${b}ffn_gate.weight`, s.dim, s.hiddenDim, l), mat(`${b}ffn_up.weight`, s.dim, s.hiddenDim, l), mat(`${b}ffn_down.weight`, s.hiddenDim, s.dim, l),
    );
  }
  tensors.push(vec('output_norm.weight'));
  if (!s.tied) tensors.push(mat('output.weight', s.dim, s.vocabSize, -1, true));
  return tensors;
}

function metadata(s: ModelShape): GgufWriteValue[] {
  return [
    ['general.architecture', T.STRING, 'llama'], ['general.name', T.STRING, `random ${s.model} shape`],
    ['llama.context_length', T.UINT32, 32768], ['llama.embedding_length', T.UINT32, s.dim], ['llama.block_count', T.UINT32, s.nLayers],
    ['llama.feed_forward_length', T.UINT32, s.hiddenDim], ['llama.attention.head_count', T.UINT32, s.nHeads],
    ['llama.attention.head_count_kv', T.UINT32, s.nKvHeads], ['llama.attention.layer_norm_rms_epsilon', T.FLOAT32, 1e-5],
    ['llama.rope.freq_base', T.FLOAT32, 10000],
  ];
}

/** Largest |weight| the random values reach. */
const AMPLITUDE = 0.05;

/** Seeded xorshift32 words. */
class Random {
  constructor(private state: number) {}
  next(): number {
    let x = this.state;
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return (this.state = x >>> 0);
  }
  /** Uniform in [-AMPLITUDE, AMPLITUDE). */
  weight(): number { return (this.next() / 4294967296 - 0.5) * 2 * AMPLITUDE; }
}

/**
 * Fills `out` (whole blocks of `type`) with random quants and fixes each block's f16 scale(s) so
 * the values stay within about ±AMPLITUDE: random bytes are valid quants for every type here.
 */
function randomBlocks(type: number, out: Uint8Array, rnd: Random): void {
  const words = new Uint32Array(out.buffer, out.byteOffset, out.byteLength >> 2);
  for (let i = 0; i < words.length; i++) words[i] = rnd.next();
  for (let i = words.length << 2; i < out.length; i++) out[i] = rnd.next() & 255;
  const info = ggmlTypeInfo(type), view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const half = (at: number, v: number) => view.setUint16(at, float16Bits(v), true);
  for (let b = 0; b < out.length; b += info.blockBytes) {
    switch (type) {
      case GGML.Q8_0: half(b, AMPLITUDE / 127); break;
      case GGML.Q4_0: half(b, AMPLITUDE / 8); break;
      case GGML.Q5_0: half(b, AMPLITUDE / 16); break;
      case GGML.Q4_K: half(b, AMPLITUDE / (63 * 15)); half(b + 2, AMPLITUDE / (63 * 30)); break;
      case GGML.Q6_K: half(b + 208, AMPLITUDE / (128 * 32)); break;
      default: throw new Error(`randomBlocks: no random blocks for ggml type ${info.name}`);
    }
  }
}

/** Bytes of one random tensor's data, produced in pieces of whole rows (a few MB each). */
function* tensorPieces(t: GgufTensorInfo, rnd: Random): Generator<Uint8Array> {
  const type = typeof t.type === 'string' ? (t.type === 'F32' ? GGML.F32 : GGML.F16) : t.type.id;
  const [cols, rows = 1] = t.dims as [number, number?];
  if (t.dims.length === 1) { yield new Uint8Array(new Float32Array(cols).fill(1).buffer); return; } // norm weights
  const rowBytes = ggmlRowBytes(type, cols);
  const rowsPerPiece = Math.max(1, Math.floor((4 << 20) / rowBytes));
  const buf = new Uint8Array(Math.ceil((rowsPerPiece * rowBytes) / 4) * 4);
  const floats = type === GGML.F32 || type === GGML.F16 ? new Float32Array(rowsPerPiece * cols) : null;
  for (let r = 0; r < rows; r += rowsPerPiece) {
    const n = Math.min(rowsPerPiece, rows - r), bytes = buf.subarray(0, n * rowBytes);
    if (floats) {
      const values = n * cols;
      for (let i = 0; i < values; i++) floats[i] = rnd.weight();
      if (type === GGML.F32) bytes.set(new Uint8Array(floats.buffer, 0, values * 4));
      else fp32ToFp16(new Uint16Array(buf.buffer, 0, values), 0, floats, 0, values);
    } else randomBlocks(type, bytes, rnd);
    yield bytes;
  }
}

export function randomGgufPath(dir: string, shape: string, weights: GgufWeights): string {
  return resolve(dir, `random-${shape}-${weights}.gguf`);
}

/** Size of the file randomGguf writes, from its header and the tensors' sizes. */
export function randomGgufBytes(s: ModelShape, weights: GgufWeights): number {
  const header = ggufHeader(metadata(s), randomGgufTensors(s, weights));
  return header.bytes.length + header.dataBytes.reduce((a, n) => a + n + ggufPadding(n, header.alignment).length, 0);
}

export function shapeNamed(shape: string): ModelShape {
  const s = MODEL_SHAPES[shape];
  if (!s) throw new Error(`unknown model shape "${shape}" (known: ${Object.keys(MODEL_SHAPES).join(', ')})`);
  return s;
}

/** The file's size; a RangeError when the wasm heap could not hold it (over 4 GiB). */
export function checkRandomGgufFits(shape: string, weights: GgufWeights): number {
  const size = randomGgufBytes(shapeNamed(shape), weights);
  if (size > MAX_GGUF_BYTES) {
    throw new RangeError(`${shape} in ${weights} would be a ${(size / 1e9).toFixed(1)} GB file; the wasm heap holds at most 4 GiB: choose another --weights`);
  }
  return size;
}

/**
 * The random GGUF file of `shape` in `weights` under `dir`, written first unless a file of the
 * right size is there. `note` hears what is written and how big it is. Refuses files the wasm
 * heap cannot hold (over 4 GiB).
 */
export function ensureRandomGguf(dir: string, shape: string, weights: GgufWeights, note: (line: string) => void): string {
  const path = randomGgufPath(dir, shape, weights), s = shapeNamed(shape);
  const size = checkRandomGgufFits(shape, weights);
  if (existsSync(path) && statSync(path).size === size) return path;
  note(`writing ${path} (${(size / 1e6).toFixed(0)} MB of random weights${size > 1e9 ? '; this takes a while and as much disk' : ''})`);
  mkdirSync(dir, { recursive: true });
  writeRandomGguf(path, s, weights);
  return path;
}

/** Writes the random GGUF file of shape `s` to `path` (via `path`.part, renamed when complete). */
export function writeRandomGguf(path: string, s: ModelShape, weights: GgufWeights): void {
  const tensors = randomGgufTensors(s, weights);
  const header = ggufHeader(metadata(s), tensors);
  const part = `${path}.part`, fd = openSync(part, 'w');
  try {
    writeSync(fd, header.bytes);
    const rnd = new Random(0x9e3779b9);
    tensors.forEach((t, i) => {
      for (const piece of tensorPieces(t, rnd)) writeSync(fd, piece);
      writeSync(fd, ggufPadding(header.dataBytes[i]!, header.alignment));
    });
  } finally {
    closeSync(fd);
  }
  renameSync(part, path);
}
