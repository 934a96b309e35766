// A loaded model: config, weights (allocated through the backend, given back by dispose) and the backend whose kernels run it.
import { Allocations, jsBackend, nonFiniteScanFor, type Backend, type KvType, type QuantAlloc } from '@msrnn/tensor';
import { MultiState, type Policy } from '@msrnn/msrnn';
import { headDimOf, validateConfig, type ModelConfig } from './config.js';
import { checkWeights, type NonFiniteScan } from './check-weights.js';
import { LLAMA2C_HEADER_BYTES, llama2cParts, parseLlama2cHeader, type Llama2cVersion } from './llama2c.js';
import { positionsFor, type PositionMode, type Positions } from './positions.js';
import { Scratch } from './scratch.js';
import { asBytes, openFileSource, type BytesLike, type FileByteSource } from './bytes.js';
import { blobSource, bytesSource, isByteSource, readBytes, renamed, type ByteSource } from './byte-source.js';
import { readBytesStep, runReads, runReadsSync, type Reads } from './reads.js';
import { isGguf, type GgufIndex, type GgufTensorEntry } from './gguf/parse.js';
import type { GgufMetadata } from './gguf/metadata.js';
import { ggufModelParts } from './gguf/load.js';
import { ggufIndexReads } from './gguf/read-index.js';
import { ReadPlan } from './read-plan.js';
import { checkRoom } from './memory-room.js';
import type { Weights } from './weights.js';
import { modelFingerprint } from './state-io.js';
import { readFolderFiles, type FileMap } from './files.js';
import { hfPartsFromFiles, hfPartsFromSources, hfShardNames } from './hf/index.js';
import { SAFETENSORS_INDEX } from './safetensors/folder.js';
import { LoadedModel } from './loaded-model.js';

export interface Model {
  readonly config: ModelConfig;
  readonly weights: Weights;
  readonly backend: Backend;
  /** Where the model came from (file name, or "<bytes>"), used in error messages. */
  readonly source: string;
  /** e.g. "llama2.c v0". */
  readonly format: string;
  /** Per-model working memory; a model runs one step at a time (JS is single-threaded). */
  readonly scratch: Scratch;
  readonly positions: Positions;
  /** The file's metadata when it has any (GGUF: hyperparameters, tokenizer.ggml.*, chat template); else null. */
  readonly metadata: GgufMetadata | null;
  /** The arrays the model took from its backend (weights, working buffers): what dispose() gives back. */
  readonly allocations: Allocations;
  /** Whether the model was disposed (or quantizeModel took its memory over): it can no longer run. */
  readonly disposed: boolean;
  /**
   * Gives the model's memory back to its backend (on wasm, to the heap's free list, where the next
   * model or state reuses it). Any later use throws a DisposedError. States made from the model
   * own their memory separately: dispose them with state.dispose(). Idempotent.
   */
  dispose(): void;
  /** Throws a DisposedError naming `what` (the call) if the model was disposed. */
  checkNotDisposed(what: string): void;
}

export interface LoadOptions {
  /** Kernels (and allocator) that run the model; default the pure-TS backend. */
  backend?: Backend;
  /** Name used in error messages when loading from bytes. */
  source?: string;
  /**
   * Replaces the file's sliding window: W on the layers the file windows, or on every layer when
   * it windows none (a Mistral GGUF: llama.cpp's converter writes no window); null removes every
   * window. Default: what the file says.
   */
  slidingWindow?: number | null;
}

/** `config` with opts.slidingWindow applied (see LoadOptions); the same object when there is none. */
function withSlidingWindow(config: ModelConfig, opts: LoadOptions, source: string): ModelConfig {
  const w = opts.slidingWindow;
  if (w === undefined) return config;
  if (w !== null && !(Number.isInteger(w) && w > 0)) throw new RangeError(`${source}: slidingWindow must be a positive integer or null, got ${String(w)}`);
  if (config.arch.positions.kind === 'learned' && w !== null) throw new Error(`${source}: a sliding window needs RoPE positions (the model has learned absolute positions)`);
  const file = config.arch.slidingWindow;
  const windowed = file?.some((x) => x !== Infinity) ? file : null;
  const slidingWindow = w === null ? null : Array.from({ length: config.nLayers }, (_, l) => (windowed === null || windowed[l] !== Infinity ? w : Infinity));
  return { ...config, arch: { ...config.arch, slidingWindow } };
}

