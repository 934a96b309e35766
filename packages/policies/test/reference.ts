// Plain list-based reference policies: a head is a sorted array of positions, and every rule is
// written out directly from its definition (the fixtures README, the papers), independent of the
// slot machinery. Scores of one step are computed once, before that step's evictions (as the
// policies do); ties go to the lowest position (then the lowest head).
import { geometry, groupSize, keyValue, nHeads, softmaxOver } from './synthetic.js';

/** What a rule sees of one head (or of the layer) at step t. */
interface View {
  layer: number;
  /** KV head, or -1 for a layer-wise rule. */
  head: number;
  t: number;
  /** The budget of this step. */
  k: number;
  entries: number[];
  /** This step's attention per entry, summed over the query heads (of the group, or all). */
  sums: Map<number, number>;
  /** Query heads summed. */
  nq: number;
  /** attention summed since the entry entered (H2O). */
  acc: Map<number, number>;
  /** attention sums of earlier steps: history[s] = that step's `sums`. */
  history: Map<number, number>[];
}

interface Rule {
  granularity: 'layer' | 'head' | 'pooled';
  /** Score of entry p (lower leaves first). */
  score(v: View): (p: number) => number;
  /** Entries that may leave at this step. */
  eligible?(v: View): (p: number) => boolean;
  /** Per-layer budgets from k (PyramidKV). */
  layerBudgets?(k: number, nLayers: number): number[];
}

/** Lowest score (ties: lowest position) among positions passing `eligible`. */
function argminPos(entries: number[], score: (p: number) => number, eligible: (p: number) => boolean): number {
  let best = -1, bestS = Infinity;
  for (const p of entries) {
    if (!eligible(p)) continue;
    const s = score(p);
    if (best < 0 || s < bestS || (s === bestS && p < best)) { best = p; bestS = s; }
  }
  return best;
}

/** Attention each entry of KV head h (or of the layer when h < 0) gets this step, summed over the query heads. */
function attentionSums(layer: number, step: number, entries: number[], h: number): Map<number, number> {
  const sums = new Map<number, number>(entries.map((p) => [p, 0]));
  const w = new Float64Array(entries.length);
  const qs = h < 0 ? [...Array(nHeads).keys()] : [...Array(groupSize).keys()].map((j) => h * groupSize + j);
  for (const q of qs) {
    softmaxOver(layer, step, q, entries, entries.length, w);
    entries.forEach((p, i) => sums.set(p, sums.get(p)! + Math.fround(w[i]!)));
  }
  return sums;
}

/** SnapKV: window sums (oldest query first), max-pooled over positions within kernel/2; the window stays. */
function snapKv(window = 8, kernel = 5): Pick<Rule, 'score' | 'eligible'> {
  return {
    score: (v) => {
      const raw = new Map<number, number>();
      for (const p of v.entries) {
        let s = 0;
        for (let t = Math.max(0, v.t - window + 1); t <= v.t; t++) s += v.history[t]!.get(p) ?? 0;
        raw.set(p, s);
      }
      const r = (kernel - 1) / 2;
      const pooled = new Map(v.entries.map((p) => [p, Math.max(...v.entries.filter((q) => Math.abs(q - p) <= r).map((q) => raw.get(q)!))]));
      return (p) => pooled.get(p)!;
    },
    eligible: (v) => (p) => p <= v.t - Math.min(window, v.k),
  };
}

/** PyramidKV's schedule written out: an arithmetic series from 2k - k/20 down to k/20, largest remainders. */
function pyramid(k: number, nLayers: number): number[] {
  if (nLayers === 1) return [k];
  const top = k / 20, bottom = 2 * k - top;
  const ideal = [...Array(nLayers).keys()].map((l) => Math.max(1, bottom - ((bottom - top) * l) / (nLayers - 1)));
  const out = ideal.map((x) => Math.max(1, Math.floor(x)));
  const order = [...Array(nLayers).keys()].sort((a, b) => (ideal[b]! % 1) - (ideal[a]! % 1) || a - b);
  for (let i = 0; out.reduce((a, b) => a + b) < k * nLayers; i++) out[order[i % nLayers]!]!++;
  for (let l = 0; out.reduce((a, b) => a + b) > k * nLayers; l = (l + 1) % nLayers) if (out[l]! > 1) out[l]!--;
  return out;
}

