// Ada-KV (Feng et al. 2024) over SnapKV's scores: a layer's budget (k per KV head on average) is
// shared across its KV heads by score: the entry with the lowest pooled window attention of the
// whole layer leaves, so heads whose attention is concentrated give entries to heads whose
// attention is spread. Each head keeps at least 0.2·k (Ada-KV's safeguard) and at most 2k (its
// storage: a bounded state allocates 2k+1 slots per head, the layer still holds k per head).
import type { PolicyOptions } from './options.js';
import { scored } from './scored-policy.js';
import { snapKvParams, snapKvScorer } from './snapkv.js';

export function adaSnapKvPolicy(opts: PolicyOptions, name: string) {
  const p = snapKvParams(opts, name);
  return scored(name, { ...snapKvScorer(p), granularity: 'pooled' }, opts, `window=${p.window}, kernel=${p.kernel}, head budgets shared by score`);
}
