// What a model file holds, without running it: format, architecture, hyperparameters, tokenizer,
// tensors, and the memory the model and a state of a given capacity take. Reads GGUF and llama2.c
// files from their bytes (tensor data is never touched, so inspecting a large file is cheap).
import { entryBytes } from '@msrnn/msrnn';
import { KV_TYPES, type KvType } from '@msrnn/tensor';
import { type ModelConfig, headDimOf, kvDimOf } from './config.js';
import { LLAMA2C_HEADER_BYTES, parseLlama2cHeader } from './llama2c.js';
import { openFileSource } from './bytes.js';
import { readBytes, type ByteSource } from './byte-source.js';
import { readGgufIndex } from './gguf/read-index.js';
import { describeGgufLlama, ggufArchitecture, SUPPORTED_GGUF_ARCHITECTURES } from './gguf/llama.js';
import { parseGguf, isGguf, type GgufFile, type GgufIndex, type GgufTensorEntry } from './gguf/parse.js';
import { GgufValueType, describeType, type GgufArray, type GgufEntry } from './gguf/metadata.js';

/** `shape` lists the fastest dimension first, as GGUF does: a weight matrix is [input features, output features]. */
export interface InspectedTensor { name: string; type: string; shape: number[]; bytes: number }

export interface InspectedTokenizer {
  /** e.g. 'llama (SentencePiece)', 'gpt2 (byte-level BPE)', or where a llama2.c model's vocabulary lives. */
  kind: string;
  size: number | null;
  /** Named special ids (bos, eos, unknown, padding, …) with their pieces. */
  special: { role: string; id: number; piece: string | null }[];
  /** Tokens of type control (3) or user-defined (4), at most 32 listed. */
  controlTokens: { id: number; piece: string }[];
  controlTokenCount: number;
  addBos: boolean | null;
  addEos: boolean | null;
  preTokenizer: string | null;
  merges: number | null;
  chatTemplate: boolean;
}

export interface ModelReport {
  source: string;
  /** e.g. 'GGUF v3', 'llama2.c v0'. */
  format: string;
  architecture: string;
  name: string | null;
  /** Whether this library runs the architecture. */
  supported: boolean;
  /** Why not, when it does not. */
  unsupportedReason: string | null;
  config: ModelConfig | null;
  /** Every hyperparameter the file states (GGUF: the `<arch>.` keys, prefix dropped). */
  hyperparameters: Record<string, string | number | boolean>;
  tokenizer: InspectedTokenizer;
  tensors: InspectedTensor[];
  parameters: number;
  /** Bytes of the weights as stored (GGUF keeps quantized blocks; llama2.c is f32). */
  weightBytes: number;
  /** Bytes one kept entry adds to a state, all layers and KV heads together (keys, values, position). */
  stateBytesPerEntry: number | null;
}

/**
 * Bytes a state of capacity k allocates: k + 1 slots per KV head (the new entry before eviction),
 * each also holding `statsPerEntry` float64 statistics when the policy keeps them (h2o, knorm: 1).
 */
export function stateBytes(report: ModelReport, capacity: number, statsPerEntry = 0): number | null {
  const c = report.config;
  if (report.stateBytesPerEntry === null || c === null) return null;
  return (report.stateBytesPerEntry + c.nLayers * c.nKvHeads * 8 * statsPerEntry) * (capacity + 1);
}

/** Bytes one kept token adds over every layer and KV head: key and value rows in `kv` and an int32 position (the state's own formula). */
export function bytesPerEntry(c: ModelConfig, kv: KvType = 'f32'): number {
  return c.nLayers * c.nKvHeads * entryBytes(headDimOf(c), kv);
}

/** bytesPerEntry for every KV entry type (--kv f32, f16, q8), or null where the report has no config. */
export function bytesPerEntryByKv(report: ModelReport): Record<KvType, number> | null {
  const c = report.config;
  return c === null ? null : Object.fromEntries(KV_TYPES.map((kv) => [kv, bytesPerEntry(c, kv)])) as Record<KvType, number>;
}