/**
 * Builds a model from the bytes of a model file, the format found from the bytes: GGUF (the
 * "GGUF" magic; v2/v3, llama architecture, any supported tensor type) or a llama2.c checkpoint
 * (v0 legacy or v1 fp32). `model.format` says what was found. A GGUF model's weights on the js
 * backend are views of `bytes`: keep them unchanged while the model is in use.
 */
export function modelFromBytes(bytes: BytesLike, opts: LoadOptions = {}): Model {
  const source = opts.source ?? '<bytes>';
  return runReadsSync(modelReads(bytesSource(asBytes(bytes, `model ${source}`), source), opts));
}

/**
 * Builds a model from a byte source (../byte-source.ts: a file opened for reads at offsets, a
 * browser File, bytes in memory), the format found as modelFromBytes finds it. Only the header
 * is read before the weights are allocated; then each tensor's bytes are read, in bounded chunks,
 * straight into the memory the model keeps (the wasm heap), so loading takes about the file's
 * size in memory, not twice it. A model that cannot fit the backend's memory is refused first.
 */
export function modelFromSource(file: ByteSource, opts: LoadOptions = {}): Promise<Model> {
  return runReads(modelReads(renamed(file, opts.source ?? file.name), opts));
}

/** The one body of modelFromBytes (reads run synchronously) and modelFromSource (asynchronously): see ./reads.ts. */
function* modelReads(file: ByteSource, opts: LoadOptions): Reads<Model> {
  const backend = opts.backend ?? jsBackend, source = file.name;
  const head = yield* readBytesStep(file, 0, Math.min(file.size, LLAMA2C_HEADER_BYTES), "the file's first bytes");
  const gguf = isGguf(head) ? yield* ggufIndexReads(file) : null;
  const allocations = new Allocations(backend);
  try {
    const plan = new ReadPlan();
    const parts = gguf ? planGguf(gguf.index, file, backend, allocations, plan, gguf.tensorData) : planLlama2c(file, head, backend, allocations, plan);
    yield* plan.reads();
    return assemble(withSlidingWindow(parts.config, opts, source), parts.weights, backend, allocations, source, parts.format, parts.metadata);
  } catch (err) {
    allocations.releaseAll(); // what the load allocated goes back (owningAllocations, for a loader written as reads)
    throw err;
  }
}

/** A model's parts once allocated, before the plan that fills them runs. */
interface PlannedParts { config: ModelConfig; weights: Weights; format: string; metadata: GgufMetadata | null }

function planGguf(index: GgufIndex, file: ByteSource, backend: Backend, allocations: Allocations, plan: ReadPlan, tensorData: (t: GgufTensorEntry) => Uint8Array): PlannedParts {
  checkRoom(backend, index.tensors.reduce((a, t) => a + t.byteLength, 0), file.name);
  const { config, weights, format } = ggufModelParts(index, file, allocations, plan, tensorData);
  // Every loader's weights pass the same shape check (modelFromWeights'), GGUF's too.
  checkWeights(config, weights, file.name);
  return { config, weights, format, metadata: index.metadata };
}

function planLlama2c(file: ByteSource, head: Uint8Array, backend: Backend, allocations: Allocations, plan: ReadPlan): PlannedParts {
  const { headerBytes } = parseLlama2cHeader(head, file.name, file.size); // a corrupt header is named before the size is
  checkRoom(backend, file.size - headerBytes, file.name);
  const { config, weights, version } = llama2cParts(file, head, allocations, plan);
  return { config, weights, format: `llama2.c v${version satisfies Llama2cVersion}`, metadata: null };
}

