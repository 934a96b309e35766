// Ren et al. 2023, context compression with sentinel tokens: the paper's seeded span rule (the same
// draws as tools/train/masks.py, through the same hash). The eviction component is
// SentinelCompression in @msrnn/msrnn; the driver that inserts <CL>/<CR> is in @msrnn/transformer.
import type { Span } from '@msrnn/msrnn';
import { uniform } from './hash.js';

export const MAX_SPAN_DEFAULT = 25;

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