export function inspectModelBytes(bytes: Uint8Array, source = '<bytes>'): ModelReport {
  return isGguf(bytes) ? inspectGguf(parseGguf(bytes, source)) : inspectLlama2c(bytes, source, bytes.byteLength);
}

/** inspectModelBytes for a byte source: only the header is read (a multi-GB file inspects in a moment). */
export async function inspectModelSource(file: ByteSource): Promise<ModelReport> {
  const head = await readBytes(file, 0, Math.min(file.size, LLAMA2C_HEADER_BYTES), "the file's first bytes");
  if (!isGguf(head)) return inspectLlama2c(head, file.name, file.size);
  const { index, tensorData } = await readGgufIndex(file);
  return inspectGguf(index, tensorData);
}

/** inspectModelSource of a file by path (Node, Deno, Bun). */
export async function inspectModelFile(path: string): Promise<ModelReport> {
  const file = await openFileSource(path, 'model');
  try {
    return await inspectModelSource(file);
  } finally {
    file.close();
  }
}

function inspectLlama2c(bytes: Uint8Array, source: string, fileSize: number): ModelReport {
  const { config: c, version } = parseLlama2cHeader(bytes, source, fileSize);
  const kv = kvDimOf(c);
  // llama2.c's tensor names (run.c's TransformerWeights); shapes fastest dimension first, as GGUF lists them.
  const perLayer: [string, number[]][] = [
    ['rms_att_weight', [c.dim]], ['wq', [c.dim, c.dim]], ['wk', [c.dim, kv]], ['wv', [c.dim, kv]], ['wo', [c.dim, c.dim]],
    ['rms_ffn_weight', [c.dim]], ['w1', [c.dim, c.hiddenDim]], ['w2', [c.hiddenDim, c.dim]], ['w3', [c.dim, c.hiddenDim]],
  ];
  const f32 = (name: string, shape: number[]): InspectedTensor => ({ name, type: 'F32', shape, bytes: 4 * shape.reduce((a, b) => a * b, 1) });
  const tensors: InspectedTensor[] = [f32('token_embedding_table', [c.dim, c.vocabSize])];
  for (let l = 0; l < c.nLayers; l++) for (const [name, shape] of perLayer) tensors.push(f32(`layers.${l}.${name}`, shape));
  tensors.push(f32('rms_final_weight', [c.dim]));
  if (!c.sharedClassifier) tensors.push(f32('wcls', [c.dim, c.vocabSize]));
  const rope = c.arch.positions.kind === 'rope' ? c.arch.positions.theta : null;
  return {
    source, format: `llama2.c v${version}`, architecture: 'llama', name: null, supported: true, unsupportedReason: null, config: c,
    hyperparameters: {
      dim: c.dim, hidden_dim: c.hiddenDim, n_layers: c.nLayers, n_heads: c.nHeads, n_kv_heads: c.nKvHeads, head_dim: headDimOf(c),
      vocab_size: c.vocabSize, seq_len: c.seqLen, shared_classifier: c.sharedClassifier, norm_eps: c.normEps,
      ...(rope !== null ? { rope_theta: rope } : {}),
    },
    tokenizer: {
      kind: 'not in the file (llama2.c keeps its vocabulary in a separate tokenizer.bin)', size: c.vocabSize, special: [],
      controlTokens: [], controlTokenCount: 0, addBos: null, addEos: null, preTokenizer: null, merges: null, chatTemplate: false,
    },
    tensors, parameters: tensors.reduce((a, t) => a + t.bytes / 4, 0), weightBytes: tensors.reduce((a, t) => a + t.bytes, 0),
    stateBytesPerEntry: bytesPerEntry(c),
  };
}