/** Runs a loader with fresh Allocations; if it throws (or its promise rejects), what it allocated is given back. */
function owningAllocations<T extends Model | Promise<Model>>(backend: Backend, load: (allocations: Allocations) => T): T {
  const allocations = new Allocations(backend);
  const released = (err: unknown): never => {
    allocations.releaseAll();
    throw err;
  };
  try {
    const model = load(allocations);
    return (model instanceof Promise ? model.catch(released) : model) as T;
  } catch (err) {
    return released(err);
  }
}

/**
 * A model from a Hugging Face folder given as file name → bytes (config.json, model.safetensors or
 * model.safetensors.index.json and its shards): how browsers load a folder (fetch, a picked folder).
 */
export function modelFromFiles(files: FileMap, opts: LoadOptions = {}): Model {
  const backend = opts.backend ?? jsBackend;
  const source = opts.source ?? '<folder>';
  return owningAllocations(backend, (allocations) => {
    const plan = new ReadPlan();
    const { config, weights, format } = hfPartsFromFiles(files, allocations, plan, source, (bytes) => checkRoom(backend, bytes, source));
    plan.runSync();
    return loadedModel(withSlidingWindow(config, opts, source), weights, { backend, source, format, allocations });
  });
}

/**
 * A Hugging Face folder on disk (Node, Deno, Bun): config.json and the index are read whole, the
 * safetensors as byte sources (headers first, then each tensor straight into place).
 */
async function loadHfFolder(dir: string, json: Map<string, Uint8Array>, opts: LoadOptions): Promise<Model> {
  const source = opts.source ?? dir;
  const shards = new Map<string, FileByteSource>();
  try {
    for (const name of hfShardNames(json, dir)) {
      const file = await openOptional(`${dir.replace(/[\\/]+$/, '')}/${name}`);
      if (file) shards.set(name, file);
    }
    return await modelFromFolderSources(json, shards, { ...opts, source });
  } finally {
    for (const file of shards.values()) file.close();
  }
}

/**
 * A Hugging Face folder given as file name → bytes, Blob (a browser's picked or dropped files)
 * or ByteSource: config.json and model.safetensors.index.json are read whole (no other JSON file
 * is), the safetensors as sources (headers first, then each tensor straight into the backend's
 * memory), so a folder loads in about its size in memory, not twice it.
 */
export async function loadModelFiles(files: ReadonlyMap<string, BytesLike | Blob | ByteSource>, opts: LoadOptions = {}): Promise<Model> {
  const source = opts.source ?? '<folder>';
  const json = new Map<string, Uint8Array>(), shards = new Map<string, ByteSource>();
  for (const [name, value] of files) {
    const file = isByteSource(value) ? value
      : typeof Blob !== 'undefined' && value instanceof Blob ? blobSource(value, `${source}/${name}`)
        : bytesSource(asBytes(value, `${source}/${name}`), `${source}/${name}`);
    // Only the two JSON files the loader reads (a folder may hold a tokenizer.json, a data set...).
    if (name === 'config.json' || name === SAFETENSORS_INDEX) json.set(name, await readBytes(file, 0, file.size, name));
    else if (!name.endsWith('.json')) shards.set(name, file);
  }
  return modelFromFolderSources(json, shards, { ...opts, source });
}

async function modelFromFolderSources(json: ReadonlyMap<string, Uint8Array>, shards: ReadonlyMap<string, ByteSource>, opts: LoadOptions & { source: string }): Promise<Model> {
  const backend = opts.backend ?? jsBackend, source = opts.source;
  return owningAllocations(backend, async (allocations) => {
    const plan = new ReadPlan();
    const { config, weights, format } = await hfPartsFromSources(json, shards, allocations, plan, source, (bytes) => checkRoom(backend, bytes, source));
    await plan.run();
    return loadedModel(withSlidingWindow(config, opts, source), weights, { backend, source, format, allocations });
  });
}