function cosine(a: number[], b: number[]): number {
  let ab = 0, aa = 0, bb = 0;
  for (let d = 0; d < a.length; d++) { ab += a[d]! * b[d]!; aa += a[d]! * a[d]!; bb += b[d]! * b[d]!; }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

const position = (): ((p: number) => number) => (p) => p;
const rules: Record<string, Rule> = {
  tova: { granularity: 'layer', score: (v) => (p) => v.sums.get(p)! / v.nq },
  tova_head: { granularity: 'head', score: (v) => (p) => v.sums.get(p)! / v.nq },
  h2o: { granularity: 'head', score: (v) => (p) => v.acc.get(p)!, eligible: (v) => (p) => p <= v.t - Math.floor(v.k / 2) },
  h2o_layer: { granularity: 'layer', score: (v) => (p) => v.acc.get(p)!, eligible: (v) => (p) => p <= v.t - Math.floor(v.k / 2) },
  window: { granularity: 'layer', score: position },
  local: { granularity: 'layer', score: position },
  sinks: { granularity: 'layer', score: position, eligible: (v) => (p) => p >= Math.min(4, v.k - 1) },
  streamingllm: { granularity: 'layer', score: position, eligible: (v) => (p) => p >= Math.min(4, v.k - 1) },
  snapkv: { granularity: 'head', ...snapKv() },
  pyramidkv: { granularity: 'head', ...snapKv(), layerBudgets: pyramid },
  ada_snapkv: { granularity: 'pooled', ...snapKv() },
  keydiff: {
    granularity: 'head',
    score: (v) => {
      const key = (p: number) => [...Array(geometry.headDim).keys()].map((d) => Math.fround(keyValue(v.layer, v.head, p, d)));
      const mean = [...Array(geometry.headDim).keys()].map((d) => v.entries.reduce((s, p) => s + key(p)[d]!, 0) / v.entries.length);
      const scores = new Map(v.entries.map((p) => [p, -cosine(key(p), mean)]));
      return (p) => scores.get(p)!;
    },
  },
};

export const referenceNames = Object.keys(rules);
export const hasReference = (name: string): boolean => Object.hasOwn(rules, name);

export interface ReferenceOptions {
  /** Evict only every n steps (from position 0). */
  every?: number;
}

/**
 * Kept positions [layer][kvHead] after `steps` tokens under the named policy. `budget` is a
 * capacity k, or a function of the step (ratio budgets, fast prefill) — then several entries may
 * leave in one step, each chosen by the same rule on the scores of that step.
 */
export function reference(name: string, budget: number | ((t: number) => number), steps: number, opts: ReferenceOptions = {}): number[][][] {
  const rule = rules[name];
  if (!rule) throw new Error(`no reference rule for ${name}`);
  const every = opts.every ?? 1;
  const base = typeof budget === 'number' ? () => budget : budget;
  const out: number[][][] = [];
  for (let l = 0; l < geometry.nLayers; l++) {
    const layerK = rule.layerBudgets ? rule.layerBudgets(base(0), geometry.nLayers)[l]! : undefined;
    const budgetAt = (t: number) => (t % every !== 0 ? Infinity : layerK ?? base(t));
    const nGroups = rule.granularity === 'layer' ? 1 : geometry.nKvHeads;
    const heads = Array.from({ length: nGroups }, () => ({ entries: [] as number[], acc: new Map<number, number>(), history: [] as Map<number, number>[] }));
    for (let t = 0; t < steps; t++) {
      const views: View[] = heads.map((g, gi) => {
        g.entries.push(t);
        const h = rule.granularity === 'layer' ? -1 : gi;
        const sums = attentionSums(l, t, g.entries, h);
        for (const [p, s] of sums) g.acc.set(p, (g.acc.get(p) ?? 0) + s);
        g.history[t] = sums;
        return { layer: l, head: h, t, k: budgetAt(t), entries: g.entries, sums, nq: h < 0 ? nHeads : groupSize, acc: g.acc, history: g.history };
      });
      const k = budgetAt(t);
      if (rule.granularity !== 'pooled') {
        views.forEach((v, gi) => {
          const score = rule.score(v), eligible = rule.eligible?.(v) ?? (() => true);
          while (heads[gi]!.entries.length > k) {
            const victim = argminPos(heads[gi]!.entries, score, eligible);
            heads[gi]!.entries = heads[gi]!.entries.filter((p) => p !== victim);
          }
        });
        continue;
      }
      // Pooled (Ada-KV): a head over 2k drops its own lowest; then, while the layer holds more than
      // k per head, the lowest (score, position, head) of the layer among heads above 0.2k leaves.
      if (k === Infinity) continue;
      const scores = views.map((v) => rule.score(v)), eligible = views.map((v) => rule.eligible?.(v) ?? (() => true));
      const cap = Math.ceil(2 * k), floor = Math.floor(0.2 * k);
      heads.forEach((g, gi) => {
        while (g.entries.length > cap) {
          const victim = argminPos(g.entries, scores[gi]!, eligible[gi]!);
          g.entries = g.entries.filter((p) => p !== victim);
        }
      });
      while (heads.reduce((n, g) => n + g.entries.length, 0) > k * heads.length) {
        let best: [number, number, number] | undefined; // score, position, head
        heads.forEach((g, gi) => {
          if (g.entries.length <= floor) return;
          const p = argminPos(g.entries, scores[gi]!, eligible[gi]!);
          if (p < 0) return;
          const s = scores[gi]!(p);
          if (!best || s < best[0] || (s === best[0] && p < best[1])) best = [s, p, gi];
        });
        const [, p, gi] = best!;
        heads[gi]!.entries = heads[gi]!.entries.filter((q) => q !== p);
      }
    }
    const kept = heads.map((g) => [...g.entries].sort((a, b) => a - b));
    out.push(rule.granularity === 'layer' ? Array.from({ length: geometry.nKvHeads }, () => kept[0]!) : kept);
  }
  return out;
}
