// llama2.c checkpoints (fp32): the legacy "v0" format written by run.c's export and the
// version-1 format (magic "ak42", 256-byte header). Both are parsed fully validated: the header
// must describe a sane geometry AND the file size must equal what the header implies, so a
// truncated or corrupt file fails with a clear message before any large allocation.
import { f32WeightsUnscanned, GGML, type QuantAlloc } from '@msrnn/tensor';
import { LLAMA } from './arch.js';
import { recognizeOtherFormat } from './bytes.js';
import { bytesSource, type ByteSource } from './byte-source.js';
import { ReadPlan } from './read-plan.js';
import { ModelFileError } from './file-errors.js';
import { finiteTensorCheck } from './finite-tensor.js';
import { kvDimOf, validateConfig, type ModelConfig } from './config.js';
import { linear, norm, type LayerWeights, type Weights } from './weights.js';

export const LLAMA2C_MAGIC = 0x616b3432; // "ak42" little-endian

/** What loadModel reads, for errors about bytes that are none of them. */
export const RECOGNISED_FORMATS = 'recognised model formats: GGUF v2/v3 (magic "GGUF"), llama2.c checkpoints (v1 with magic "ak42", or the legacy v0 header) and Hugging Face folders (config.json + model.safetensors)';
const V0_HEADER_BYTES = 7 * 4;
const V1_HEADER_BYTES = 256;
/** Bytes a loader reads to parse the header (either version) and to recognise other formats. */
export const LLAMA2C_HEADER_BYTES = V1_HEADER_BYTES;

export type Llama2cVersion = 0 | 1;

export interface ParsedCheckpoint {
  config: ModelConfig;
  version: Llama2cVersion;
  weights: Weights;
}

/** A llama2.c layer as the file names its tensors (run.c's TransformerWeights), as float32 views. */
interface Llama2cLayer {
  attNorm: Float32Array; wq: Float32Array; wk: Float32Array; wv: Float32Array; wo: Float32Array;
  ffnNorm: Float32Array; w1: Float32Array; w2: Float32Array; w3: Float32Array;
}
type LayerTensorName = keyof Llama2cLayer;

interface Llama2cViews {
  tokenEmbedding: Float32Array;
  layers: Llama2cLayer[];
  finalNorm: Float32Array;
  classifier: Float32Array;
}

/** Element counts of each per-layer tensor. */
function layerTensorSizes(c: ModelConfig): Record<LayerTensorName, number> {
  const kv = kvDimOf(c);
  return {
    attNorm: c.dim, wq: c.dim * c.dim, wk: kv * c.dim, wv: kv * c.dim, wo: c.dim * c.dim,
    ffnNorm: c.dim, w1: c.hiddenDim * c.dim, w2: c.dim * c.hiddenDim, w3: c.hiddenDim * c.dim,
  };
}

/** Total float32 parameters (counting a tied classifier once). */
function llama2cParameterCount(c: ModelConfig): number {
  const per = Object.values(layerTensorSizes(c)).reduce((a, b) => a + b, 0);
  return c.vocabSize * c.dim * (c.sharedClassifier ? 1 : 2) + c.nLayers * per + c.dim;
}

/**
 * One `alloc` allocation per tensor (not one for all): a quantized model can then give back the
 * float32 originals it replaced (quantize.ts).
 */
function allocateViews(c: ModelConfig, alloc: (n: number) => Float32Array): Llama2cViews {
  const sizes = layerTensorSizes(c);
  const tokenEmbedding = alloc(c.vocabSize * c.dim);
  const layers: Llama2cLayer[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    layers.push({
      attNorm: alloc(sizes.attNorm), wq: alloc(sizes.wq), wk: alloc(sizes.wk), wv: alloc(sizes.wv), wo: alloc(sizes.wo),
      ffnNorm: alloc(sizes.ffnNorm), w1: alloc(sizes.w1), w2: alloc(sizes.w2), w3: alloc(sizes.w3),
    });
  }
  const finalNorm = alloc(c.dim);
  const classifier = c.sharedClassifier ? tokenEmbedding : alloc(c.vocabSize * c.dim);
  return { tokenEmbedding, layers, finalNorm, classifier };
}

