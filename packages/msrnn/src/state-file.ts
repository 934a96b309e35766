// The saved form of a multi-state: a versioned binary file that restores into an identical state,
// so a run can stop, move to another machine, and continue token for token. Layout (little-endian):
//   magic "MSRNNST\0" · u32 format version · f64 tokens seen · u32 header length · header (UTF-8 JSON: model
//   fingerprint, policy name and options, position mode, capacities, windows, caller's
//   metadata, KV type) · per layer, per KV head: u32 count, count i32 positions, the keys as stored,
//   the values as stored, count·statsPerEntry f64 stats · u32 FNV-1a checksum of all before it.
//   Keys/values as stored (KvRows.storedBytes): f32 count·headDim f32; f16 count·headDim half bits;
//   q8 count·headDim int8 then count·ceil(headDim/32) f32 scales. Version 1 (f32 only) still reads.
// Version 3 adds the header field `sentinel` (a state under sentinel compression: its compression's
// counters and its stream's fields); a file is written with the lowest version that holds it, so a
// state without sentinels stays version 2 and older readers still read it.
// Only live entries are written, so a bounded state past k tokens has a constant size (see README).
import { checkKvType, kvRowBytes, type KvType } from '@msrnn/tensor';
import type { MultiState } from './state.js';
import type { Policy, PositionMode } from './policy.js';
import { SentinelCompression, type SentinelCompressionSnapshot } from './sentinel.js';

export const STATE_MAGIC = 'MSRNNST\0';
export const STATE_FORMAT_VERSION = 3;
/** The version of a file without sentinel fields. */
const PLAIN_FORMAT_VERSION = 2;
/** Bytes before the JSON header: magic, version, tokens seen, header length. */
const HEADER_START = 8 + 4 + 8 + 4;

/** What a state belongs to: a model's shape and a hash of its weights. */
export interface ModelFingerprint {
  nLayers: number;
  nKvHeads: number;
  headDim: number;
  dim: number;
  nHeads: number;
  vocabSize: number;
  /** FNV-1a (32-bit, hex) over every weight's bytes, in a fixed order. */
  weightsHash: string;
}

/** The request a policy was made from (getPolicy's name and options), so a restore can make it again. */
export interface PolicySpec {
  name: string;
  options: Record<string, number>;
}

export interface StateHeader {
  model: ModelFingerprint;
  policy: PolicySpec;
  positionMode: PositionMode;
  /** null = unbounded (Infinity). */
  capacity: number | null;
  layerCapacities: (number | null)[];
  /** Per-layer sliding windows (0 = none). */
  windows: number[];
  seen: number;
  nLayers: number;
  nKvHeads: number;
  headDim: number;
  statsPerEntry: number;
  /** How keys and values are stored (absent in version 1 files: f32). */
  kv: KvType;
  /** Whatever the caller saved with the state (e.g. the sampler's RNG state). */
  meta: Record<string, unknown>;
  /** Version 3, a state under sentinel compression (`policy` is then the budget composed with it). */
  sentinel?: SavedSentinel;
}

/** A sentinel-compressed state's own fields: its compression's counters and the numbers of the stream driving it. */
export interface SavedSentinel extends SentinelCompressionSnapshot {
  /** The driver's fields (SentinelStream in @msrnn/transformer checks them when it restores). */
  stream: Record<string, number>;
}

/** A saved state that cannot be read: the message names what is wrong. */
export class StateFileError extends Error {
  override name = 'StateFileError';
}

const specs = new WeakMap<object, PolicySpec>();

/** Notes the request `policy` was made from (the policy registry calls this). */
export function recordPolicySpec(policy: Policy, spec: PolicySpec): void {
  specs.set(policy, spec);
}

/** The request a policy was made from, looking through wrappers (wrapPolicy); `full` needs none. */
export function policySpecOf(policy: Policy): PolicySpec | undefined {
  for (let p: object | null = policy; p; p = Object.getPrototypeOf(p)) {
    const s = specs.get(p);
    if (s) return s;
  }
  if (policy.name === 'full' && policy.capacity === Infinity) return { name: 'full', options: {} };
  return undefined;
}

/** FNV-1a 32-bit over `bytes`, continuing from `h`. */
export function fnv1a(bytes: Uint8Array, h = 0x811c9dc5): number {
  // The running hash stays an int32 (imul and xor wrap mod 2^32 as the unsigned hash does): an
  // unsigned one above 2^31 is a double to V8, and the loop ran several times slower inlined in a caller.
  let x = h | 0;
  for (let i = 0, n = bytes.length; i < n; i++) x = Math.imul(x ^ bytes[i]!, 0x01000193);
  return x >>> 0;
}

