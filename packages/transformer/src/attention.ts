// One token's attention in one layer, shared by step and prefill: cache the new entry in every KV
// head, attend each query head over its KV head's entries, then let the policy evict.
import type { AttentionStep, LayerCache, MultiState } from '@msrnn/msrnn';
import type { Model } from './model.js';

/** dst[d..d+n) = src[s..s+n); a loop, not subarray().set(), so nothing is allocated per call. */
export function copy(dst: Float32Array, d: number, src: Float32Array, s: number, n: number): void {
  for (let i = 0; i < n; i++) dst[d + i] = src[s + i]!;
}

/** Reused for every policy call so the hot path allocates nothing. */
const policyStep: AttentionStep = { layer: 0, position: 0, att: new Float32Array(0), attStride: 0, nHeads: 0, groupSize: 0 };

/**
 * q (nHeads × headDim at qOff), k and v (nKvHeads × headDim at kOff / vOff) are the new token's
 * projections before position encoding; the attention output (nHeads × headDim) goes to out[oOff].
 * q and k are rotated in place.
 */
export function attendNewToken(
  model: Model, state: MultiState, layerIndex: number, position: number,
  q: Float32Array, qOff: number, k: Float32Array, kOff: number, v: Float32Array, vOff: number,
  out: Float32Array, oOff: number,
): void {
  const c = model.config, B = model.backend, pos = model.positions, scratch = model.scratch;
  const mode = state.positionMode;
  const layer: LayerCache = state.layers[layerIndex]!;
  const hd = layer.headDim, nKv = c.nKvHeads, group = c.nHeads / nKv;
  const scale = 1 / Math.sqrt(hd);

  pos.encodeNewKeys(mode, k, kOff, nKv, position);
  for (let h = 0; h < nKv; h++) {
    const head = layer.heads[h]!;
    const slot = head.push(position);
    copy(head.keys, slot * hd, k, kOff + h * hd, hd);
    copy(head.values, slot * hd, v, vOff + h * hd, hd);
  }

  const stride = scratch.attFor(layer.maxCount);
  const att = scratch.att;
  for (let kvh = 0; kvh < nKv; kvh++) {
    const head = layer.heads[kvh]!;
    const keys = pos.attentionKeys(mode, head);
    for (let g = 0; g < group; g++) {
      const qh = kvh * group + g;
      pos.encodeQuery(mode, q, qOff + qh * hd, position, head);
      B.attendHead(out, oOff + qh * hd, q, qOff + qh * hd, keys, head.values, head.count, hd, scale, att, qh * stride);
    }
  }

  policyStep.layer = layerIndex;
  policyStep.position = position;
  policyStep.att = att;
  policyStep.attStride = stride;
  policyStep.nHeads = c.nHeads;
  policyStep.groupSize = group;
  state.policy.afterAttention(layer, policyStep);
  // A bounded state must never grow: a policy that leaves too many entries is a bug, caught here.
  if (layer.maxCount > layer.capacity) {
    throw new Error(`policy "${state.policy.name}" left ${layer.maxCount} entries in layer ${layerIndex}, over capacity ${layer.capacity}`);
  }
}
