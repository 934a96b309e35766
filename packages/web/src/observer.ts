// Watches a policy at work without changing it: wraps it so that, for every layer of every step,
// it records the kept positions (slot order), the newest query's attention over them (averaged over
// the query heads of each KV head), and which positions the policy then evicted.
import { wrapPolicy, type AttentionStep, type LayerCache, type Policy } from '@msrnn/msrnn';

export interface HeadView {
  /** Positions of the entries after the step (sorted). */
  kept: number[];
  /** Attention of the newest query to each kept entry (same order as kept), 0 for none. */
  att: number[];
}

export interface LayerStep {
  /** Per KV head: positions before the policy acted (includes the new entry), and their attention. */
  before: { positions: number[]; att: number[] }[];
  /** Per KV head: positions the policy evicted this step. */
  evicted: number[][];
}

export class PolicyObserver {
  /** Last step's record per layer (overwritten every step). */
  readonly layers: LayerStep[] = [];
  /** Evictions per layer since take() was last called. */
  private pending: number[][];

  constructor(readonly inner: Policy, nLayers: number) {
    this.pending = Array.from({ length: nLayers }, () => []);
  }

  /** A policy that behaves exactly as `inner` (same fields, same decisions) and reports to this. */
  policy(): Policy {
    return wrapPolicy(this.inner, (layer, step) => this.observe(layer, step));
  }

  private observe(layer: LayerCache, step: AttentionStep): void {
    const before = layer.heads.map((head, h) => {
      const positions = Array.from(head.positions.subarray(0, head.count));
      const att = new Array<number>(head.count).fill(0);
      for (let g = 0; g < step.groupSize; g++) {
        const row = (h * step.groupSize + g) * step.attStride;
        for (let i = 0; i < head.count; i++) att[i]! += step.att[row + i]! / step.groupSize;
      }
      return { positions, att };
    });
    this.inner.afterAttention(layer, step);
    const evicted = layer.heads.map((head, h) => {
      const kept = new Set(head.positions.subarray(0, head.count));
      return before[h]!.positions.filter((p) => !kept.has(p));
    });
    this.layers[step.layer] = { before, evicted };
    for (const e of evicted) this.pending[step.layer]!.push(...e);
  }

  /** Evicted positions per layer since the last call (deduplicated over heads). */
  takeEvictions(): number[][] {
    const out = this.pending.map((p) => [...new Set(p)].sort((a, b) => a - b));
    this.pending = this.pending.map(() => []);
    return out;
  }

  /** The state as the page draws it: per layer, per KV head, kept positions with the last attention. */
  view(): HeadView[][] {
    return this.layers.map((l) => l.before.map((b, h) => {
      const gone = new Set(l.evicted[h]);
      const pairs = b.positions.map((p, i) => [p, b.att[i]!] as const).filter(([p]) => !gone.has(p)).sort((x, y) => x[0] - y[0]);
      return { kept: pairs.map(([p]) => p), att: pairs.map(([, a]) => a) };
    }));
  }
}
