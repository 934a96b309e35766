// Key-norm eviction (kvpress's KnormPress keeps the keys with the LOWEST L2 norm): drop the entry
// whose key has the largest norm. Head-wise. The norm is computed once, when the entry enters
// (stats slot), since keys never change. RoPE is a rotation, so pre- and post-RoPE norms agree.
// The norm is the stored key's (dequantized, for f16/q8 states): the key attention sees.
import type { LayerCache } from '@msrnn/msrnn';
import type { Scorer } from './scored-policy.js';

/** One key read back as float32 (grown to the head dimension on first use). */
let key = new Float32Array(64);

export const knormScorer: Scorer = {
  granularity: 'head',
  statsPerEntry: 1,
  observe(layer: LayerCache): void {
    for (const head of layer.heads) {
      const slot = head.count - 1; // the entry appended this step
      const hd = head.headDim;
      if (key.length < hd) key = new Float32Array(hd);
      head.readKey(slot, key, 0);
      let s = 0;
      for (let d = 0; d < hd; d++) s += key[d]! * key[d]!;
      head.stats[slot * head.statsPerEntry] = s; // the state's stride: a wrapper may keep more statistics
    }
  },
  score(layer, kvHead, _step, out) {
    const head = layer.heads[kvHead]!;
    for (let i = 0, stride = head.statsPerEntry; i < head.count; i++) out[i] = -head.stats[i * stride]!;
  },
};
