// Which original positions each layer keeps over time (the paper's §7.3 analysis). Entries only
// ever leave a multi-state, so the whole history is one number per (layer, KV head, entry): the
// step at which the entry was evicted (-1: still kept at the end). Entry p is in the state after
// steps p .. evictedAt-1. Without sentinels entry = step = position; under sentinel compression
// they are stream indices (text tokens, <CL> and <CR>: `kinds`, `positions` say which is which).
import { wrapPolicy, type AttentionStep, type HeadCache, type LayerCache, type Policy, type SentinelCompression } from '@msrnn/msrnn';
import { budgetOf } from '@msrnn/policies';
import type { KvType } from '@msrnn/tensor';
import { createState, prefill, SentinelStream, type ElementKind, type Model, type PositionMode, type SentinelIds, type SpanRule } from '@msrnn/transformer';

export interface Trace {
  policy: string;
  describe: string;
  /** Budget k used for the "most recent k" share (the capacity; for ratio budgets, the final budget). */
  capacity: number | null;
  /** The stream: the text, with <CL>/<CR> ids where sentinels were inserted. */
  tokens: number[];
  nLayers: number;
  nKvHeads: number;
  /** evictedAt[layer][kvHead][entry]: step that evicted it, or -1 if kept to the end. */
  evictedAt: number[][][];
  /**
   * Attention sink check, per layer, over steps 1.. while the first entry is cached: the mean weight
   * the new query puts on it (averaged over query heads), and what a uniform spread would give.
   */
  firstTokenAttention: { mean: number; uniform: number; steps: number }[];
  /** Sentinel compression only: per stream element, its kind (0 text, 1 <CL>, 2 <CR>) and position. */
  kinds?: ElementKind[];
  positions?: number[];
}

/** Running sums behind Trace.firstTokenAttention. */
interface SinkSums { weight: Float64Array; uniform: Float64Array; steps: Int32Array }

/** How entries and steps are numbered: by position, or by stream index under sentinel compression. */
interface EntryIds {
  /** The entry at `slot` (not the one appended this step, whose id is `current`). */
  of(head: HeadCache, slot: number): number;
  /** The id of the element this layer step appended. */
  current(layer: LayerCache, step: AttentionStep): number;
}

const byPosition: EntryIds = { of: (head, slot) => head.positions[slot]!, current: (_layer, step) => step.position };

function byStreamIndex(compression: SentinelCompression): EntryIds {
  return { of: (head, slot) => compression.streamIndexOf(head, slot), current: (layer) => compression.nextIndex(layer.index) };
}

/** Wraps a policy and notes, after each call, which entries left each head. */
function recordingPolicy(inner: Policy, evictedAt: number[][][], sink: SinkSums, ids: EntryIds): Policy {
  let before = new Int32Array(64);
  // mark[id] === stamp: entry id is still in the head being checked (no per-call allocation).
  let mark = new Int32Array(64);
  let stamp = 0;
  return wrapPolicy(inner, (layer, step) => {
    const now = ids.current(layer, step);
    if (mark.length <= now) { const grown = new Int32Array(2 * (now + 1)); grown.set(mark); mark = grown; }
    noteFirstTokenAttention(layer, step, sink, ids);
    let total = 0;
    for (const h of layer.heads) total += h.count + 1;
    if (before.length < total) before = new Int32Array(total * 2);
    let o = 0;
    for (const h of layer.heads) {
      before[o++] = h.count;
      for (let i = 0; i < h.count; i++) before[o++] = i === h.count - 1 ? now : ids.of(h, i);
    }
    inner.afterAttention(layer, step);
    o = 0;
    for (let hi = 0; hi < layer.heads.length; hi++) {
      const h = layer.heads[hi]!, n = before[o++]!;
      if (h.count !== n) {
        stamp++;
        for (let i = 0; i < h.count; i++) mark[ids.of(h, i)] = stamp;
        for (let i = 0; i < n; i++) {
          const e = before[o + i]!;
          if (mark[e] !== stamp) evictedAt[layer.index]![hi]![e] = now;
        }
      }
      o += n;
    }
  });
}

function noteFirstTokenAttention(layer: LayerCache, step: AttentionStep, sink: SinkSums, ids: EntryIds): void {
  if (ids.current(layer, step) === 0) return; // the first token attending to itself says nothing
  let w = 0, u = 0;
  for (let q = 0; q < step.nHeads; q++) {
    const head = layer.heads[Math.floor(q / step.groupSize)]!;
    // The first entry is never the one appended this step (the last slot), so that one is not looked at.
    let slot = -1;
    for (let i = 0; i < head.count - 1 && slot < 0; i++) if (ids.of(head, i) === 0) slot = i;
    if (slot < 0) return;
    w += step.att[q * step.attStride + slot]!;
    u += 1 / head.count;
  }
  sink.weight[layer.index]! += w / step.nHeads;
  sink.uniform[layer.index]! += u / step.nHeads;
  sink.steps[layer.index]!++;
}