/** The roles of run.c's tensors: w1 = gate, w3 = up, w2 = down; no biases; RMSNorm weights. */
function toWeights(c: ModelConfig, v: Llama2cViews): Weights {
  const kv = kvDimOf(c);
  const matrix = (data: Float32Array, rows: number, cols: number) => f32WeightsUnscanned(data, 0, rows, cols); // scanned as read
  const tokenEmbedding = matrix(v.tokenEmbedding, c.vocabSize, c.dim);
  const layers = v.layers.map((L): LayerWeights => ({
    attnNorm: norm(L.attNorm),
    q: linear(matrix(L.wq, c.dim, c.dim)),
    k: linear(matrix(L.wk, kv, c.dim)),
    v: linear(matrix(L.wv, kv, c.dim)),
    qNorm: null,
    kNorm: null,
    o: linear(matrix(L.wo, c.dim, c.dim)),
    postAttnNorm: null,
    ffnNorm: norm(L.ffnNorm),
    gate: linear(matrix(L.w1, c.hiddenDim, c.dim)),
    up: linear(matrix(L.w3, c.hiddenDim, c.dim)),
    down: linear(matrix(L.w2, c.dim, c.hiddenDim)),
    postFfnNorm: null,
  }));
  const classifier = c.sharedClassifier ? tokenEmbedding : matrix(v.classifier, c.vocabSize, c.dim);
  return { tokenEmbedding, positionEmbedding: null, layers, finalNorm: norm(v.finalNorm), classifier: linear(classifier) };
}

interface HeaderInfo {
  config: ModelConfig;
  version: Llama2cVersion;
  headerBytes: number;
}

