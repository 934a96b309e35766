// The hidden state of a transformer viewed as an RNN: one multi-state (LayerCache) per layer,
// plus the number of tokens consumed. Bounded (capacity k) and unbounded (capacity Infinity)
// states are the same type on the same code path; only the policy and the storage policy differ.
import { checkKvType, kvRowBytes, type KvType } from '@msrnn/tensor';
import { heapAlloc, LayerCache, type F32Alloc, type F32Free } from './cache.js';
import { DisposedError } from './disposed.js';
import { checkCapacity, keepAll, type Policy, type PositionMode } from './policy.js';
import { encodeState, type ModelFingerprint } from './state-file.js';

export interface StateGeometry {
  nLayers: number;
  nKvHeads: number;
  headDim: number;
}

export const POSITION_MODES: readonly PositionMode[] = ['absolute', 'reindex'];

/** Validates a position mode; `what` names it in the error. */
export function checkPositionMode(value: unknown, what = 'positionMode'): PositionMode {
  if ((POSITION_MODES as readonly unknown[]).includes(value)) return value as PositionMode;
  throw new RangeError(`${what} must be one of ${POSITION_MODES.join(', ')}, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
}

export interface StateOptions {
  /** Eviction policy; default keep-all (unbounded). The state's capacity is the policy's. */
  policy?: Policy;
  /** Initial slots of an unbounded state (it doubles when full). Default 64. */
  initialSlots?: number;
  /** Where key/value storage lives (plain heap by default; a WebAssembly heap for the wasm backend). */
  alloc?: F32Alloc;
  /** Gives `alloc`'s arrays back (the wasm heap's free list): dispose() and growth call it. Absent: the GC reclaims them. */
  free?: F32Free;
  /** How keys are stored with respect to position; default the policy's, else 'absolute'. */
  positionMode?: PositionMode;
  /**
   * The model's own sliding window per layer (mistral, gemma2, phi3): after each step a layer drops
   * the entries its next query cannot see, on top of the policy. Infinity (or absent) = global.
   */
  windows?: readonly number[];
  /**
   * How keys and values are stored: 'f32' (default), 'f16' (IEEE half) or 'q8' (int8 per block of 32
   * with one f32 scale per block). Attention reads them as stored; policies see them dequantized.
   */
  kv?: KvType;
}

/** Most elements one typed array holds (V8's limit; a larger request is a raw "Invalid typed array length"). */
export const MAX_ARRAY_ELEMENTS = 2 ** 32;

/** Layer `l`'s capacity k and the slots it allocates: k + 1 when bounded (allocated once), else `initialSlots` (grows by doubling). */
function layerSlots(policy: Policy, capacity: number, l: number, nLayers: number, initialSlots: number): { k: number; slots: number } {
  const k = policy.layerCapacity ? checkCapacity(policy.layerCapacity(l, nLayers), `policy "${policy.name}": capacity of layer ${l}`) : capacity;
  return { k, slots: k === Infinity ? initialSlots : k + 1 };
}

/**
 * Bytes one entry takes in one KV head: key and value rows in the KV type (kvRowBytes: f32 4·headDim,
 * f16 2·headDim, q8 headDim + 4·ceil(headDim/32) each), a 4-byte position and the policy's 8-byte
 * statistics. A state holds nLayers × nKvHeads × (k + 1) of them when bounded at k.
 */
export function entryBytes(headDim: number, kv: KvType = 'f32', statsPerEntry = 0): number {
  return 2 * kvRowBytes(kv, headDim) + 4 + 8 * statsPerEntry;
}

/**
 * Bytes a new state of this geometry under `policy` allocates (keys, values, positions and the
 * policy's per-entry statistics), computed without allocating: what `state.bytes()` will report
 * right after createState. Callers check it against the memory they have before creating.
 */
export function stateBytes(geometry: StateGeometry, policy: Policy = keepAll, initialSlots = 64, kv: KvType = 'f32'): number {
  const capacity = checkCapacity(policy.capacity, `policy "${policy.name}": capacity`);
  const perEntry = entryBytes(geometry.headDim, checkKvType(kv), policy.statsPerEntry ?? 0);
  let bytes = 0;
  for (let l = 0; l < geometry.nLayers; l++) bytes += geometry.nKvHeads * layerSlots(policy, capacity, l, geometry.nLayers, initialSlots).slots * perEntry;
  return bytes;
}

/**
 * The largest capacity k whose bounded state (nLayers × nKvHeads × (k + 1) entries, see entryBytes)
 * fits in `budget` bytes; a RangeError naming `what` when not even k = 1 fits.
 */
export function capacityForBytes(geometry: StateGeometry, budget: number, kv: KvType = 'f32', statsPerEntry = 0, what = 'kv bytes'): number {
  if (!(Number.isFinite(budget) && budget > 0)) throw new RangeError(`${what} must be a positive number of bytes, got ${String(budget)}`);
  const perSlot = geometry.nLayers * geometry.nKvHeads * entryBytes(geometry.headDim, checkKvType(kv), statsPerEntry);
  const k = Math.floor(budget / perSlot) - 1;
  if (k < 1) {
    throw new RangeError(`${what} ${budget}: too small for a bounded state: capacity 1 needs ${2 * perSlot} bytes (2 slots × ${geometry.nLayers} layers × ${geometry.nKvHeads} KV heads × ${perSlot / (geometry.nLayers * geometry.nKvHeads)} bytes per ${kv} entry)`);
  }
  return k;
}

export class MultiState {
  readonly layers: LayerCache[];
  readonly capacity: number;
  readonly policy: Policy;
  readonly positionMode: PositionMode;
  /** How keys and values are stored (f32, f16 or q8). */
  readonly kv: KvType;
  /** The allocator key/value storage came from; clones use it too unless told otherwise. */
  readonly alloc: F32Alloc;
  readonly free: F32Free | undefined;
  /** The model's per-layer sliding windows (see StateOptions.windows). */
  readonly windows: readonly number[];
  /** Tokens consumed so far = absolute position of the next token. */
  seen = 0;
  /** The model this state belongs to (createState sets it; computed on first save); save() writes it so a restore can check. */
  fingerprint: (() => ModelFingerprint) | undefined;
  private isDisposed = false;

  constructor(readonly geometry: StateGeometry, opts: StateOptions = {}) {
    if ('capacity' in opts) {
      throw new RangeError('state options: capacity comes from the policy (e.g. getPolicy("window", { capacity: 8 })), not from the state');
    }
    const policy = opts.policy ?? keepAll;
    const capacity = checkCapacity(policy.capacity, `policy "${policy.name}": capacity`);
    for (const [k, v] of Object.entries(geometry)) {
      if (!Number.isInteger(v) || v <= 0 || v > 1 << 20) throw new RangeError(`state geometry: ${k} must be a positive integer, got ${v}`);
    }
    this.capacity = capacity;
    this.policy = policy;
    const positionMode = checkPositionMode(opts.positionMode ?? policy.positionMode ?? 'absolute');
    if (policy.positionMode !== undefined && positionMode !== policy.positionMode) {
      throw new RangeError(`policy "${policy.name}" stores keys with positionMode '${policy.positionMode}', not '${positionMode}'`);
    }
    this.positionMode = positionMode;
    // A bounded layer holds k entries plus the one being appended: allocated once, never grown.
    const initialSlots = opts.initialSlots ?? 64;
    if (!Number.isSafeInteger(initialSlots) || initialSlots <= 0) {
      throw new RangeError(`initialSlots must be a positive integer, got ${String(initialSlots)}`);
    }
    const statsPerEntry = policy.statsPerEntry ?? 0;
    if (!Number.isInteger(statsPerEntry) || statsPerEntry < 0) {
      throw new RangeError(`policy "${policy.name}": statsPerEntry must be a non-negative integer, got ${String(statsPerEntry)}`);
    }
    const alloc = opts.alloc ?? heapAlloc;
    this.alloc = alloc;
    const kv = checkKvType(opts.kv ?? 'f32', 'state option kv');
    this.kv = kv;
    this.free = opts.free;
    const windows = opts.windows ?? [];
    if (windows.length > geometry.nLayers) throw new RangeError(`windows: ${windows.length} given, the state has ${geometry.nLayers} layers`);
    windows.forEach((w, l) => {
      if (!(w === Infinity || (Number.isInteger(w) && w > 0))) throw new RangeError(`windows[${l}] must be a positive integer or Infinity, got ${String(w)}`);
    });
    this.windows = windows;
    this.layers = [];
    for (let l = 0; l < geometry.nLayers; l++) {
      const { k, slots } = layerSlots(policy, capacity, l, geometry.nLayers, initialSlots);
      // Refused before any allocation, in words, instead of a raw "Invalid typed array length".
      if (slots * Math.max(geometry.headDim, statsPerEntry) > MAX_ARRAY_ELEMENTS) {
        throw new RangeError(`policy "${policy.name}": capacity ${k} is too large: each KV head would hold ${slots} × ${geometry.headDim} floats of keys, more than one array holds (${MAX_ARRAY_ELEMENTS}); the state would need ${(stateBytes(geometry, policy, initialSlots, kv) / 2 ** 30).toFixed(1)} GiB`);
      }
      this.layers.push(new LayerCache(l, geometry.nKvHeads, geometry.headDim, k, statsPerEntry, slots, alloc, windows[l] ?? Infinity, opts.free, kv));
    }
  }

  get bounded(): boolean {
    return this.capacity !== Infinity;
  }

  /** Bytes of storage the state holds (allocated, not only live entries). */
  bytes(): number {
    let b = 0;
    for (const l of this.layers) b += l.bytes();
    return b;
  }

  /** Whether dispose() was called. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /**
   * Gives the key/value storage back (to the wasm heap's free list, where the state lives in wasm
   * memory). Using the state afterwards (step, save, clone) throws a DisposedError. Idempotent.
   */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    for (const l of this.layers) for (const h of l.heads) h.release();
  }

  /** Throws a DisposedError if the state was disposed; `what` names the use. */
  checkNotDisposed(what: string): void {
    if (this.isDisposed) throw new DisposedError(`${what}: the state was disposed (its memory was given back); create or restore a new one`);
  }

  /**
   * Deep copy, for branching (beam search, speculative continuations, what-if runs). Storage comes
   * from `alloc` when given (given back through `free`), else from this state's allocator.
   */
  clone(alloc?: F32Alloc, free?: F32Free): MultiState {
    this.checkNotDisposed('state.clone');
    const c = new MultiState(this.geometry, {
      policy: this.policy,
      positionMode: this.positionMode,
      windows: this.windows,
      initialSlots: this.layers[0]?.heads[0]?.slots ?? 1,
      alloc: alloc ?? this.alloc,
      kv: this.kv,
      free: alloc ? free : this.free,
    });
    c.seen = this.seen;
    c.fingerprint = this.fingerprint;
    for (let l = 0; l < this.layers.length; l++) {
      const src = this.layers[l]!, dst = c.layers[l]!;
      for (let h = 0; h < src.heads.length; h++) dst.heads[h]!.copyFrom(src.heads[h]!);
    }
    return c;
  }

  /**
   * A deep copy that continues under another policy: how two policies branch from one read of a
   * prompt. Exact — the copy is the state `policy` itself would have reached — only while nothing
   * has been evicted yet (every entry read is kept, apart from what the model's sliding window
   * hides) and `policy` keeps no per-entry statistics (those come from the steps it saw); anything
   * else throws, saying which. The copy's capacity is `policy`'s.
   */
  cloneWithPolicy(policy: Policy, alloc?: F32Alloc, free?: F32Free): MultiState {
    this.checkNotDisposed('state.cloneWithPolicy');
    if (policy === this.policy) return this.clone(alloc, free);
    const why = (reason: string) => new Error(`cannot continue this state (policy "${this.policy.name}") under policy "${policy.name}": ${reason}`);
    if ((policy.statsPerEntry ?? 0) > 0) throw why(`it keeps per-entry statistics (${policy.statsPerEntry} per entry) that only reading the tokens under it gathers`);
    const c = new MultiState(this.geometry, { policy, positionMode: this.positionMode, windows: this.windows, alloc: alloc ?? this.alloc, free: alloc ? free : this.free, kv: this.kv });
    for (let l = 0; l < this.layers.length; l++) {
      const src = this.layers[l]!, dst = c.layers[l]!;
      for (let h = 0; h < src.heads.length; h++) {
        const from = src.heads[h]!;
        // Nothing evicted: the kept positions are the last `count` read, at least all the model's window shows.
        const kept = from.keptPositions();
        if (kept[0] !== this.seen - from.count || from.count < Math.min(this.seen, src.window - 1)) {
          throw why(`layer ${l} KV head ${h} has already evicted entries (it keeps ${from.count} of ${this.seen}), so "${policy.name}" would have kept others`);
        }
        if (from.count > dst.capacity) throw why(`layer ${l} holds ${from.count} entries, more than its capacity ${dst.capacity}`);
        dst.heads[h]!.copyFrom(from);
      }
    }
    c.seen = this.seen;
    c.fingerprint = this.fingerprint;
    return c;
  }

  /**
   * The state as bytes (format in state-file.ts): restoreState(model, bytes) in @msrnn/transformer
   * makes an identical state. `meta` travels with it (e.g. the sampler's RNG state).
   */
  save(meta: Record<string, unknown> = {}): Uint8Array {
    this.checkNotDisposed('state.save');
    if (!this.fingerprint) throw new Error('state.save: the state has no model fingerprint (make it with createState(model, ...))');
    return encodeState(this, this.fingerprint(), meta);
  }

  /** Sorted kept positions per layer (head 0) — for layer-wise policies all heads agree. */
  keptPositions(): number[][] {
    return this.layers.map((l) => l.heads[0]!.keptPositions());
  }

  /** Sorted kept positions per layer per KV head. */
  keptPositionsPerHead(): number[][][] {
    return this.layers.map((l) => l.heads.map((h) => h.keptPositions()));
  }
}