export interface TraceOptions {
  /** How the state stores keys and values (default f32). */
  kv?: KvType;
  /** Called as tokens are consumed (for a progress bar). */
  onProgress?: (done: number, total: number) => void;
  /** Sentinel compression before the policy: the model's <CL>/<CR> and the span rule. */
  sentinel?: { ids: SentinelIds; spans: SpanRule };
}

/** NaN is an error, never a result: a trace of a model that produces non-finite logits stops. */
function checkFinite(logits: Float32Array, vocab: number, position: number): void {
  for (let i = 0; i < vocab; i++) {
    if (!Number.isFinite(logits[i]!)) {
      throw new RangeError(`logit ${i} is ${logits[i]} at chunk 0, position ${position}: the model produced non-finite logits (corrupt or overflowing weights?)`);
    }
  }
}

export function recordTrace(model: Model, policy: Policy, tokens: number[], positionMode: PositionMode = 'absolute', opts: TraceOptions = {}): Trace {
  const c = model.config, n = tokens.length, vocab = c.vocabSize;
  const sink: SinkSums = { weight: new Float64Array(c.nLayers), uniform: new Float64Array(c.nLayers), steps: new Int32Array(c.nLayers) };
  // Without sentinels there is one entry per token; with them the stream grows as elements arrive.
  const evicted: number[][][] = Array.from({ length: c.nLayers }, () => Array.from({ length: c.nKvHeads }, () => (opts.sentinel ? [] : new Array<number>(n).fill(-1))));
  let stream = tokens, describe = policy.describe?.() ?? '', name = policy.name;
  let sentinelRecord: Pick<Trace, 'kinds' | 'positions'> = {};
  if (opts.sentinel) {
    const kinds: ElementKind[] = [], positions: number[] = [];
    stream = [];
    const run = new SentinelStream(model, {
      ...opts.sentinel, policy, kv: opts.kv ?? 'f32',
      wrap: (compression) => recordingPolicy(compression, evicted, sink, byStreamIndex(compression)),
      onElement(token, kind, position) {
        stream.push(token); kinds.push(kind); positions.push(position);
        for (const layer of evicted) for (const head of layer) head.push(-1);
      },
    });
    const logits = model.backend.alloc(vocab);
    tokens.forEach((token, i) => {
      checkFinite(run.text(token, logits), vocab, i);
      if (i % 64 === 63 || i === n - 1) opts.onProgress?.(i + 1, n);
    });
    sentinelRecord = { kinds, positions };
    name = run.state.policy.name;
    describe = `${run.state.policy.describe?.() ?? ''}; spans: ${opts.sentinel.spans.describe()}`;
  } else {
    const state = createState(model, { policy: recordingPolicy(policy, evicted, sink, byPosition), positionMode: policy.positionMode ?? positionMode, kv: opts.kv ?? 'f32' });
    prefill(model, state, tokens, {
      onLogits: (position, logits) => checkFinite(logits, vocab, position),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
  }
  const b = budgetOf(policy);
  const capacity = !b ? null : b.capacity !== Infinity ? b.capacity : b.ratio !== undefined ? b.at(n - 1, Infinity) : null;
  return {
    policy: name,
    describe,
    capacity,
    tokens: stream,
    nLayers: c.nLayers,
    nKvHeads: c.nKvHeads,
    evictedAt: evicted,
    firstTokenAttention: Array.from(sink.steps, (steps, l) => ({
      mean: steps > 0 ? sink.weight[l]! / steps : 0,
      uniform: steps > 0 ? sink.uniform[l]! / steps : 0,
      steps,
    })),
    ...sentinelRecord,
  };
}

/** Is `position` in KV head `h` of `layer` after step `t`? */
export function keptAfter(trace: Trace, layer: number, h: number, position: number, t: number): boolean {
  const e = trace.evictedAt[layer]![h]![position]!;
  return position <= t && (e < 0 || t < e);
}

export interface LayerSummary {
  layer: number;
  /** Step at which position 0 left, per KV head (-1: kept to the end). */
  firstTokenEvictedAt: number[];
  /** Share of kept entries among the most recent k, averaged over steps t >= k (and heads). */
  recentShareMean: number;
  /** The same share after the last step. */
  recentShareFinal: number;
  /** Kept positions after the last step (KV head 0). */
  keptFinal: number[];
}

export function summarize(trace: Trace): LayerSummary[] {
  const n = trace.tokens.length, k = trace.capacity ?? n;
  const out: LayerSummary[] = [];
  for (let l = 0; l < trace.nLayers; l++) {
    let shareSum = 0, shareSteps = 0, final = 0;
    for (let h = 0; h < trace.nKvHeads; h++) {
      // Sweep steps t >= k. kept(t) = t+1 minus the entries evicted by step t; the recent ones are
      // positions (t-k, t] minus those evicted by t, counted in a Fenwick tree over positions:
      // O(n log n) per head, so a trace of 100,000 tokens is summarized in well under a second.
      const ev = trace.evictedAt[l]![h]!;
      const leaving = evictionsByStep(ev, n);
      const tree = new Int32Array(n + 1);
      let evictedSoFar = 0, step = 0;
      const t0 = Math.min(k, n - 1);
      for (let t = 0; t < n; t++) {
        for (; step <= t; step++) {
          for (let i = leaving.start[step]!; i < leaving.start[step + 1]!; i++) {
            evictedSoFar++;
            for (let j = leaving.positions[i]! + 1; j <= n; j += j & -j) tree[j]!++;
          }
        }
        if (t < t0) continue;
        const kept = t + 1 - evictedSoFar;
        const from = Math.max(0, t - k + 1);
        const recent = t + 1 - from - (prefixCount(tree, t + 1) - prefixCount(tree, from));
        const share = kept > 0 ? recent / kept : 0;
        shareSum += share;
        shareSteps++;
        if (t === n - 1) final += share / trace.nKvHeads;
      }
    }
    const ev0 = trace.evictedAt[l]![0]!;
    out.push({
      layer: l,
      firstTokenEvictedAt: trace.evictedAt[l]!.map((h) => h[0]!),
      recentShareMean: shareSteps > 0 ? shareSum / shareSteps : 1,
      recentShareFinal: final,
      keptFinal: ev0.flatMap((e, p) => (e < 0 ? [p] : [])),
    });
  }
  return out;
}

/** Positions grouped by the step that evicted them (counting sort): positions[start[t]..start[t+1]). */
function evictionsByStep(ev: ArrayLike<number>, n: number): { start: Int32Array; positions: Int32Array } {
  const start = new Int32Array(n + 2);
  for (let p = 0; p < n; p++) { const e = ev[p]!; if (e >= 0) start[e + 1]!++; }
  for (let t = 0; t <= n; t++) start[t + 1]! += start[t]!;
  const fill = start.slice(), positions = new Int32Array(start[n + 1]!);
  for (let p = 0; p < n; p++) { const e = ev[p]!; if (e >= 0) positions[fill[e]!++] = p; }
  return { start, positions };
}

/** Entries counted in the Fenwick tree at positions [0, end). */
function prefixCount(tree: Int32Array, end: number): number {
  let s = 0;
  for (let j = end; j > 0; j -= j & -j) s += tree[j]!;
  return s;
}

export interface PieceLifetime {
  piece: string;
  /** Mean steps an occurrence stayed in the state (over layers, KV heads and occurrences). */
  meanSteps: number;
  occurrences: number;
}

/**
 * Mean time in the state per token piece (the paper's §7.3: which kinds of tokens a policy keeps).
 * Only positions at least 2k before the end count, so lifetimes are rarely cut short by the end of
 * the text; pieces seen fewer than `minOccurrences` times are left out. Sorted longest first.
 */
export function pieceLifetimes(trace: Trace, pieces: string[], minOccurrences = 3): { overall: number; pieces: PieceLifetime[] } {
  const n = trace.tokens.length, k = trace.capacity ?? n;
  const sums = new Map<string, { steps: number; entries: number; occurrences: number }>();
  let steps = 0, entries = 0;
  for (let p = 0; p < n - 2 * k; p++) {
    const s = sums.get(pieces[p]!) ?? { steps: 0, entries: 0, occurrences: 0 };
    s.occurrences++;
    for (const layer of trace.evictedAt) {
      for (const head of layer) {
        const e = head[p]!;
        s.steps += (e < 0 ? n : e) - p;
        s.entries++;
        steps += (e < 0 ? n : e) - p;
        entries++;
      }
    }
    sums.set(pieces[p]!, s);
  }
  const list = [...sums]
    .filter(([, s]) => s.occurrences >= minOccurrences)
    .map(([piece, s]) => ({ piece, meanSteps: s.steps / s.entries, occurrences: s.occurrences }))
    .sort((a, b) => b.meanSteps - a.meanSteps || a.piece.localeCompare(b.piece));
  return { overall: entries > 0 ? steps / entries : 0, pieces: list };
}
