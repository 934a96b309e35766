// KeyDiff (Park et al. 2025): keep the keys that differ most from the others. The anchor is the
// mean of the head's cached keys (the new one included); the entry whose key has the highest
// cosine similarity to it leaves. Needs no attention weights at all. Per KV head. With the
// default 'absolute' positions the keys compared are the cached (rotated) ones, as stored
// (dequantized for f16/q8 states), read one at a time.
import type { Scorer } from './scored-policy.js';

export function keyDiffScorer(): Scorer {
  let mean = new Float64Array(64);
  let key = new Float32Array(64);
  return {
    granularity: 'head',
    score(layer, kvHead, _step, out) {
      const head = layer.heads[kvHead]!, hd = head.headDim, n = head.count;
      if (mean.length < hd) { mean = new Float64Array(hd); key = new Float32Array(hd); }
      mean.fill(0, 0, hd);
      for (let i = 0; i < n; i++) {
        head.readKey(i, key, 0);
        for (let d = 0; d < hd; d++) mean[d]! += key[d]!;
      }
      let mm = 0;
      for (let d = 0; d < hd; d++) { mean[d]! /= n; mm += mean[d]! * mean[d]!; }
      for (let i = 0; i < n; i++) {
        head.readKey(i, key, 0);
        let dot = 0, kk = 0;
        for (let d = 0; d < hd; d++) { const k = key[d]!; dot += k * mean[d]!; kk += k * k; }
        // Score = -cosine: the most mean-like key has the lowest score. A zero vector scores 0.
        out[i] = kk > 0 && mm > 0 ? -dot / Math.sqrt(kk * mm) : 0;
      }
    },
  };
}