/** A model file opened as a byte source, or null when there is no such file. */
async function openOptional(path: string): Promise<FileByteSource | null> {
  try {
    return await openFileSource(path, 'model');
  } catch (err) {
    if (/ENOENT|NotFound/.test((err as Error).message)) return null;
    throw err;
  }
}

/**
 * Loads a model from a file path or a Hugging Face folder path (Node, Deno, Bun), its bytes or a
 * Blob/File (anywhere). The format is found from the bytes (GGUF magic, llama2.c header) or the
 * folder's config.json, and named in `model.format`.
 */
export async function loadModel(pathOrBytes: string | BytesLike | Blob, opts: LoadOptions = {}): Promise<Model> {
  // A Blob (a browser's File from <input type=file> or a drop) is read slice by slice.
  if (typeof Blob !== 'undefined' && pathOrBytes instanceof Blob) return modelFromSource(blobSource(pathOrBytes), opts);
  if (typeof pathOrBytes !== 'string') return modelFromBytes(pathOrBytes as BytesLike, opts);
  let file;
  try {
    file = await openFileSource(pathOrBytes, 'model');
  } catch (err) {
    // A folder cannot be read as a file (no node:fs stat here, so browser bundles stay Node-free).
    if (/EISDIR|Is a directory/i.test((err as Error).message)) return loadModelFolder(pathOrBytes, opts);
    throw err;
  }
  try {
    return await modelFromSource(file, opts);
  } finally {
    file.close();
  }
}

/** Files a model folder may hold its model in, tried in this order after config.json (Hugging Face). */
export const MODEL_FOLDER_FILES = ['model.gguf', 'model.bin'] as const;

/**
 * A folder: a Hugging Face one (config.json), else the folder's model.gguf or llama2.c model.bin
 * (as this repo's models/ keep them). Named files only: listing a folder needs Node's fs.
 */
async function loadModelFolder(dir: string, opts: LoadOptions): Promise<Model> {
  const found = await readFolderFiles(dir, ['config.json', SAFETENSORS_INDEX]);
  if (found.has('config.json')) return loadHfFolder(dir, found, opts);
  for (const name of MODEL_FOLDER_FILES) {
    const file = await openOptional(`${dir.replace(/[\\/]+$/, '')}/${name}`);
    if (!file) continue;
    try {
      return await modelFromSource(file, opts);
    } finally {
      file.close();
    }
  }
  throw new Error(`${dir}: a folder with no model this package recognises: expected config.json (Hugging Face: config.json + model.safetensors), ${MODEL_FOLDER_FILES.join(' or ')}`);
}

export interface ModelFromWeightsOptions {
  /** The backend whose kernels run the model; every Float32Array in `weights` must come from its alloc. Default jsBackend. */
  backend?: Backend;
  /** Name used in error messages (a file name). */
  source?: string;
  /** e.g. "GGUF v3 (llama)". */
  format?: string;
  /** The allocations `weights` came from: the model takes them over and dispose() gives them back. */
  allocations?: Allocations;
}

/**
 * A model from a config and weights a caller built (tests, tools; GGUF and Hugging Face loaders go
 * through loadedModel): validates the config, checks every weight's shape against it and that no
 * weight holds an Inf or NaN, so a mistake is a clear error naming the tensor, not a wrong answer later.
 */
export function modelFromWeights(config: ModelConfig, weights: Weights, opts: ModelFromWeightsOptions = {}): Model {
  return loadedModel(config, weights, opts, nonFiniteScanFor((opts.backend ?? jsBackend) as QuantAlloc));
}

/** modelFromWeights for a loader's weights, which it checked for Inf/NaN as it read them (finite-tensor.ts): no `scan`. */
function loadedModel(config: ModelConfig, weights: Weights, opts: ModelFromWeightsOptions, scan?: NonFiniteScan): Model {
  const source = opts.source ?? '<weights>';
  validateConfig(config, source);
  checkWeights(config, weights, source, scan);
  const backend = opts.backend ?? jsBackend;
  return assemble(config, weights, backend, opts.allocations ?? new Allocations(backend), source, opts.format ?? 'weights');
}

