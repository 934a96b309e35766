// The grid of an experiment: every requested policy at every requested budget. A run is plain
// data (it crosses to worker threads); workers turn it into a policy with makeRunPolicy.
import type { Policy } from '@msrnn/msrnn';
import { getPolicy, policyEntry } from '@msrnn/policies';

export interface RunSpec {
  policy: string;
  /** Fixed budget k, or null (full, or a ratio budget). */
  capacity: number | null;
  /** Budget as a fraction of tokens seen (scattered: keep rate), or null. */
  ratio: number | null;
  sinks: number;
  seed: number;
  /** 'fast': attend the prompt unbounded, cut to the budget at its last token (TOVA code); 'exact': per token. */
  prefill: 'exact' | 'fast';
  /** Tokens at the start of each chunk that are context only (not scored); 0 = score every prediction. */
  prompt: number;
}

/** "full", "64" or "r=0.25": the budget column of the tables. */
export function budgetLabel(r: RunSpec): string {
  if (r.capacity === null && r.ratio === null) return 'full';
  return r.ratio !== null ? `r=${r.ratio}` : String(r.capacity);
}

/** The grid: policies × budgets, with the settings every run shares. */
export interface GridOptions extends Pick<RunSpec, 'sinks' | 'seed' | 'prefill' | 'prompt'> {
  policies: string[];
  capacities: number[];
  ratios: number[];
}

/** Runs for every policy × budget, validated up front (a bad name or budget fails before any work). */
export function buildRuns(o: GridOptions): RunSpec[] {
  const runs: RunSpec[] = [];
  const base = { sinks: o.sinks, seed: o.seed, prefill: o.prefill, prompt: o.prompt };
  for (const policy of o.policies) {
    let entry;
    try { entry = policyEntry(policy); } catch (err: any) { throw new RangeError(`--policies: ${err?.message ?? err}`); }
    if (entry.unbounded) {
      runs.push({ policy, capacity: null, ratio: null, ...base });
      continue;
    }
    if (entry.needsRatio && o.ratios.length === 0) throw new RangeError(`--policies: "${policy}" needs --ratios (fractions of the tokens seen)`);
    if (!entry.needsRatio) for (const capacity of o.capacities) runs.push({ policy, capacity, ratio: null, ...base });
    for (const ratio of o.ratios) runs.push({ policy, capacity: null, ratio, ...base });
  }
  for (const r of runs) makeRunPolicy(r); // surfaces sinks >= capacity etc. now
  if (runs.length === 0) throw new RangeError('nothing to run: give --policies and --capacities (or --ratios)');
  return runs;
}

export function makeRunPolicy(r: RunSpec): Policy {
  try {
    return getPolicy(r.policy, {
      ...(r.capacity !== null ? { capacity: r.capacity } : {}),
      ...(r.ratio !== null ? { ratio: r.ratio } : {}),
      sinks: r.sinks,
      seed: r.seed,
      // Fast prefill postpones eviction; `full` never evicts, so it takes no evictFrom.
      ...(r.prefill === 'fast' && r.prompt > 0 && budgetLabel(r) !== 'full' ? { evictFrom: r.prompt - 1 } : {}),
    });
  } catch (err: any) {
    throw new RangeError(`--policies ${r.policy} at budget ${budgetLabel(r)}: ${err?.message ?? err}`);
  }
}