function readHeader(bytes: Uint8Array, source: string): HeaderInfo {
  if (bytes.byteLength < V0_HEADER_BYTES) {
    throw new ModelFileError(`${source}: file too small (${bytes.byteLength} bytes) to be a llama2.c checkpoint`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const i32 = (at: number): number => dv.getInt32(at, true);
  const params = (at: number) => ({
    dim: i32(at), hiddenDim: i32(at + 4), nLayers: i32(at + 8), nHeads: i32(at + 12),
    nKvHeads: i32(at + 16), vocabSize: i32(at + 20), seqLen: i32(at + 24),
  });
  const common = { normEps: 1e-5, arch: LLAMA };

  if (dv.getUint32(0, true) === LLAMA2C_MAGIC) {
    if (bytes.byteLength < V1_HEADER_BYTES) throw new ModelFileError(`${source}: truncated version-1 header (${bytes.byteLength} bytes < 256)`);
    const version = i32(4);
    if (version !== 1) {
      throw new ModelFileError(`${source}: llama2.c checkpoint version ${version} is not supported (only legacy v0 and fp32 v1; v2 is int8-quantized)`);
    }
    const p = params(8);
    const flag = bytes[8 + 28]!;
    if (flag > 1) throw new ModelFileError(`${source}: invalid model header: shared_classifier flag must be 0 or 1, got ${flag}`);
    // export.py pads the header with zeros to 256 bytes: anything else there is not its file.
    for (let i = 8 + 29; i < V1_HEADER_BYTES; i++) {
      if (bytes[i] !== 0) throw new ModelFileError(`${source}: invalid model header: byte ${i} of the version-1 header is padding and must be 0, got ${bytes[i]}`);
    }
    return { config: { ...p, sharedClassifier: flag === 1, ...common }, version: 1, headerBytes: V1_HEADER_BYTES };
  }
  // Legacy: a negative vocab_size marks an untied classifier stored after the RoPE tables.
  const p = params(0);
  const sharedClassifier = p.vocabSize > 0;
  return { config: { ...p, vocabSize: Math.abs(p.vocabSize), sharedClassifier, ...common }, version: 0, headerBytes: V0_HEADER_BYTES };
}

/**
 * One tensor run in file order: `count` floats go into `target` (or are skipped when null); `what`
 * names it in a read error, `name` in a corrupt-value error, which says where in its rows of `cols`.
 */
interface Segment { target: Float32Array | null; count: number; what: string; name: string; cols: number }

function fileSegments(info: HeaderInfo, w: Llama2cViews): Segment[] {
  const c = info.config;
  // Row widths (inputs) of run.c's matrices; a norm is one row.
  const cols: Record<LayerTensorName, number> = { attNorm: c.dim, wq: c.dim, wk: c.dim, wv: c.dim, wo: c.dim, ffnNorm: c.dim, w1: c.dim, w2: c.hiddenDim, w3: c.dim };
  const perLayer = (name: LayerTensorName): Segment[] => w.layers.map((l, i) => ({
    target: l[name], count: l[name].length, what: `layer ${i}'s ${name}`, name: `layer ${i} ${name}`, cols: cols[name],
  }));
  const whole = (target: Float32Array, name: string): Segment => ({ target, count: target.length, what: `the ${name}`, name, cols: c.dim });
  const classifier: Segment[] = c.sharedClassifier ? [] : [whole(w.classifier, 'classifier')];
  if (info.version === 0) {
    // run.c order; then the (unused) RoPE tables freq_cis_real/imag, seqLen × headSize/2 each.
    const ropeTables = c.seqLen * (c.dim / c.nHeads);
    return [
      whole(w.tokenEmbedding, 'token embedding'),
      ...perLayer('attNorm'), ...perLayer('wq'), ...perLayer('wk'), ...perLayer('wv'), ...perLayer('wo'),
      ...perLayer('ffnNorm'), ...perLayer('w1'), ...perLayer('w2'), ...perLayer('w3'),
      whole(w.finalNorm, 'final norm'),
      { target: null, count: ropeTables, what: 'the RoPE tables', name: 'the RoPE tables', cols: ropeTables },
      ...classifier,
    ];
  }
  // version 1 (export.py version1_export): norms first, then embeddings, then the matrices.
  return [
    ...perLayer('attNorm'), ...perLayer('ffnNorm'),
    whole(w.finalNorm, 'final norm'),
    whole(w.tokenEmbedding, 'token embedding'),
    ...perLayer('wq'), ...perLayer('wk'), ...perLayer('wv'), ...perLayer('wo'),
    ...perLayer('w1'), ...perLayer('w2'), ...perLayer('w3'),
    ...classifier,
  ];
}

/** File size in bytes that a header implies, computed without allocating anything. */
function expectedFileBytes(info: HeaderInfo): number {
  const c = info.config;
  let floats = llama2cParameterCount(c);
  if (info.version === 0) floats += c.seqLen * (c.dim / c.nHeads);
  return info.headerBytes + floats * 4;
}

const littleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The validated header of a llama2.c checkpoint of `fileSize` bytes (geometry sane, file size as
 * implied) from its first bytes (at least LLAMA2C_HEADER_BYTES of them, or the whole file); reads no weights.
 */
export function parseLlama2cHeader(bytes: Uint8Array, source: string, fileSize = bytes.byteLength): { config: ModelConfig; version: Llama2cVersion; headerBytes: number } {
  let info: HeaderInfo;
  try {
    info = readHeader(bytes, source);
    validateConfig(info.config, source);
  } catch (err: any) {
    const other = recognizeOtherFormat(bytes);
    const folder = other === 'a safetensors file' ? 'load the Hugging Face folder it belongs to (config.json beside it); ' : '';
    if (other) throw new ModelFileError(`${source}: it looks like ${other}, not a llama2.c checkpoint (${String(err?.message).replace(`${source}: `, '')}); ${folder}${RECOGNISED_FORMATS}`);
    // Without the v1 magic the bytes may be no llama2.c file at all: say what else would load.
    if (bytes.byteLength >= 4 && new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true) !== LLAMA2C_MAGIC) throw new ModelFileError(`${String(err?.message)}; ${RECOGNISED_FORMATS}`);
    throw err;
  }
  const expected = expectedFileBytes(info);
  if (fileSize !== expected) {
    const c = info.config;
    throw new ModelFileError(
      `${source}: file size ${fileSize} bytes does not match the llama2.c v${info.version} header ` +
      `(dim ${c.dim}, hidden ${c.hiddenDim}, layers ${c.nLayers}, heads ${c.nHeads}/${c.nKvHeads}, vocab ${c.vocabSize}, ` +
      `seq_len ${c.seqLen}, ${c.sharedClassifier ? 'tied' : 'untied'} classifier), which implies ${expected} bytes` +
      (fileSize < expected ? ' — the file is truncated or the header is corrupt' : ''),
    );
  }
  return info;
}

/** Parses and validates a llama2.c checkpoint; each weight is copied into its own `alloc` allocation. */
export function parseLlama2c(bytes: Uint8Array, source: string, alloc: (n: number) => Float32Array): ParsedCheckpoint {
  const plan = new ReadPlan();
  const parsed = llama2cParts(bytesSource(bytes, source), bytes, { alloc }, plan);
  plan.runSync();
  return parsed;
}

/**
 * A llama2.c checkpoint read from `file` (`header` = its first LLAMA2C_HEADER_BYTES bytes, or all
 * of them): each weight gets its own `mem.alloc` allocation, which `plan` fills when it runs,
 * checking as it reads that every weight is finite: a NaN or infinite weight would only show up
 * later as NaN logits, far from its cause, so the load names the file and the tensor instead.
 */
export function llama2cParts(file: ByteSource, header: Uint8Array, mem: QuantAlloc, plan: ReadPlan): ParsedCheckpoint {
  const source = file.name;
  const info = parseLlama2cHeader(header, source, file.size);
  if (!littleEndianHost) throw new Error(`${source}: llama2.c checkpoints are little-endian; this host is big-endian`);
  const views = allocateViews(info.config, (n) => mem.alloc(n));
  let at = info.headerBytes;
  for (const seg of fileSegments(info, views)) {
    if (seg.target) {
      plan.copy(file, at, new Uint8Array(seg.target.buffer, seg.target.byteOffset, seg.count * 4), seg.what, finiteTensorCheck(mem, source, seg.name, GGML.F32, seg.cols));
    }
    at += seg.count * 4;
  }
  if (info.version === 0 && info.config.seqLen >= 2) {
    const c = info.config;
    const tableStart = info.headerBytes + (llama2cParameterCount(c) - (c.sharedClassifier ? 0 : c.vocabSize * c.dim)) * 4;
    // Row 1 of the table for any head dim up to `dim` lies in its first `dim` floats.
    const floats = Math.min((c.seqLen * (c.dim / c.nHeads)) / 2, c.dim);
    plan.convert(file, tableStart, floats * 4, 'the RoPE table', (table) => checkRopeTables(table, info, source));
  }
  return { config: info.config, version: info.version, weights: toWeights(info.config, views) };
}

/**
 * What the format lets us check about n_heads. A header whose n_heads / n_kv_heads were changed
 * keeping dim and kv_dim (8/4 → 4/2) implies the same tensor sizes, so the file size cannot tell.
 * A v0 file also stores run.c's RoPE tables, freq_cis_real[pos][j] = cos(pos · 10000^(-2j/headDim)):
 * when they match another head dim (a divisor of dim) and not the header's, the header was changed.
 * Tables that match no head dim (another theta, zeros) are left alone. A v1 file stores nothing
 * per head, so there such a change cannot be detected: the model loads and computes garbage.
 * `table` holds the first floats of freq_cis_real (at least min(seqLen · headDim / 2, dim)).
 */
function checkRopeTables(table: Uint8Array, info: HeaderInfo, source: string): void {
  const c = info.config;
  const dv = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const hd = c.dim / c.nHeads;
  const realFloats = (c.seqLen * hd) / 2;
  // Row 1 of freq_cis_real as the file would hold it for a head dim (rows of headDim/2 floats).
  const matches = (headDim: number): boolean => {
    const half = headDim / 2;
    if (2 * half > realFloats) return false; // row 1 would lie outside the stored table
    for (let j = 0; j < half; j++) {
      const stored = dv.getFloat32((half + j) * 4, true);
      if (Math.abs(stored - Math.cos(Math.pow(10000, (-2 * j) / headDim))) > 1e-4) return false;
    }
    return true;
  };
  if (matches(hd)) return;
  for (let heads = 1; heads <= c.dim; heads++) {
    const other = c.dim / heads;
    if (heads === c.nHeads || !Number.isInteger(other) || other % 2 !== 0) continue;
    if (matches(other)) {
      throw new ModelFileError(`${source}: invalid model header: n_heads ${c.nHeads} (head dim ${hd}) does not match the RoPE tables the file stores, which are for head dim ${other} (n_heads ${heads}); was the header edited?`);
    }
  }
}
