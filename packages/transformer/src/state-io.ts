// Save and restore of a multi-state against the model it belongs to: the fingerprint (shape and a
// hash of the weights) a saved state carries, and restoreState, which checks it, makes the policy
// again from its saved request and copies the entries into the backend's memory.
import { forEachGroup4, kvRowBytes, type GgmlWeights, type KvRows } from '@msrnn/tensor';
import { decodeState, fnv1a, SentinelCompression, stateBytes, StateFileError, type ModelFingerprint, type MultiState, type PolicySpec } from '@msrnn/msrnn';
import { getPolicy } from '@msrnn/policies';
import { headDimOf } from './config.js';
import { createState, type Model } from './model.js';
import { SentinelStream } from './sentinel.js';

const fingerprints = new WeakMap<Model, ModelFingerprint>();

/**
 * Every typed array reachable from `weights`, in key order (each once); `rows4` collects the
 * matrices in the four-rows layout by their data array.
 */
export function weightArrays(weights: unknown, rows4?: Map<ArrayBufferView, GgmlWeights>): ArrayBufferView[] {
  const out: ArrayBufferView[] = [], seen = new Set<unknown>();
  const walk = (value: unknown): void => {
    if (value === null || typeof value !== 'object' || seen.has(value)) return;
    seen.add(value);
    if (ArrayBuffer.isView(value)) { out.push(value); return; }
    if (rows4 && (value as Partial<GgmlWeights>).layout === 'rows4') rows4.set((value as GgmlWeights).data, value as GgmlWeights);
    if (Array.isArray(value)) { for (const v of value) walk(v); return; }
    for (const k of Object.keys(value).sort()) walk((value as Record<string, unknown>)[k]);
  };
  walk(weights);
  return out;
}

/**
 * FNV-1a over every weight byte (weightArrays' order), a matrix in the four-rows layout hashed as
 * the file's rows, whatever layout this backend keeps them in: the same hash on every backend.
 */
export function weightsHash(weights: unknown): number {
  const rows4 = new Map<ArrayBufferView, GgmlWeights>(), arrays = weightArrays(weights, rows4);
  let h = 0x811c9dc5;
  for (const a of arrays) {
    const w = rows4.get(a);
    if (!w) { h = fnv1a(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), h); continue; }
    forEachGroup4(w.ggmlType, w.data, w.rows, w.cols, (rows) => { h = fnv1a(rows, h); });
  }
  return h;
}

/** The model's shape and an FNV-1a hash of every weight byte (weightsHash); computed once per model. */
export function modelFingerprint(model: Model): ModelFingerprint {
  let f = fingerprints.get(model);
  if (!f) {
    // Hashing a disposed model's arrays would hash whatever now lives in its old memory.
    model.checkNotDisposed('modelFingerprint');
    const h = weightsHash(model.weights);
    const c = model.config;
    f = {
      nLayers: c.nLayers, nKvHeads: c.nKvHeads, headDim: headDimOf(c), dim: c.dim, nHeads: c.nHeads, vocabSize: c.vocabSize,
      weightsHash: h.toString(16).padStart(8, '0'),
    };
    fingerprints.set(model, f);
  }
  return f;
}

/** Copies the stored bytes of n rows (as KvRows.storedBytes lays them out) into `rows`. */
function restoreRows(rows: KvRows, n: number, bytes: Uint8Array): void {
  let o = 0;
  for (const part of rows.storedBytes(n)) { part.set(bytes.subarray(o, o + part.length)); o += part.length; }
}

export interface RestoreOptions {
  /** Name used in error messages (a file name). */
  source?: string;
  /**
   * Most bytes the restored state may allocate. A bounded state allocates its whole capacity
   * whatever the file holds, so a small file can ask for a huge state; the default, 16 × the
   * file's size + 64 MiB, refuses that unless you raise it here.
   */
  maxStateBytes?: number;
}

/** restoreState's default allocation limit for a file of `fileBytes`. */
export function defaultMaxStateBytes(fileBytes: number): number {
  return 16 * fileBytes + 64 * 2 ** 20;
}

/** What restoreState returns. */
export interface RestoredState {
  state: MultiState;
  /** What was saved with it. */
  meta: Record<string, unknown>;
  /**
   * A state saved by SentinelStream.save: its stream (`state` is sentinels.state). Feed the text
   * through it; stepping the state directly would insert no sentinels.
   */
  sentinels?: SentinelStream;
}

/**
 * A state identical to the one saved in `bytes` (entries, statistics, tokens seen, policy), its
 * storage in `model`'s backend memory. A state saved with another model, a corrupt, truncated or
 * newer file each throws a StateFileError naming what is wrong.
 */
