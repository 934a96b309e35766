// Watches a policy at work without changing it: wraps it so that, for every layer of every step,
// it notes which positions the policy evicted and — on steps marked for recording (the page draws
// at most every few tens of ms, so most steps are not) — the kept positions and the newest query's
// attention over them (averaged over the query heads of each KV head).
import { keepAll, wrapPolicy, type AttentionStep, type LayerCache, type Policy } from '@msrnn/msrnn';

export interface HeadView {
  /** Positions of the entries after the step (sorted). Typed arrays: snapshots cross to the page often, and these clone fast. */
  kept: Int32Array;
  /** Attention of the newest query to each kept entry (same order as kept), 0 for none. */
  att: Float32Array;
}

export interface LayerStep {
  /** Per KV head: positions before the policy acted (includes the new entry), and their attention. */
  before: { positions: Int32Array; att: Float32Array }[];
  /** Per KV head: positions the policy evicted this step. */
  evicted: number[][];
}

export class PolicyObserver {
  /** Last recorded step per layer. */
  readonly layers: LayerStep[] = [];
  /** Record attention and positions on the next steps (cheap eviction tracking runs always). */
  recording = true;
  /** Evictions per layer since takeEvictions() was last called. */
  private pending: number[][];
  /** Positions before the policy acted, per KV head (reused: no allocation on unrecorded steps). */
  private prev: Int32Array[] = [];

  constructor(readonly inner: Policy, nLayers: number) {
    this.pending = Array.from({ length: nLayers }, () => []);
    this.neverEvicts = inner === keepAll;
  }

  /** A policy that behaves exactly as `inner` (same fields, same decisions) and reports to this. */
  policy(): Policy {
    return wrapPolicy(this.inner, (layer, step) => this.observe(layer, step));
  }

  /** Entries per KV head before the policy acted (reused). */
  private counts = new Int32Array(0);

  /** The unbounded policy evicts nothing: its unrecorded steps need no copy of the positions (~4 % of stories260K's decode). */
  private readonly neverEvicts: boolean;

  // Runs on every layer of every step: allocates only on recorded steps and when entries leave.
  private observe(layer: LayerCache, step: AttentionStep): void {
    if (this.neverEvicts && !this.recording) { this.inner.afterAttention(layer, step); return; }
    const heads = layer.heads;
    if (this.counts.length < heads.length) this.counts = new Int32Array(heads.length);
    for (let h = 0; h < heads.length; h++) {
      const head = heads[h]!;
      if (!this.prev[h] || this.prev[h]!.length < head.count) this.prev[h] = new Int32Array(Math.max(64, 2 * head.count));
      this.prev[h]!.set(head.positions.subarray(0, head.count));
      this.counts[h] = head.count;
    }
    const before = this.recording ? heads.map((head, h) => {
      const positions = head.positions.slice(0, head.count);
      const att = new Float32Array(head.count);
      for (let g = 0; g < step.groupSize; g++) {
        const row = (h * step.groupSize + g) * step.attStride;
        for (let i = 0; i < head.count; i++) att[i]! += step.att[row + i]! / step.groupSize;
      }
      return { positions, att };
    }) : null;
    this.inner.afterAttention(layer, step);
    const evicted: number[][] | null = before ? heads.map(() => []) : null;
    for (let h = 0; h < heads.length; h++) {
      const head = heads[h]!, count = this.counts[h]!;
      if (head.count >= count) continue;
      const kept = new Set(head.positions.subarray(0, head.count));
      for (let i = 0; i < count; i++) {
        const p = this.prev[h]![i]!;
        if (!kept.has(p)) { this.pending[step.layer]!.push(p); evicted?.[h]!.push(p); }
      }
    }
    if (before) this.layers[step.layer] = { before, evicted: evicted! };
  }

  /** Evicted positions per layer since the last call (deduplicated over heads). */
  takeEvictions(): number[][] {
    const out = this.pending.map((p) => [...new Set(p)].sort((a, b) => a - b));
    this.pending = this.pending.map(() => []);
    return out;
  }
}
