// Long contexts on a model-sized shape, f32 weights, one wasm thread, timed inside real decode steps:
//  1. a bounded state (window policy, capacity k) costs the same per token far into a sequence as
//     early on: decode at position --far against position 2k, interleaved rounds, best kept;
//  2. a full state at position --full: decode tok/s, the share of each step spent in attention,
//     and the attention kernel's FLOP rate against the matvecs' (4·entries·headDim FLOPs per head:
//     scores and weighted sum; 2·rows·cols per matvec), both from the same steps.
//
//   node scripts/run-ts.mjs packages/transformer/bench/long-context.bench.ts [--shape smollm2-135m|stories15M] [--seconds 1] [--bounded 256] [--far 16384] [--full 8192]
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createWasmBackend, f32Weights, type Backend, type WasmBackend } from '@msrnn/tensor';
import { getPolicy } from '@msrnn/policies';
import type { MultiState } from '@msrnn/msrnn';
import { architecture, createState, linear, modelFromWeights, norm, step, type Model, type ModelConfig } from '../src/index.js';

const SHAPES: Record<string, Omit<ModelConfig, 'arch' | 'normEps'> & { tied: boolean }> = {
  'smollm2-135m': { dim: 576, hiddenDim: 1536, nLayers: 30, nHeads: 9, nKvHeads: 3, vocabSize: 49152, seqLen: 32768, sharedClassifier: true, tied: true },
  stories15M: { dim: 288, hiddenDim: 768, nLayers: 6, nHeads: 6, nKvHeads: 6, vocabSize: 32000, seqLen: 32768, sharedClassifier: true, tied: true },
};

const { values: flags } = parseArgs({ options: {
  shape: { type: 'string', default: 'smollm2-135m' }, seconds: { type: 'string', default: '1' },
  bounded: { type: 'string', default: '256' }, far: { type: 'string', default: '16384' }, full: { type: 'string', default: '8192' },
} });
const shape = SHAPES[flags.shape];
if (!shape) throw new Error(`long-context.bench: --shape must be one of ${Object.keys(SHAPES).join(', ')}, got ${flags.shape}`);
const int = (name: string, v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0 || n > 1 << 20) throw new Error(`long-context.bench: --${name} must be an integer from 1 to ${1 << 20}, got ${v}`);
  return n;
};
const seconds = Number(flags.seconds);
if (!(seconds > 0 && seconds < 600)) throw new Error(`long-context.bench: --seconds must be a number of seconds in (0, 600), got ${flags.seconds}`);
const k = int('bounded', flags.bounded), far = int('far', flags.far), fullAt = int('full', flags.full);
if (far < 2 * k) throw new Error(`long-context.bench: --far ${far} must be at least twice --bounded ${k}`);

/** Wall time and FLOPs of the attention heads and the matvecs inside the steps of `model`. */
const spent = { attnMs: 0, attnFlops: 0, matvecMs: 0, matvecFlops: 0 };
const wasm = await createWasmBackend({ threads: 1 });
// The wasm backend's kernels are closures, so a copy with two of them wrapped is the same backend, timed.
const timed: WasmBackend = {
  ...wasm,
  matvec(out, oOff, w, wOff, x, xOff, rows, cols) {
    const t = performance.now();
    wasm.matvec(out, oOff, w, wOff, x, xOff, rows, cols);
    spent.matvecMs += performance.now() - t; spent.matvecFlops += 2 * rows * cols;
  },
  // A layer's heads are deferred and run together (grouped-query heads in one pass over their KV
  // head's entries), so attention is timed from each head's deferral to the end of the layer's run.
  deferAttendHeadKv(out, oOff, q, qOff, keys, values, count, headDim, scale, att, aOff) {
    const t = performance.now();
    const taken = wasm.deferAttendHeadKv(out, oOff, q, qOff, keys, values, count, headDim, scale, att, aOff);
    spent.attnMs += performance.now() - t; spent.attnFlops += 4 * count * headDim;
    return taken;
  },
  runDeferredHeads() {
    const t = performance.now();
    wasm.runDeferredHeads();
    spent.attnMs += performance.now() - t;
  },
};
// No fused q/k/v job and no batched causal heads, so every projection goes through the timed matvec.
for (const name of ['matvecsShared', 'deferAttendCausal', 'attendHeadKv']) delete (timed as unknown as Record<string, unknown>)[name];

