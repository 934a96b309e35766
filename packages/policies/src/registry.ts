// Every policy by name, in one table that the command line, the ppl harness and the tests read.
// Adding a policy = one new file (its scorer) + one row here; see "Add a policy" in the README.
import { keepAll, recordPolicySpec, type Policy } from '@msrnn/msrnn';
import { shown } from './budget.js';
import { adaSnapKvPolicy } from './ada.js';
import { h2oPolicy } from './h2o.js';
import { keyDiffScorer } from './keydiff.js';
import { knormScorer } from './knorm.js';
import { optionNames, type PolicyOptions } from './options.js';
import { randomPolicy, scatteredPolicy } from './random.js';
import { pyramidKvPolicy } from './pyramidkv.js';
import { scored } from './scored-policy.js';
import { snapKvPolicy } from './snapkv.js';
import { streamingLlmPolicy } from './streamingllm.js';
import { tovaHeadScorer, tovaScorer } from './tova.js';
import { recencyScorer, sinksPolicy } from './window.js';

export interface PolicyEntry {
  readonly name: string;
  /** One line for --help and the README table. */
  readonly description: string;
  /** The budget is a ratio of the tokens seen (Ren et al.'s baselines): a capacity alone is not enough. */
  readonly needsRatio?: boolean;
  /** Takes no budget at all (`full`): a finite capacity, a ratio or evictFrom is an error. */
  readonly unbounded?: boolean;
  /** The policy for a validated request; `name` is the row's, for error messages and reports. */
  create(opts: PolicyOptions, name: string): Policy;
}

export const policyTable: readonly PolicyEntry[] = [
  { name: 'full', description: 'keep every entry (the ordinary transformer)', unbounded: true, create: () => keepAll },
  { name: 'window', description: 'keep the k most recent entries', create: (o, name) => scored(name, recencyScorer, o) },
  { name: 'sinks', description: 'Window+i: keep the first i positions (sinks, default 4) and the k-i most recent', create: sinksPolicy },
  { name: 'h2o', description: 'H2O per KV head: k/2 most recent + k/2 with the most accumulated attention (summed over the group)', create: h2oPolicy(false) },
  { name: 'h2o_layer', description: 'H2O layer-wise: accumulated attention summed over all query heads, same entry leaves every head', create: h2oPolicy(true) },
  { name: 'tova', description: 'TOVA: drop the lowest attention of the new query, averaged over all query heads (layer-wise)', create: (o, name) => scored(name, tovaScorer, o) },
  { name: 'tova_head', description: 'TOVA per KV head: attention averaged over the query heads of the group', create: (o, name) => scored(name, tovaHeadScorer, o) },
  { name: 'random', description: 'evict a uniformly random entry (seeded, layer-wise)', create: randomPolicy },
  { name: 'knorm', description: 'drop the key with the largest L2 norm (per KV head)', create: (o, name) => scored(name, knormScorer, o) },
  { name: 'local', description: 'Ren et al. local attention: window of ceil(ratio * tokens seen) (needs a ratio)', needsRatio: true, create: (o, name) => scored(name, recencyScorer, o) },
  { name: 'streamingllm', description: 'StreamingLLM: sinks (first i positions, default 4) + the most recent, keys re-indexed to their rank in the cache', create: streamingLlmPolicy },
  { name: 'snapkv', description: 'SnapKV per KV head: attention of the last w queries (window, default 8), max-pooled over kernel positions (default 5); the window stays', create: snapKvPolicy },
  { name: 'pyramidkv', description: 'PyramidKV: SnapKV scores, layer budgets from 2k-k/20 (bottom) down to k/20 (top), same total (fixed capacity only)', create: pyramidKvPolicy },
  { name: 'ada_snapkv', description: 'Ada-KV over SnapKV scores: a layer budget of k per KV head shared across its heads by score (each head 0.2k..2k)', create: adaSnapKvPolicy },
  { name: 'keydiff', description: 'KeyDiff per KV head: drop the key most similar (cosine) to the mean key', create: (o, name) => scored(name, keyDiffScorer(), o) },
  { name: 'scattered', description: 'Ren et al. scattered attention: seeded random keep-mask at rate ratio (needs a ratio)', needsRatio: true, create: scatteredPolicy },
];

export const policyNames: readonly string[] = policyTable.map((e) => e.name);

export function isPolicyName(name: string): boolean {
  return policyTable.some((e) => e.name === name);
}

/** The table row of `name`; an unknown name is an error listing the valid ones. */
export function policyEntry(name: string): PolicyEntry {
  const entry = policyTable.find((e) => e.name === name);
  if (!entry) throw new RangeError(`unknown policy "${name}"; valid policies: ${policyNames.join(', ')}`);
  return entry;
}

/**
 * A policy by name. Its `capacity` is the state's: `createState(model, { policy })` is all a
 * caller needs (k for a fixed budget; Infinity when the policy enforces a growing budget itself).
 */
export function getPolicy(name: string, opts: PolicyOptions = {}): Policy {
  const entry = policyEntry(name);
  if (opts === null || typeof opts !== 'object') throw new TypeError(`policy "${name}": options must be an object, got ${shown(opts)}`);
  for (const key of Object.keys(opts)) {
    if (!(optionNames as readonly string[]).includes(key)) {
      throw new RangeError(`policy "${name}": unknown option "${key}"; valid options: ${optionNames.join(', ')}`);
    }
  }
  if (entry.unbounded) {
    for (const key of ['capacity', 'ratio', 'evictFrom'] as const) {
      const v = opts[key];
      if (v !== undefined && !(key === 'capacity' && v === Infinity)) {
        throw new RangeError(`policy "${name}" keeps every entry: it takes no ${key} (got ${shown(v)}); pick an eviction policy (${policyNames.filter((n) => n !== name).join(', ')})`);
      }
    }
  }
  if (entry.needsRatio && opts.ratio === undefined) throw new RangeError(`policy "${name}" needs a ratio in (0, 1] (fraction of the tokens seen)`);
  const policy = entry.create(opts, name);
  // Remembered so a saved state can make the same policy again (restoreState).
  const options: Record<string, number> = {};
  for (const [k, v] of Object.entries(opts)) if (typeof v === 'number' && v !== Infinity) options[k] = v;
  if (policy !== keepAll) recordPolicySpec(policy, { name, options });
  return policy;
}