function inspectGguf(file: GgufIndex, tensorData?: (t: GgufTensorEntry) => Uint8Array): ModelReport {
  const m = file.metadata;
  const arch = ggufArchitecture(file);
  let config: ModelConfig | null = null;
  let unsupportedReason: string | null = null;
  try {
    config = describeGgufLlama(file, tensorData).config;
  } catch (err: any) {
    unsupportedReason = String(err?.message ?? err).replace(`${file.source}: `, '');
  }
  const hyperparameters: Record<string, string | number | boolean> = {};
  for (const key of m.keys()) {
    if (!key.startsWith(`${arch}.`)) continue;
    const e = m.get(key)!;
    hyperparameters[key.slice(arch.length + 1)] = scalarText(e);
  }
  const tensors = file.tensors.map((t) => ({ name: t.name, type: t.type.name, shape: [...t.dims], bytes: t.byteLength }));
  return {
    source: file.source, format: `GGUF v${file.version}`, architecture: arch, name: m.string('general.name', '') || null,
    supported: config !== null, unsupportedReason: config === null && !SUPPORTED_GGUF_ARCHITECTURES.includes(arch)
      ? `architecture "${arch}" is not supported (supported: ${SUPPORTED_GGUF_ARCHITECTURES.join(', ')})` : unsupportedReason,
    config, hyperparameters, tokenizer: inspectGgufTokenizer(file), tensors,
    parameters: file.tensors.reduce((a, t) => a + t.elements, 0),
    weightBytes: file.tensors.reduce((a, t) => a + t.byteLength, 0),
    stateBytesPerEntry: config ? bytesPerEntry(config) : null,
  };
}

/** A scalar's value, or an array's element type and length. */
function scalarText(e: GgufEntry): string | number | boolean {
  if (e.type === GgufValueType.ARRAY) return `${describeType(e)} × ${(e.value as GgufArray).values.length}`;
  if (e.type === GgufValueType.FLOAT32) return Number((e.value as number).toPrecision(7)); // f32 noise (9.999999747e-6) hidden
  return typeof e.value === 'bigint' ? String(e.value) : (e.value as string | number | boolean);
}

const TOKENIZER_KINDS: Record<string, string> = {
  llama: 'llama (SentencePiece BPE with byte fallback)', gpt2: 'gpt2 (byte-level BPE)', bert: 'bert (WordPiece)',
  t5: 't5 (SentencePiece unigram)', rwkv: 'rwkv', none: 'none',
};
const CONTROL = 3, USER_DEFINED = 4;

function inspectGgufTokenizer(file: GgufIndex): InspectedTokenizer {
  const m = file.metadata;
  const model = m.string('tokenizer.ggml.model', '');
  const tokens = m.has('tokenizer.ggml.tokens') ? m.strings('tokenizer.ggml.tokens') : null;
  const types = m.has('tokenizer.ggml.token_type') ? m.numbers('tokenizer.ggml.token_type') : null;
  const piece = (id: number): string | null => tokens?.[id] ?? null;
  const special: InspectedTokenizer['special'] = [];
  for (const role of ['bos', 'eos', 'eot', 'eom', 'unknown', 'padding', 'separator', 'mask']) {
    const key = `tokenizer.ggml.${role}_token_id`;
    if (m.has(key)) { const id = m.integer(key); special.push({ role, id, piece: piece(id) }); }
  }
  const controlTokens: { id: number; piece: string }[] = [];
  let controlTokenCount = 0;
  if (types && tokens) {
    for (let id = 0; id < types.length; id++) {
      if (types[id] !== CONTROL && types[id] !== USER_DEFINED) continue;
      controlTokenCount++;
      if (controlTokens.length < 32) controlTokens.push({ id, piece: tokens[id] ?? '' });
    }
  }
  return {
    kind: model === '' ? 'none (no tokenizer.ggml.model)' : TOKENIZER_KINDS[model] ?? `${model} (unknown)`,
    size: tokens?.length ?? null, special, controlTokens, controlTokenCount,
    addBos: m.has('tokenizer.ggml.add_bos_token') ? m.bool('tokenizer.ggml.add_bos_token') : null,
    addEos: m.has('tokenizer.ggml.add_eos_token') ? m.bool('tokenizer.ggml.add_eos_token') : null,
    preTokenizer: m.string('tokenizer.ggml.pre', '') || null,
    merges: m.has('tokenizer.ggml.merges') ? m.strings('tokenizer.ggml.merges').length : null,
    chatTemplate: m.has('tokenizer.chat_template'),
  };
}