function randomModel(backend: Backend): Model {
  let s = 99;
  const arr = (n: number, scale: number, offset = 0) => {
    const a = backend.alloc(n);
    for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = offset + scale * (s / 2 ** 32 - 0.5); }
    return a;
  };
  const { tied, ...c } = shape!;
  const config: ModelConfig = { ...c, normEps: 1e-5, arch: architecture({}) };
  const hd = c.dim / c.nHeads, kv = hd * c.nKvHeads;
  const lin = (rows: number, cols: number) => linear(f32Weights(arr(rows * cols, 0.1), 0, rows, cols));
  const layers = Array.from({ length: c.nLayers }, () => ({
    attnNorm: norm(arr(c.dim, 0, 1)), q: lin(c.dim, c.dim), k: lin(kv, c.dim), v: lin(kv, c.dim), qNorm: null, kNorm: null,
    o: lin(c.dim, c.dim), postAttnNorm: null, ffnNorm: norm(arr(c.dim, 0, 1)),
    gate: lin(c.hiddenDim, c.dim), up: lin(c.hiddenDim, c.dim), down: lin(c.dim, c.hiddenDim), postFfnNorm: null,
  }));
  const tokenEmbedding = f32Weights(arr(c.vocabSize * c.dim, 1), 0, c.vocabSize, c.dim);
  return modelFromWeights(config, { tokenEmbedding, positionEmbedding: null, layers, finalNorm: norm(arr(c.dim, 0, 1)), classifier: tied ? linear(tokenEmbedding) : lin(c.vocabSize, c.dim) }, { backend, source: `random ${flags.shape}` });
}

/** A state at `position` holding `entries` random entries per head (capacity: a window of that many, or unbounded). */
function syntheticState(model: Model, position: number, entries: number, bounded: boolean): MultiState {
  const state = bounded ? createState(model, { policy: getPolicy('window', { capacity: entries }) }) : createState(model, { initialSlots: entries + 4096 });
  let seed = 12345;
  const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff - 0.5; };
  for (const layer of state.layers) for (const head of layer.heads) {
    const hd = head.headDim;
    for (let i = 0; i < entries; i++) {
      const slot = head.push(position - entries + i);
      for (let d = 0; d < hd; d++) { head.keys[slot * hd + d] = rnd(); head.values[slot * hd + d] = rnd(); }
    }
  }
  state.seen = position;
  return state;
}

function decodeRate(model: Model, state: MultiState, ms: number): number {
  let n = 0, token = 5;
  const t0 = performance.now();
  do { step(model, state, token); token = (token * 7 + 13) % 1000 + 2; n++; } while (performance.now() - t0 < ms);
  return n / ((performance.now() - t0) / 1000);
}

const model = randomModel(timed);
const near = syntheticState(model, 2 * k, k, true), farState = syntheticState(model, far, k, true), full = syntheticState(model, fullAt, fullAt, false);
const rounds = 5, best = { near: 0, far: 0, full: 0 };
let fullShare = { attnMs: 0, attnFlops: 0, matvecMs: 0, matvecFlops: 0, stepMs: 0 };
decodeRate(model, near, 50);
for (let r = 0; r < rounds; r++) {
  best.near = Math.max(best.near, decodeRate(model, near, (seconds * 1000) / rounds));
  best.far = Math.max(best.far, decodeRate(model, farState, (seconds * 1000) / rounds));
  Object.assign(spent, { attnMs: 0, attnFlops: 0, matvecMs: 0, matvecFlops: 0 });
  const t0 = performance.now(), rate = decodeRate(model, full, (seconds * 1000) / rounds);
  if (rate > best.full) { best.full = rate; fullShare = { ...spent, stepMs: performance.now() - t0 }; }
}
await wasm.dispose();

const gf = (flops: number, ms: number) => flops / ms / 1e6;
console.log(`| ${flags.shape} (f32, wasm, 1 thread) | value |`);
console.log('|---|---:|');
console.log(`| decode @${2 * k}, bounded k=${k} | ${best.near.toFixed(1)} tok/s |`);
console.log(`| decode @${far}, bounded k=${k} | ${best.far.toFixed(1)} tok/s (${(best.far / best.near).toFixed(3)}× @${2 * k}) |`);
console.log(`| decode @${fullAt}, full state | ${best.full.toFixed(1)} tok/s |`);
console.log(`| attention share of the full-state step @${fullAt} | ${((100 * fullShare.attnMs) / fullShare.stepMs).toFixed(1)} % (matvecs ${((100 * fullShare.matvecMs) / fullShare.stepMs).toFixed(1)} %) |`);
console.log(`| attention kernel / matvec kernels, FLOP rate @${fullAt} | ${gf(fullShare.attnFlops, fullShare.attnMs).toFixed(1)} / ${gf(fullShare.matvecFlops, fullShare.matvecMs).toFixed(1)} GFLOP/s = ${(gf(fullShare.attnFlops, fullShare.attnMs) / gf(fullShare.matvecFlops, fullShare.matvecMs)).toFixed(2)} |`);
console.log(`\nmachine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (1, 5, 15 min) at the end`);
