// llama2.c checkpoints (fp32): the legacy "v0" format written by run.c's export and the
// version-1 format (magic "ak42", 256-byte header). Both are parsed fully validated: the header
// must describe a sane geometry AND the file size must equal what the header implies, so a
// truncated or corrupt file fails with a clear message before any large allocation.
import { recognizeOtherFormat } from './bytes.js';
import { validateConfig, type ModelConfig } from './config.js';
import { allocateWeights, layerTensorSizes, type LayerTensorName, type Weights } from './weights.js';

export const LLAMA2C_MAGIC = 0x616b3432; // "ak42" little-endian
const V0_HEADER_BYTES = 7 * 4;
const V1_HEADER_BYTES = 256;

export type Llama2cVersion = 0 | 1;

export interface ParsedCheckpoint {
  config: ModelConfig;
  version: Llama2cVersion;
  weights: Weights;
}

interface HeaderInfo {
  config: ModelConfig;
  version: Llama2cVersion;
  headerBytes: number;
}

function readHeader(bytes: Uint8Array, source: string): HeaderInfo {
  if (bytes.byteLength < V0_HEADER_BYTES) {
    throw new Error(`${source}: file too small (${bytes.byteLength} bytes) to be a llama2.c checkpoint`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const i32 = (at: number): number => dv.getInt32(at, true);
  const params = (at: number) => ({
    dim: i32(at), hiddenDim: i32(at + 4), nLayers: i32(at + 8), nHeads: i32(at + 12),
    nKvHeads: i32(at + 16), vocabSize: i32(at + 20), seqLen: i32(at + 24),
  });
  const common = { normEps: 1e-5, ropeTheta: 10000 };

  if (dv.getUint32(0, true) === LLAMA2C_MAGIC) {
    if (bytes.byteLength < V1_HEADER_BYTES) throw new Error(`${source}: truncated version-1 header (${bytes.byteLength} bytes < 256)`);
    const version = i32(4);
    if (version !== 1) {
      throw new Error(`${source}: llama2.c checkpoint version ${version} is not supported (only legacy v0 and fp32 v1; v2 is int8-quantized)`);
    }
    const p = params(8);
    const flag = bytes[8 + 28]!;
    if (flag > 1) throw new Error(`${source}: invalid model header: shared_classifier flag must be 0 or 1, got ${flag}`);
    return { config: { ...p, sharedClassifier: flag === 1, ...common }, version: 1, headerBytes: V1_HEADER_BYTES };
  }
  // Legacy: a negative vocab_size marks an untied classifier stored after the RoPE tables.
  const p = params(0);
  const sharedClassifier = p.vocabSize > 0;
  return { config: { ...p, vocabSize: Math.abs(p.vocabSize), sharedClassifier, ...common }, version: 0, headerBytes: V0_HEADER_BYTES };
}

/** One tensor run in file order: `count` floats go into `target` (or are skipped when null). */
interface Segment { target: Float32Array | null; count: number }

function fileSegments(info: HeaderInfo, w: Weights): Segment[] {
  const c = info.config;
  const perLayer = (name: LayerTensorName): Segment[] => w.layers.map((l) => ({ target: l[name], count: l[name].length }));
  const classifier: Segment[] = c.sharedClassifier ? [] : [{ target: w.classifier, count: w.classifier.length }];
  if (info.version === 0) {
    // run.c order; then the (unused) RoPE tables freq_cis_real/imag, seqLen × headSize/2 each.
    const ropeTables = c.seqLen * (c.dim / c.nHeads);
    return [
      { target: w.tokenEmbedding, count: w.tokenEmbedding.length },
      ...perLayer('attNorm'), ...perLayer('wq'), ...perLayer('wk'), ...perLayer('wv'), ...perLayer('wo'),
      ...perLayer('ffnNorm'), ...perLayer('w1'), ...perLayer('w2'), ...perLayer('w3'),
      { target: w.finalNorm, count: c.dim },
      { target: null, count: ropeTables },
      ...classifier,
    ];
  }
  // version 1 (export.py version1_export): norms first, then embeddings, then the matrices.
  return [
    ...perLayer('attNorm'), ...perLayer('ffnNorm'),
    { target: w.finalNorm, count: c.dim },
    { target: w.tokenEmbedding, count: w.tokenEmbedding.length },
    ...perLayer('wq'), ...perLayer('wk'), ...perLayer('wv'), ...perLayer('wo'),
    ...perLayer('w1'), ...perLayer('w2'), ...perLayer('w3'),
    ...classifier,
  ];
}

/** File size in bytes that a header implies, computed without allocating anything. */
function expectedFileBytes(info: HeaderInfo): number {
  const c = info.config;
  const perLayer = Object.values(layerTensorSizes(c)).reduce((a, b) => a + b, 0);
  let floats = c.vocabSize * c.dim + c.nLayers * perLayer + c.dim;
  if (!c.sharedClassifier) floats += c.vocabSize * c.dim;
  if (info.version === 0) floats += c.seqLen * (c.dim / c.nHeads);
  return info.headerBytes + floats * 4;
}

const littleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The validated header of a llama2.c checkpoint (geometry sane, file size as implied); reads no weights. */
export function parseLlama2cHeader(bytes: Uint8Array, source: string): { config: ModelConfig; version: Llama2cVersion; headerBytes: number } {
  let info: HeaderInfo;
  try {
    info = readHeader(bytes, source);
    validateConfig(info.config, source);
  } catch (err: any) {
    const other = recognizeOtherFormat(bytes);
    if (other) throw new Error(`${source}: it looks like ${other}, not a llama2.c checkpoint (${String(err?.message).replace(`${source}: `, '')})`);
    throw err;
  }
  const expected = expectedFileBytes(info);
  if (bytes.byteLength !== expected) {
    const c = info.config;
    throw new Error(
      `${source}: file size ${bytes.byteLength} bytes does not match the llama2.c v${info.version} header ` +
      `(dim ${c.dim}, hidden ${c.hiddenDim}, layers ${c.nLayers}, heads ${c.nHeads}/${c.nKvHeads}, vocab ${c.vocabSize}, ` +
      `seq_len ${c.seqLen}, ${c.sharedClassifier ? 'tied' : 'untied'} classifier), which implies ${expected} bytes` +
      (bytes.byteLength < expected ? ' — the file is truncated or the header is corrupt' : ''),
    );
  }
  return info;
}

/** Parses and validates a llama2.c checkpoint; weights are copied into ONE `alloc` allocation. */
export function parseLlama2c(bytes: Uint8Array, source: string, alloc: (n: number) => Float32Array): ParsedCheckpoint {
  const info = parseLlama2cHeader(bytes, source);
  if (!littleEndianHost) throw new Error(`${source}: llama2.c checkpoints are little-endian; this host is big-endian`);
  const weights = allocateWeights(info.config, alloc);
  let at = info.headerBytes;
  for (const seg of fileSegments(info, weights)) {
    const n = seg.count * 4;
    if (seg.target) new Uint8Array(seg.target.buffer, seg.target.byteOffset, n).set(bytes.subarray(at, at + n));
    at += n;
  }
  checkFinite(weights, source);
  return { config: info.config, version: info.version, weights };
}

/**
 * A NaN or infinite weight only shows up later as NaN logits (a sampler that picks nothing, a
 * perplexity of NaN), far from its cause; one pass at load names the file and the tensor instead.
 */
function checkFinite(w: Weights, source: string): void {
  const s = w.storage;
  let bad = -1;
  for (let i = 0; i < s.length; i++) {
    const v = s[i]!;
    if (v - v !== 0) { bad = i; break; } // NaN - NaN and Inf - Inf are NaN
  }
  if (bad < 0) return;
  const named: [string, Float32Array][] = [['token embedding', w.tokenEmbedding], ['final norm', w.finalNorm], ['classifier', w.classifier]];
  w.layers.forEach((layer, l) => { for (const [k, v] of Object.entries(layer)) named.push([`layer ${l} ${k}`, v]); });
  const at = s.byteOffset + bad * 4;
  const [name, view] = named.find(([, v]) => at >= v.byteOffset && at < v.byteOffset + v.byteLength)!;
  throw new Error(`${source}: weight ${name}[${(at - view.byteOffset) / 4}] is ${s[bad]} — the file is corrupt`);
}
