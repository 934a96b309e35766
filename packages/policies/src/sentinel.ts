// Ren et al. 2023, context compression with sentinel tokens: `… a b <CL> s1 … sn <CR> c …`. A model
// fine-tuned with their attention mask (tools/train/finetune.py) lets no later token see the span or
// its <CL> once <CR> has attended them, so after <CR> the state may drop them: <CR>'s key/value is
// the compressed span. This file holds the two pieces that do not need a model: the paper's seeded
// span rule (the same draws as tools/train/masks.py, through the same hash) and the eviction
// component. The driver that inserts the sentinels (positions not advancing) is in @msrnn/cli.
import type { AttentionStep, LayerCache, Policy } from '@msrnn/msrnn';
import { uniform } from './hash.js';

export const MAX_SPAN_DEFAULT = 25;

/** A compressed span over text indices [start, start + length). */
export interface Span { start: number; length: number }

function checkSpanArgs(nText: number, ratio: number, maxSpan: number): void {
  if (!Number.isInteger(nText) || nText < 1) throw new RangeError(`sentinel spans: text length must be a positive integer, got ${String(nText)}`);
  if (!(ratio > 0 && ratio < 1)) throw new RangeError(`sentinel compression: compressed share must be in (0, 1), got ${String(ratio)}`);
  if (!Number.isInteger(maxSpan) || maxSpan < 2 || maxSpan > 1024) {
    throw new RangeError(`sentinel compression: maximum span length must be an integer in [2, 1024], got ${String(maxSpan)}`);
  }
}

/**
 * The paper's rule over text indices 1..nText-1 (index 0, BOS, is never compressed): span lengths
 * uniform in 2..maxSpan, drawn until round(ratio·(nText-1)) tokens are covered (the last one cut to
 * fit, never below 2), then placed at random with at least one text token between spans.
 * Draw k is uniform(seed, stream, k): tools/train/masks.py `choose_spans` makes the same spans.
 */
export function chooseSpans(nText: number, ratio: number, maxSpan: number, seed: number, stream: number): Span[] {
  checkSpanArgs(nText, ratio, maxSpan);
  const eligible = nText - 1;
  const target = Math.floor(ratio * eligible + 0.5);
  const lengths: number[] = [];
  let covered = 0, k = 0;
  while (target - covered >= 2) {
    const length = Math.min(2 + Math.floor(uniform(seed, stream, k++) * (maxSpan - 1)), target - covered);
    lengths.push(length);
    covered += length;
  }
  const n = lengths.length;
  if (n === 0) return [];
  const free = eligible - covered - (n - 1);
  if (free < 0) throw new RangeError(`sentinel compression: share ${ratio} leaves too few text tokens between ${n} spans in ${nText} tokens`);
  const cuts = lengths.map((_, i) => Math.floor(uniform(seed, stream, k + i) * (free + 1))).sort((a, b) => a - b);
  const spans: Span[] = [];
  let start = 1 + cuts[0]!;
  for (let i = 0; i < n; i++) {
    spans.push({ start, length: lengths[i]! });
    if (i + 1 < n) start += lengths[i]! + 1 + (cuts[i + 1]! - cuts[i]!);
  }
  return spans;
}

export type SentinelPhase = 'text' | 'open' | 'close';

/**
 * The eviction half of sentinel compression, as a policy of an unbounded state: it keeps every
 * entry except closed spans. The driver announces each token's kind (`phase`) before stepping it;
 * at <CL> the new entry's slot is noted per layer, at <CR> every entry from that slot up to (not
 * including) <CR>'s own leaves every head. Nothing else evicts, so a span's entries are exactly
 * the slots appended since its <CL>. Unlike the stateless policies this object holds the open
 * span, so it belongs to one sequence (the driver creates one per state).
 */
export class SentinelCompression implements Policy {
  readonly name = 'sentinel';
  readonly capacity = Infinity;
  readonly statsPerEntry = 0;
  phase: SentinelPhase = 'text';
  private readonly openSlot: Int32Array;

  constructor(nLayers: number) {
    this.openSlot = new Int32Array(nLayers).fill(-1);
  }

  afterAttention(layer: LayerCache, _step: AttentionStep): void {
    const head = layer.heads[0]!;
    if (this.phase === 'open') {
      this.openSlot[layer.index] = head.count - 1;
    } else if (this.phase === 'close') {
      const from = this.openSlot[layer.index]!;
      if (from < 0) throw new Error(`sentinel compression: <CR> in layer ${layer.index} without an open span`);
      // Highest slot first: each swap-remove moves <CR> (the last entry) down into the hole.
      for (let i = head.count - 2; i >= from; i--) layer.evictSlotAllHeads(i);
      this.openSlot[layer.index] = -1;
    }
  }

  describe(): string {
    return 'sentinel compression (spans evicted after their <CR>)';
  }
}