function windowOf(layer: { window: number }): number {
  return Number.isFinite(layer.window) ? layer.window : 0;
}

function finite(n: number): number | null {
  return n === Infinity ? null : n;
}

/**
 * Serializes `state` (see the layout above). `model` is the fingerprint of the model it ran on. A
 * state under sentinel compression needs `stream`, the fields of the stream driving it: its driver
 * (SentinelStream.save in @msrnn/transformer) saves it.
 */
export function encodeState(state: MultiState, model: ModelFingerprint, meta: Record<string, unknown> = {}, stream?: Record<string, number>): Uint8Array {
  // instanceof sees through wrapPolicy's wrappers (their prototype is the policy).
  const compression = state.policy instanceof SentinelCompression ? state.policy : null;
  if (compression && !stream) throw new StateFileError('state.save: the state is under sentinel compression; save it with the stream that drives it (SentinelStream.save), which keeps its span rule and counters');
  const policy = policySpecOf(compression ? compression.inner : state.policy);
  if (!policy) {
    throw new StateFileError(`state.save: policy "${state.policy.name}" was not made by getPolicy (@msrnn/policies), so a restore could not make it again`);
  }
  const g = state.geometry, spe = state.layers[0]?.heads[0]?.statsPerEntry ?? 0;
  const header: StateHeader = {
    model, policy, positionMode: state.positionMode, capacity: finite(state.capacity),
    layerCapacities: state.layers.map((l) => finite(l.capacity)), windows: state.layers.map(windowOf),
    seen: state.seen, nLayers: g.nLayers, nKvHeads: g.nKvHeads, headDim: g.headDim, statsPerEntry: spe, kv: state.kv, meta,
    ...(compression ? { sentinel: { ...compression.snapshot(), stream: stream! } } : {}),
  };
  // Tokens seen are binary (not JSON digits) so a bounded state's file keeps one size forever.
  const { seen, ...inJson } = header;
  const json = new TextEncoder().encode(JSON.stringify(inJson));
  let size = HEADER_START + json.length + 4;
  const rowBytes = kvRowBytes(state.kv, g.headDim);
  for (const l of state.layers) for (const h of l.heads) size += 4 + h.count * (4 + 2 * rowBytes + 8 * spe);
  const out = new Uint8Array(size), dv = new DataView(out.buffer);
  let o = 0;
  for (let i = 0; i < 8; i++) out[o++] = STATE_MAGIC.charCodeAt(i);
  dv.setUint32(o, compression ? STATE_FORMAT_VERSION : PLAIN_FORMAT_VERSION, true); o += 4;
  dv.setFloat64(o, seen, true); o += 8;
  dv.setUint32(o, json.length, true); o += 4;
  out.set(json, o); o += json.length;
  const put = (a: ArrayBufferView) => { out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), o); o += a.byteLength; };
  for (const l of state.layers) {
    for (const h of l.heads) {
      dv.setUint32(o, h.count, true); o += 4;
      // Copies out of wherever storage lives (a WebAssembly heap for the wasm backend).
      put(h.positions.subarray(0, h.count));
      for (const b of h.keyRows.storedBytes(h.count)) put(b);
      for (const b of h.valueRows.storedBytes(h.count)) put(b);
      put(h.stats.subarray(0, h.count * spe));
    }
  }
  dv.setUint32(o, fnv1a(out.subarray(0, o)), true);
  return out;
}

/** One head's saved entries, copied out of the file (aligned); keys and values as stored (the header's kv type). */
export interface SavedHead {
  positions: Int32Array;
  keys: Uint8Array;
  values: Uint8Array;
  stats: Float64Array;
}

export interface DecodedState {
  header: StateHeader;
  /** layers[l][h]. */
  layers: SavedHead[][];
}

