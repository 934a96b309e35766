// The attention part of a layer over a prompt chunk: t tokens enter the layer's state in order,
// each one appended, attended and compressed exactly as step() does.
//
// Why a batched path is exact: token i attends the entries cached before the chunk plus the
// chunk's tokens 0..i, as long as nothing was evicted in between. So while the state has room
// (unbounded, or capacity not reached, no sliding window hiding anything yet) the queries of the
// chunk attend at once (one causal attention per head, @msrnn/tensor attendCausal, bit-identical
// to attending one query at a time; the layer's heads are deferred and run as one job, which the
// wasm backend splits over its threads in head × query-row blocks), and then the tokens enter the
// state one by one: append, then compress with that token's own weights, so the policy sees what
// step() would show it. Should a policy still evict (a ratio budget), the rest of the chunk attends
// one token at a time again.
import type { AttentionStep, MultiState } from '@msrnn/msrnn';
import { hasCausalAttention, runDeferredHeads } from '@msrnn/tensor';
import { append, attend, compress, storeEntries } from './attention.js';
import { headDimOf, kvDimOf, qDimOf } from './config.js';
import type { Model } from './model.js';
import type { RowBuffers } from './scratch.js';

/** Fewer tokens than this attend one at a time (a block of the kernels is 4 queries). */
const MIN_BATCH = 4;
/** Most post-softmax weights a batch keeps (tokens × heads × entries, 16 MiB): longer contexts take smaller batches. */
const MAX_BATCH_WEIGHTS = 1 << 22;

/** The step a policy is shown for one token of a batch (reused: the hot path allocates nothing). */
const batchStep: AttentionStep = { layer: 0, position: 0, att: new Float32Array(0), attStride: 0, nHeads: 0, groupSize: 0 };
/** Entries per KV head before a batch (grown on demand). */
let priorCounts = new Int32Array(0);

/** Tokens r[0 .. t) (positions state.seen ..) through layer l's append / attend / compress; outputs to r.xb2. */
export function attendChunk(model: Model, state: MultiState, l: number, r: RowBuffers, t: number): void {
  let i = t >= MIN_BATCH ? attendBatches(model, state, l, r, t) : 0;
  for (; i < t; i++) attendOne(model, state, l, r, i, false);
}

/** Token i of the chunk through the state one at a time (`encoded`: its key and query were rotated already). */
function attendOne(model: Model, state: MultiState, l: number, r: RowBuffers, i: number, encoded: boolean): void {
  const kvDim = kvDimOf(model.config), qDim = qDimOf(model.config), position = state.seen + i;
  if (!encoded) append(model, state, l, position, r.k, i * kvDim, r.v, i * kvDim);           // state ← append(state, k, v)
  else storeEntries(state, l, position, r.k, i * kvDim, r.v, i * kvDim);                    // (the same, key rotated already)
  const attention = attend(model, state, l, position, r.q, i * qDim, r.xb2, i * qDim, encoded); // out ← attend(q, state)
  compress(state, l, attention);                                                                // state ← compress(state, attention)
}

/**
 * Runs batches from token 0 while the state has room; returns the first token not through the
 * state yet (the caller attends the rest one at a time).
 */
function attendBatches(model: Model, state: MultiState, l: number, r: RowBuffers, t: number): number {
  const c = model.config, B = model.backend, layer = state.layers[l]!, heads = layer.heads;
  const hd = headDimOf(c), nKv = c.nKvHeads, nHeads = c.nHeads, group = nHeads / nKv, kvDim = kvDimOf(c), qDim = qDimOf(c);
  // What the causal kernels cover: rotated keys cached as f32, no softcap, and the wasm kernels.
  if (!hasCausalAttention(B) || state.positionMode !== 'absolute' || c.arch.attnSoftcap !== 0 || hd % 4 !== 0) return 0;
  if (heads[0]!.keyRows.type !== 'f32' || heads[0]!.valueRows.type !== 'f32') return 0;
  const scale = 1 / Math.sqrt(c.arch.queryPreAttnScalar ?? hd), pos = model.positions, mode = state.positionMode;
  if (priorCounts.length < nKv) priorCounts = new Int32Array(nKv);
  let i = 0;
  while (i < t) {
    const position0 = state.seen + i, prior = layer.maxCount;
    let n = t - i;
    // No eviction may fall inside the batch: the capacity, and the window (slideWindow at position
    // p drops entries at positions <= p + 1 - window), bound it.
    if (layer.capacity !== Infinity) n = Math.min(n, layer.capacity - prior);
    if (layer.window !== Infinity) n = Math.min(n, layer.window - position0 - 1);
    while (n >= MIN_BATCH && n * nHeads * (prior + n) > MAX_BATCH_WEIGHTS) n >>= 1;
    if (n < MIN_BATCH) return i;
    const stride = model.scratch.chunkAttFor(n, prior + n), att = model.scratch.chunkAtt;
    for (let j = i; j < i + n; j++) {
      const position = state.seen + j;
      pos.encodeNewKeys(mode, r.k, j * kvDim, nKv, position);
      for (let h = 0; h < nHeads; h++) pos.encodeQuery(mode, r.q, j * qDim + h * hd, position, heads[Math.floor(h / group)]!);
    }
    for (let kvh = 0; kvh < nKv; kvh++) {
      const head = heads[kvh]!;
      priorCounts[kvh] = head.count;
      for (let g = 0; g < group; g++) {
        const h = kvh * group + g, qOff = i * qDim + h * hd;
        B.deferAttendCausal(r.xb2, qOff, qDim, r.q, qOff, qDim, n, head.keyRows.f32, head.valueRows.f32, head.count,
          r.k, r.v, i * kvDim + kvh * hd, kvDim, hd, scale, att, h * stride, nHeads * stride);
      }
    }
    runDeferredHeads(B); // the layer's heads as one job (split over the threads where there are some)
    batchStep.layer = l; batchStep.attStride = stride; batchStep.nHeads = nHeads; batchStep.groupSize = group;
    for (let j = 0; j < n; j++) {
      const position = position0 + j;
      storeEntries(state, l, position, r.k, (i + j) * kvDim, r.v, (i + j) * kvDim);
      batchStep.position = position;
      batchStep.att = model.scratch.chunkAttViews[j]!;
      compress(state, l, batchStep);
      if (evicted(state, l, j + 1)) {
        // The rest of this batch was attended against entries that are gone: again, one at a time
        // (keys and queries are rotated already), and so is the rest of the chunk.
        for (let k = i + j + 1; k < i + n; k++) attendOne(model, state, l, r, k, true);
        return i + n;
      }
    }
    i += n;
  }
  return t;
}

/** Whether a head of layer l holds fewer than its count before the batch plus `added`. */
function evicted(state: MultiState, l: number, added: number): boolean {
  const heads = state.layers[l]!.heads;
  for (let h = 0; h < heads.length; h++) if (heads[h]!.count !== priorCounts[h]! + added) return true;
  return false;
}
