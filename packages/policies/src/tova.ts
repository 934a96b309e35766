// TOVA (Oren et al. 2024): after attention, with k+1 entries present (the new one included), drop
// the entry with the lowest post-softmax weight from the new query, averaged over query heads.
// Nothing is protected: the first token, or the new one, may go.
// tova: layer-wise, mean over ALL query heads; tova_head: per KV head, mean over its query group.
import { meanAttention } from './attention-scores.js';
import type { Scorer } from './scored-policy.js';

export const tovaScorer: Scorer = {
  score: (layer, _h, step, out) => meanAttention(step, 0, step.nHeads, layer.heads[0]!.count, out),
};

export const tovaHeadScorer: Scorer = {
  granularity: 'head',
  score(layer, kvHead, step, out) {
    const g = step.groupSize;
    meanAttention(step, kvHead * g, kvHead * g + g, layer.heads[kvHead]!.count, out);
  },
};
