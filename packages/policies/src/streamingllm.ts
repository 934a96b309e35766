// StreamingLLM (Xiao et al. 2024): attention sinks (the first i positions) plus a window of the
// most recent entries, with positions re-indexed: keys are cached without rotation and rotated at
// their rank among the kept entries, so the model never sees a position gap or a position past
// its cache size. Window+i (`sinks`) keeps the same entries at their original positions.
import type { PolicyOptions } from './options.js';
import { scored } from './scored-policy.js';
import { sinkCount, sinksScorer } from './window.js';

export function streamingLlmPolicy(opts: PolicyOptions, name: string) {
  const sinks = sinkCount(opts, name);
  return scored(name, { ...sinksScorer(sinks), positionMode: 'reindex' }, opts, `sinks=${sinks}, positions re-indexed`);
}