/** Parses and checks a saved state: magic, version, checksum, header and sizes; a StateFileError naming what is wrong otherwise. */
export function decodeState(bytes: Uint8Array, source = '<state>'): DecodedState {
  const fail = (what: string): never => { throw new StateFileError(`saved state ${source}: ${what}`); };
  if (!(bytes instanceof Uint8Array)) fail(`expected bytes (Uint8Array), got ${bytes === null ? 'null' : typeof bytes}`);
  if (bytes.length < HEADER_START + 4) fail(`truncated: ${bytes.length} bytes is shorter than the smallest state file`);
  for (let i = 0; i < 8; i++) if (bytes[i] !== STATE_MAGIC.charCodeAt(i)) fail('not a saved msrnn state (bad magic; expected "MSRNNST")');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version > STATE_FORMAT_VERSION) fail(`format version ${version} is newer than this library reads (${STATE_FORMAT_VERSION}); upgrade msrnn`);
  if (version < 1) fail(`format version ${version} is invalid`);
  const seen = dv.getFloat64(12, true);
  const jsonLength = dv.getUint32(20, true);
  if (HEADER_START + jsonLength + 4 > bytes.length) fail(`truncated: header of ${jsonLength} bytes does not fit in ${bytes.length} bytes`);
  const stored = dv.getUint32(bytes.length - 4, true), actual = fnv1a(bytes.subarray(0, bytes.length - 4));
  if (stored !== actual) fail(`checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)}): the file is corrupt or truncated`);
  let header: StateHeader;
  try {
    header = { ...JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(HEADER_START, HEADER_START + jsonLength))), seen } as StateHeader;
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  const int = (v: unknown, what: string, max = 1 << 20) => {
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > max) fail(`header field ${what} must be an integer in [0, ${max}], got ${String(v)}`);
    return v as number;
  };
  const nLayers = int(header.nLayers, 'nLayers'), nKvHeads = int(header.nKvHeads, 'nKvHeads'), headDim = int(header.headDim, 'headDim');
  const spe = int(header.statsPerEntry, 'statsPerEntry', 1 << 16);
  int(header.seen, 'seen', Number.MAX_SAFE_INTEGER);
  if (!header.policy || typeof header.policy.name !== 'string' || typeof header.policy.options !== 'object') fail('header has no policy');
  if (!header.model || typeof header.model.weightsHash !== 'string') fail('header has no model fingerprint');
  if (!Array.isArray(header.layerCapacities) || header.layerCapacities.length !== nLayers) fail(`header layerCapacities must list ${nLayers} layers`);
  if (!Array.isArray(header.windows) || header.windows.length !== nLayers) fail(`header windows must list ${nLayers} layers`);
  if (version === 1) header.kv = 'f32';
  if (version < 3) delete header.sentinel;
  else if (header.sentinel !== undefined) checkSavedSentinel(header.sentinel, nLayers, spe, fail);
  try { checkKvType(header.kv, 'header field kv'); } catch (e) { fail((e as Error).message); }
  const rowBytes = kvRowBytes(header.kv, headDim);
  let o = HEADER_START + jsonLength;
  const end = bytes.length - 4;
  const take = (n: number, what: string): Uint8Array => {
    if (o + n > end) fail(`truncated in ${what}`);
    // A copy (aligned, its own buffer): a Node Buffer's slice() would be a view into a shared pool.
    const b = new Uint8Array(n); b.set(bytes.subarray(o, o + n)); o += n; return b;
  };
  const layers: SavedHead[][] = [];
  for (let l = 0; l < nLayers; l++) {
    const heads: SavedHead[] = [];
    for (let h = 0; h < nKvHeads; h++) {
      const where = `layer ${l} head ${h}`;
      if (o + 4 > end) fail(`truncated at ${where}`);
      const count = dv.getUint32(o, true); o += 4;
      const cap = header.layerCapacities[l];
      if (cap !== null && count > (cap as number)) fail(`${where} holds ${count} entries, more than its capacity ${String(cap)}`);
      if (count * (4 + 2 * rowBytes + 8 * spe) > end - o) fail(`truncated: ${where} claims ${count} entries`);
      heads.push({
        positions: new Int32Array(take(count * 4, where).buffer),
        keys: take(count * rowBytes, where),
        values: take(count * rowBytes, where),
        stats: new Float64Array(take(count * spe * 8, where).buffer),
      });
    }
    layers.push(heads);
  }
  if (o !== end) fail(`${end - o} trailing bytes after the last layer`);
  return { header, layers };
}

/** The shape of a header's sentinel field (the compression checks its values when it restores them). */
function checkSavedSentinel(saved: unknown, nLayers: number, statsPerEntry: number, fail: (what: string) => never): void {
  const s = saved as Partial<SavedSentinel> | null;
  if (s === null || typeof s !== 'object' || !Array.isArray(s.appended) || s.appended.length !== nLayers) fail(`header field sentinel must hold appended for ${nLayers} layers`);
  if (typeof s!.stream !== 'object' || s!.stream === null || !Object.values(s!.stream).every((v) => typeof v === 'number')) fail('header field sentinel.stream must be an object of numbers');
  // The compression keeps each entry's stream index as one statistic after the budget's own.
  if (statsPerEntry < 1) fail('a sentinel state keeps at least one statistic per entry (its stream index), the header says 0');
}
