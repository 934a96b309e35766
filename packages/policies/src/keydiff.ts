// KeyDiff (Park et al. 2025): keep the keys that differ most from the others. The anchor is the
// mean of the head's cached keys (the new one included); the entry whose key has the highest
// cosine similarity to it leaves. Needs no attention weights at all. Per KV head. With the
// default 'absolute' positions the keys compared are the cached (rotated) ones.
import type { Scorer } from './scored-policy.js';

export function keyDiffScorer(): Scorer {
  let mean = new Float64Array(64);
  return {
    granularity: 'head',
    score(layer, kvHead, _step, out) {
      const head = layer.heads[kvHead]!, hd = head.headDim, keys = head.keys, n = head.count;
      if (mean.length < hd) mean = new Float64Array(hd);
      mean.fill(0, 0, hd);
      for (let i = 0; i < n; i++) for (let d = 0; d < hd; d++) mean[d]! += keys[i * hd + d]!;
      let mm = 0;
      for (let d = 0; d < hd; d++) { mean[d]! /= n; mm += mean[d]! * mean[d]!; }
      for (let i = 0; i < n; i++) {
        let dot = 0, kk = 0;
        for (let d = 0; d < hd; d++) { const k = keys[i * hd + d]!; dot += k * mean[d]!; kk += k * k; }
        // Score = -cosine: the most mean-like key has the lowest score. A zero vector scores 0.
        out[i] = kk > 0 && mm > 0 ? -dot / Math.sqrt(kk * mm) : 0;
      }
    },
  };
}
