// Small GGUF files for the reader's tests, and where each field of a tensor info sits in them.
import { GGML_TYPES } from '@msrnn/tensor';
import { GgufValueType as T, parseGguf, writeGguf, type GgufWriteTensor, type GgufWriteValue } from '../../src/gguf/index.js';

export const sampleMetadata: GgufWriteValue[] = [
  ['general.architecture', T.STRING, 'llama'],
  ['general.alignment', T.UINT32, 32],
  ['u8', T.UINT8, 200], ['i8', T.INT8, -100], ['u16', T.UINT16, 60000], ['i16', T.INT16, -30000],
  ['u32', T.UINT32, 4000000000], ['i32', T.INT32, -2000000000], ['f32', T.FLOAT32, 0.5],
  ['bool', T.BOOL, true], ['utf8', T.STRING, 'héllo ▁wörld 🦙'], ['u64', T.UINT64, 2n ** 60n],
  ['i64', T.INT64, -12345n], ['f64', T.FLOAT64, Math.PI],
  ['tokens', T.ARRAY, { elementType: T.STRING, values: ['<unk>', '<s>', '▁a', ''] }],
  ['scores', T.ARRAY, { elementType: T.FLOAT32, values: Float32Array.of(0, -1.5, 2.25) }],
  ['types', T.ARRAY, { elementType: T.INT32, values: Int32Array.of(2, 3, 1) }],
  ['flags', T.ARRAY, { elementType: T.BOOL, values: [true, false] }],
  ['nested', T.ARRAY, { elementType: T.ARRAY, values: [
    { elementType: T.UINT16, values: Uint16Array.of(1, 2) },
    { elementType: T.STRING, values: ['x'] },
  ] }],
  ['empty', T.ARRAY, { elementType: T.UINT64, values: new BigUint64Array(0) }],
];

/** Counting bytes 0, 1, 2, … so every tensor's contents say where they came from. */
function pattern(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 255);
}

export const sampleTensors: GgufWriteTensor[] = [
  { name: 'token_embd.weight', type: 'F32', dims: [8, 3], data: pattern(8 * 3 * 4, 1) },
  { name: 'blk.0.attn_q.weight', type: 'Q8_0', dims: [32, 2], data: pattern(2 * 34, 2) },
  { name: 'blk.0.attn_norm.weight', type: 'F32', dims: [8], data: pattern(32, 3) },
  { name: 'blk.0.ffn_down.weight', type: 'Q4_K', dims: [256, 1], data: pattern(144, 4) },
  { name: 'output.weight', type: 'F16', dims: [8, 3, 1, 1], data: pattern(48, 5) },
];

export function sampleFile(version: 2 | 3 = 3): Uint8Array {
  return writeGguf(sampleMetadata, sampleTensors, version);
}

/** Byte offsets of the fields of tensor info `i` in a valid file. */
export function tensorFieldOffsets(file: Uint8Array, i: number): { name: number; nDims: number; dims: number; type: number; offset: number } {
  const info = parseGguf(file).tensors[i]!;
  const nameLength = new TextEncoder().encode(info.name).length;
  const nDims = info.infoOffset + 8 + nameLength;
  const type = nDims + 4 + 8 * info.dims.length;
  return { name: info.infoOffset, nDims, dims: nDims + 4, type, offset: type + 4 };
}

export function setU64(file: Uint8Array, at: number, v: bigint): Uint8Array {
  const out = file.slice();
  new DataView(out.buffer).setBigUint64(at, v, true);
  return out;
}

export function setU32(file: Uint8Array, at: number, v: number): Uint8Array {
  const out = file.slice();
  new DataView(out.buffer).setUint32(at, v, true);
  return out;
}

export interface TinyLlamaOptions {
  dim?: number; hidden?: number; layers?: number; heads?: number; kvHeads?: number; vocab?: number;
  tied?: boolean; architecture?: string; ropeFreqs?: Float32Array; extra?: GgufWriteValue[]; dropTensor?: string;
  types?: Partial<Record<string, string>>;
  /** UINT32 metadata values to write instead of the consistent ones. */
  override?: Record<string, number>;
}