export function restoreState(model: Model, bytes: Uint8Array, opts: RestoreOptions = {}): RestoredState {
  const source = opts.source ?? '<state>';
  model.checkNotDisposed('restoreState');
  const { header, layers } = decodeState(bytes, source);
  let created: MultiState | undefined; // given back if the file is refused after it was made
  const fail = (what: string): never => { created?.dispose(); throw new StateFileError(`saved state ${source}: ${what}`); };
  const mine = modelFingerprint(model), theirs = header.model;
  for (const k of ['nLayers', 'nKvHeads', 'headDim', 'dim', 'nHeads', 'vocabSize'] as const) {
    if (theirs[k] !== mine[k]) fail(`belongs to a different model: ${k} ${String(theirs[k])}, but ${model.source} has ${mine[k]}`);
  }
  if (theirs.weightsHash !== mine.weightsHash) fail(`belongs to a different model: weights hash ${theirs.weightsHash}, but ${model.source} hashes to ${mine.weightsHash}`);
  if (header.nLayers !== mine.nLayers || header.nKvHeads !== mine.nKvHeads || header.headDim !== mine.headDim) fail('entry geometry does not match its model fingerprint');
  const spec: PolicySpec = header.policy;
  let policy;
  try {
    policy = getPolicy(spec.name, spec.options);
  } catch (e) {
    return fail(`cannot make its policy again: ${(e as Error).message}`);
  }
  const windows = header.windows, saved = header.sentinel;
  const initialSlots = Math.max(1, ...layers.flatMap((l) => l.map((h) => h.positions.length)));
  const limit = opts.maxStateBytes ?? defaultMaxStateBytes(bytes.length);
  // Under sentinel compression the saved policy is the budget composed with it.
  const runs = saved ? new SentinelCompression(mine.nLayers, policy) : policy;
  let state: MultiState, sentinels: SentinelStream | undefined;
  try {
    const need = stateBytes({ nLayers: mine.nLayers, nKvHeads: mine.nKvHeads, headDim: mine.headDim }, runs, initialSlots, header.kv);
    if (need > limit) {
      fail(`its policy "${spec.name}" (capacity ${policy.capacity}) needs a ${mib(need)} state, more than maxStateBytes ${mib(limit)} `
        + `(by default 16 × the file + 64 MiB); pass a larger maxStateBytes if the state is meant to be that large`);
    }
    if (saved) {
      if (header.positionMode !== 'absolute') fail(`a sentinel state runs in position mode "absolute", the file says "${header.positionMode}"`);
      sentinels = SentinelStream.resumed(model, saved, { policy, kv: header.kv, initialSlots });
      state = sentinels.state;
    } else {
      state = createState(model, { policy, positionMode: header.positionMode, kv: header.kv, initialSlots });
    }
  } catch (e) {
    if (e instanceof StateFileError) throw e;
    return fail(`cannot make its state again: ${(e as Error).message}`);
  }
  created = state;
  if ((runs.statsPerEntry ?? 0) !== header.statsPerEntry) fail(`policy "${runs.name}" keeps ${runs.statsPerEntry ?? 0} statistics per entry, the file ${header.statsPerEntry}`);
  state.layers.forEach((layer, l) => {
    const cap = layer.capacity === Infinity ? null : layer.capacity;
    if (cap !== header.layerCapacities[l]) fail(`layer ${l} capacity ${String(header.layerCapacities[l])} differs from its policy's ${String(cap)}`);
    // createState took the windows from the model's architecture; the saved ones must agree.
    const w = Number.isFinite(layer.window) ? layer.window : 0;
    if (w !== windows[l]) fail(`layer ${l} sliding window ${windows[l] || 'none'} differs from ${model.source}'s ${w || 'none'}`);
    layer.heads.forEach((head, h) => {
      const saved = layers[l]![h]!;
      const n = saved.positions.length, hd = head.headDim;
      for (let i = 0; i < n; i++) head.push(saved.positions[i]!);
      // Copies into wherever storage lives (a WebAssembly heap for the wasm backend).
      restoreRows(head.keyRows, n, saved.keys);
      restoreRows(head.valueRows, n, saved.values);
      head.stats.set(saved.stats, 0);
      if (head.count !== n || saved.keys.length !== n * kvRowBytes(head.kv, hd)) fail(`layer ${l} head ${h}: entry count mismatch`);
    });
  });
  state.seen = header.seen;
  return { state, meta: header.meta ?? {}, ...(sentinels ? { sentinels } : {}) };
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
