// The three operations that make a transformer layer a multi-state RNN (Oren et al.): the layer's
// state is its set of cached (key, value) entries, per KV head.
//   append   — state ← state ∪ {(k, v)}: the new token's key and value become one more entry;
//   attend   — out ← attention(q, state): each query head attends over its KV head's entries;
//   compress — state ← policy(state, attention weights): a bounded state evicts back to capacity.
// The layer body (step.ts) calls them in this order for each token. Allocation-free.
import type { AttentionStep, MultiState } from '@msrnn/msrnn';
import { deferAttendHeadKv, runDeferredHeads } from '@msrnn/tensor';
import { headDimOf } from './config.js';
import type { Model } from './model.js';
import { attendHeadSoftcapped } from './softcap.js';

/**
 * state ← append(state, k, v): caches the new token's key and value (nKvHeads × headDim at kOff /
 * vOff) as one entry per KV head of layer `l`, at `position`. The key is first given its position
 * as the state's convention wants it (RoPE-rotated now in 'absolute' mode; k is modified in place).
 */
export function append(model: Model, state: MultiState, l: number, position: number,
  k: Float32Array, kOff: number, v: Float32Array, vOff: number): void {
  model.positions.encodeNewKeys(state.positionMode, k, kOff, state.layers[l]!.heads.length, position);
  storeEntries(state, l, position, k, kOff, v, vOff);
}

/** append's second half: caches keys already encoded for their position (a prompt chunk encodes them all first). */
export function storeEntries(state: MultiState, l: number, position: number, k: Float32Array, kOff: number, v: Float32Array, vOff: number): void {
  const layer = state.layers[l]!, hd = layer.headDim, nKv = layer.heads.length;
  for (let h = 0; h < nKv; h++) {
    const head = layer.heads[h]!;
    head.writeEntry(head.push(position), k, kOff + h * hd, v, vOff + h * hd);
  }
}

/** Reused for every call so the hot path allocates nothing; valid until the next attend. */
const attention: AttentionStep = { layer: 0, position: 0, att: new Float32Array(0), attStride: 0, nHeads: 0, groupSize: 0 };

/**
 * out ← attend(q, state): each query head (nHeads × headDim at qOff, rotated in place at its
 * position unless `queryEncoded`: a prompt chunk rotated it already) attends over the entries of
 * its KV head in layer `l`; the outputs go to out[oOff ..] (nHeads × headDim). Returns the post-softmax weights, one row per query head, for compress.
 */
export function attend(model: Model, state: MultiState, l: number, position: number,
  q: Float32Array, qOff: number, out: Float32Array, oOff: number, queryEncoded = false): AttentionStep {
  const c = model.config, B = model.backend, pos = model.positions, mode = state.positionMode;
  const layer = state.layers[l]!, hd = headDimOf(c), nKv = c.nKvHeads, group = c.nHeads / nKv;
  const scale = 1 / Math.sqrt(c.arch.queryPreAttnScalar ?? hd), cap = c.arch.attnSoftcap;
  const stride = model.scratch.attFor(layer.maxCount), att = model.scratch.att;
  // A backend that can (wasm with threads) runs a layer's heads as one job split over its threads.
  for (let kvh = 0; kvh < nKv; kvh++) {
    const head = layer.heads[kvh]!;
    const keys = pos.attentionKeys(mode, head);
    for (let g = 0; g < group; g++) {
      const qh = kvh * group + g, at = qOff + qh * hd;
      if (!queryEncoded) pos.encodeQuery(mode, q, at, position, head);
      if (cap === 0) deferAttendHeadKv(B, out, oOff + qh * hd, q, at, keys, head.valueRows, head.count, hd, scale, att, qh * stride);
      else attendHeadSoftcapped(out, oOff + qh * hd, q, at, keys, head.valueRows, head.count, hd, scale, cap, att, qh * stride);
    }
    // Re-indexed keys are rotated into one scratch that the next KV head overwrites.
    if (mode === 'reindex') runDeferredHeads(B);
  }
  runDeferredHeads(B);
  attention.layer = l;
  attention.position = position;
  attention.att = att;
  attention.attStride = stride;
  attention.nHeads = c.nHeads;
  attention.groupSize = group;
  return attention;
}

/**
 * state ← compress(state, attention): layer `l`'s policy evicts entries (by the attention weights
 * or anything else it tracks) so a bounded state is back within its capacity.
 */
export function compress(state: MultiState, l: number, attention: AttentionStep): void {
  const layer = state.layers[l]!;
  state.policy.afterAttention(layer, attention);
  // The model's own sliding window (mistral, gemma2): what the next query cannot see leaves too.
  if (layer.window !== Infinity) layer.slideWindow(attention.position);
  // A bounded state must never grow: a policy that leaves too many entries is a bug, caught here.
  if (layer.maxCount > layer.capacity) {
    throw new Error(`policy "${state.policy.name}" left ${layer.maxCount} entries in layer ${l}, over capacity ${layer.capacity}`);
  }
}