/** A small random llama GGUF (F32 weights unless `types` says otherwise for a tensor name). */
export function tinyLlamaGguf(o: TinyLlamaOptions = {}): Uint8Array {
  const dim = o.dim ?? 16, hidden = o.hidden ?? 32, layers = o.layers ?? 2, heads = o.heads ?? 4, kvHeads = o.kvHeads ?? 2, vocab = o.vocab ?? 40;
  const arch = o.architecture ?? 'llama';
  const kv = (dim / heads) * kvHeads;
  let seed = 7;
  const rnd = (n: number) => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5);
  const f32 = (name: string, dims: number[]): GgufWriteTensor => {
    const type = o.types?.[name] ?? 'F32';
    const elements = dims.reduce((a, b) => a * b, 1);
    const info = GGML_TYPES.find((t) => t.name === type)!;
    const data = type === 'F32' ? new Uint8Array(rnd(elements).buffer) : new Uint8Array((elements / info.blockSize) * info.blockBytes); // zeros otherwise
    return { name, type, dims, data };
  };
  const tensors: GgufWriteTensor[] = [f32('token_embd.weight', [dim, vocab])];
  for (let l = 0; l < layers; l++) {
    tensors.push(
      f32(`blk.${l}.attn_norm.weight`, [dim]), f32(`blk.${l}.attn_q.weight`, [dim, dim]), f32(`blk.${l}.attn_k.weight`, [dim, kv]),
      f32(`blk.${l}.attn_v.weight`, [dim, kv]), f32(`blk.${l}.attn_output.weight`, [dim, dim]), f32(`blk.${l}.ffn_norm.weight`, [dim]),
      f32(`blk.${l}.ffn_gate.weight`, [dim, hidden]), f32(`blk.${l}.ffn_down.weight`, [hidden, dim]), f32(`blk.${l}.ffn_up.weight`, [dim, hidden]),
    );
  }
  tensors.push(f32('output_norm.weight', [dim]));
  if (!(o.tied ?? true)) tensors.push(f32('output.weight', [dim, vocab]));
  if (o.ropeFreqs) tensors.push({ name: 'rope_freqs.weight', type: 'F32', dims: [o.ropeFreqs.length], data: new Uint8Array(o.ropeFreqs.buffer) });
  const tokens = Array.from({ length: vocab }, (_, i) => (i < 3 ? ['<unk>', '<s>', '</s>'][i]! : i < 259 ? `<0x${(i - 3).toString(16).toUpperCase().padStart(2, '0')}>` : `▁t${i}`));
  const metadata: GgufWriteValue[] = [
    ['general.architecture', T.STRING, arch], ['general.name', T.STRING, 'tiny'],
    [`${arch}.context_length`, T.UINT32, 64], [`${arch}.embedding_length`, T.UINT32, dim], [`${arch}.block_count`, T.UINT32, layers],
    [`${arch}.feed_forward_length`, T.UINT32, hidden], [`${arch}.attention.head_count`, T.UINT32, heads],
    [`${arch}.attention.head_count_kv`, T.UINT32, kvHeads], [`${arch}.rope.dimension_count`, T.UINT32, dim / heads],
    [`${arch}.attention.layer_norm_rms_epsilon`, T.FLOAT32, 1e-5], [`${arch}.rope.freq_base`, T.FLOAT32, 500000],
    ['tokenizer.ggml.model', T.STRING, 'llama'],
    ['tokenizer.ggml.tokens', T.ARRAY, { elementType: T.STRING, values: tokens }],
    ['tokenizer.ggml.scores', T.ARRAY, { elementType: T.FLOAT32, values: Float32Array.from(tokens, (_, i) => -i) }],
    ['tokenizer.ggml.token_type', T.ARRAY, { elementType: T.INT32, values: Int32Array.from(tokens, (_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1)) }],
    ['tokenizer.ggml.bos_token_id', T.UINT32, 1], ['tokenizer.ggml.eos_token_id', T.UINT32, 2],
    ...(o.extra ?? []),
  ];
  const final = metadata.map(([k, t, v]): GgufWriteValue => (o.override?.[k] !== undefined ? [k, T.UINT32, o.override[k]] : [k, t, v]));
  return writeGguf(final, tensors.filter((t) => t.name !== o.dropTensor));
}