function assemble(config: ModelConfig, weights: Weights, backend: Backend, allocations: Allocations, source: string, format: string, metadata: GgufMetadata | null = null): Model {
  const alloc = (n: number) => allocations.alloc(n);
  const free = (a: Float32Array) => allocations.release(a);
  return new LoadedModel({
    config, weights, backend, source, format, metadata, allocations,
    scratch: new Scratch(config, alloc, free),
    positions: positionsFor(config, alloc, free),
  });
}

export interface CreateStateOptions {
  /** Eviction policy, which also sets the capacity (e.g. getPolicy('tova', { capacity: 64 })); default keep-all. */
  policy?: Policy;
  /** 'absolute' (TOVA's convention) or 'reindex' (StreamingLLM's); default the policy's, else 'absolute'. See positions.ts. */
  positionMode?: PositionMode;
  /** Initial slots of an unbounded state (it doubles when full). */
  initialSlots?: number;
  /** How keys and values are stored: 'f32' (default), 'f16' or 'q8' (int8 blocks of 32 with a scale). */
  kv?: KvType;
}

/** A fresh (empty) multi-state for `model`, its storage allocated through the model's backend. */
export function createState(model: Model, opts: CreateStateOptions = {}): MultiState {
  model.checkNotDisposed('createState');
  const c = model.config, backend = model.backend;
  const state = new MultiState(
    { nLayers: c.nLayers, nKvHeads: c.nKvHeads, headDim: headDimOf(c) },
    // Unknown options (a `capacity`, which now comes from the policy) reach MultiState's check.
    {
      ...opts, alloc: (n) => backend.alloc(n), free: backend.free ? (a) => backend.free!(a) : undefined,
      ...(c.arch.slidingWindow ? { windows: c.arch.slidingWindow } : {}),
    },
  );
  state.fingerprint = () => modelFingerprint(model);
  // Whether asked for or the policy's default (StreamingLLM's), re-indexing needs rotated positions.
  if (state.positionMode === 'reindex' && c.arch.positions.kind !== 'rope') {
    throw new Error(`position mode "reindex" re-rotates keys by rank and needs RoPE; ${model.source} has learned absolute positions (use "absolute")`);
  }
  return state;
}

/** Throws a DisposedError if the model or the state was disposed, else checkStateFits. */
export function checkRunnable(model: Model, state: MultiState, what: string): void {
  model.checkNotDisposed(what);
  state.checkNotDisposed(what);
  checkStateFits(model, state);
}

/** Throws unless `state` was made for a model of this geometry. */
export function checkStateFits(model: Model, state: MultiState): void {
  const c = model.config, g = state.geometry;
  if (g.nLayers !== c.nLayers || g.nKvHeads !== c.nKvHeads || g.headDim !== headDimOf(c)) {
    throw new Error(
      `state geometry (layers ${g.nLayers}, kv heads ${g.nKvHeads}, head dim ${g.headDim}) does not match model ${model.source} ` +
      `(layers ${c.nLayers}, kv heads ${c.nKvHeads}, head dim ${headDimOf(c)})`,
    );
  }
}

/** Throws a clear RangeError unless `token` is a valid id for this model. */
export function checkToken(model: Model, token: number, what = 'token'): void {
  if (!Number.isInteger(token) || token < 0 || token >= model.config.vocabSize) {
    const shown = typeof token === 'string' ? `${JSON.stringify(token)} (a string)` : String(token);
    throw new RangeError(`${what} ${shown} is out of range: ${model.source} has vocabulary size ${model.config.vocabSize}`);
  }
}

/** checkToken for every id; the message (naming the index) is built only for a bad one. */
export function checkTokens(model: Model, tokens: ArrayLike<number>, what: string): void {
  const vocab = model.config.vocabSize;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!(Number.isInteger(t) && t >= 0 && t < vocab)) checkToken(model, t, `${what}: token [${i}] =`);
  }
}

