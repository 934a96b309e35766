// The trace as a heatmap, one panel per layer: x = original position, y = step (time runs down).
// An entry lives from the step it entered (its own position) to the step that evicted it, so each
// (head, position) is ONE vertical bar: a few thousand rects instead of a steps × positions grid.
// Head-wise policies draw each KV head at 1/heads opacity, so darker = kept in more heads. Under
// sentinel compression x is the stream (text, <CL>, <CR>): a band above each panel marks every
// compressed span from its <CL> to its <CR>, and the sentinels' own bars are coloured.
import { esc, svgStart } from '../svg.js';
import type { LayerSummary, Trace } from './record.js';

function headsAgree(trace: Trace, layer: number): boolean {
  const h0 = trace.evictedAt[layer]![0]!;
  return trace.evictedAt[layer]!.every((h) => h.every((e, p) => e === h0[p]));
}

/** "kept", "out at step 52", or per head "out at 12 / kept / ..." when heads differ. */
export function firstTokenText(evictedAt: number[]): string {
  const one = (e: number) => (e < 0 ? 'kept' : `out at step ${e}`);
  return evictedAt.every((e) => e === evictedAt[0]) ? one(evictedAt[0]!) : evictedAt.map((e) => (e < 0 ? 'kept' : e)).join(' / ');
}

/**
 * Most position columns a panel draws exactly (2 per pixel of its 220). Longer traces are thinned:
 * the positions of a column are drawn as QUANTILES bars (from the column's first position down to
 * the quartiles of their eviction steps, each at 1/QUANTILES opacity), so the shade still says what
 * share of the column is in the state at each step, and the file stays under ~2 MB however long
 * the trace (100,000 tokens drawn exactly would be 24 MB).
 */
export const MAX_COLUMNS = 440;
const QUANTILES = 4;
const SPAN_COLOR = '#e08a00', CL_COLOR = '#c0392b';

/** [<CL> index, <CR> index] of every closed span of a sentinel trace. */
function spansOf(kinds: readonly number[]): [number, number][] {
  const spans: [number, number][] = [];
  let open = -1;
  kinds.forEach((k, i) => {
    if (k === 1) open = i;
    else if (k === 2 && open >= 0) { spans.push([open, i]); open = -1; }
  });
  return spans;
}

/** Positions per heatmap column for a trace of n tokens (1: exact). */
export function columnWidth(n: number): number {
  return Math.ceil(n / MAX_COLUMNS);
}

export function traceSvg(trace: Trace, summary: LayerSummary[], title: string): string {
  const n = trace.tokens.length, panel = 220, gap = 30, L = 20, T = 56, Bot = 70;
  const s = panel / n;
  const width = columnWidth(n);
  const W = L + trace.nLayers * (panel + gap), H = T + panel + Bot;
  const out = svgStart(W, H, 11);
  out.push(`<text x="${L}" y="18" font-size="14" font-weight="bold">${esc(title)}</text>`);
  const kinds = trace.kinds;
  const xName = kinds ? 'stream element (text, <CL>, <CR>)' : 'original position';
  out.push(`<text x="${L}" y="34">x: ${esc(xName)} 0..${n - 1}; y: step 0..${n - 1} (time runs down); dark = entry in the state after that step${width > 1 ? `; columns of ${width} positions, shade = share kept` : ''}${kinds ? '; orange band: a compressed span, <CR> orange, <CL> red' : ''}</text>`);
  for (let l = 0; l < trace.nLayers; l++) {
    const x0 = L + l * (panel + gap);
    const heads = headsAgree(trace, l) ? [0] : trace.evictedAt[l]!.map((_, h) => h);
    const opacity = (1 / heads.length).toFixed(3);
    out.push(`<g transform="translate(${x0} ${T})">`);
    out.push(`<rect width="${panel}" height="${panel}" fill="#f4f4f4" stroke="#999"/>`);
    out.push(`<path d="M0 0 L${panel} ${panel}" stroke="#ccc" stroke-width="0.5"/>`);
    if (kinds) {
      for (const [a, b] of spansOf(kinds)) out.push(`<rect x="${(a * s).toFixed(2)}" y="-7" width="${Math.max(1, (b - a + 1) * s).toFixed(2)}" height="4" fill="${SPAN_COLOR}"/>`);
    }
    // Bars in position units (integers), scaled once by the group: keeps the file small.
    out.push(`<g fill="#1f3b73" fill-opacity="${opacity}" transform="scale(${s.toFixed(6)})">`);
    for (const h of heads) {
      const ev = trace.evictedAt[l]![h]!;
      if (width === 1) {
        for (let p = 0; p < n; p++) {
          const end = ev[p]! < 0 ? n : ev[p]!;
          const colour = kinds?.[p] === 2 ? ` fill="${SPAN_COLOR}"` : kinds?.[p] === 1 ? ` fill="${CL_COLOR}"` : '';
          if (end > p) out.push(`<rect x="${p}" y="${p}" width="1" height="${end - p}"${colour}/>`);
        }
        continue;
      }
      for (let p0 = 0; p0 < n; p0 += width) {
        const ends = Float64Array.from({ length: Math.min(width, n - p0) }, (_, i) => (ev[p0 + i]! < 0 ? n : ev[p0 + i]!)).sort();
        for (let q = 0; q < QUANTILES; q++) {
          const end = ends[Math.floor(((q + 0.5) / QUANTILES) * ends.length)]!;
          if (end > p0) out.push(`<rect x="${p0}" y="${p0}" width="${Math.min(width, n - p0)}" height="${end - p0}" fill-opacity="${1 / QUANTILES}"/>`);
        }
      }
    }
    out.push(`</g>`);
    const sm = summary[l]!;
    const first = firstTokenText(sm.firstTokenEvictedAt);
    out.push(`<text x="0" y="${panel + 16}" font-weight="bold">layer ${l}</text>`);
    out.push(`<text x="0" y="${panel + 31}">first token: ${esc(first)}</text>`);
    out.push(`<text x="0" y="${panel + 46}">recent-k share: ${(100 * sm.recentShareMean).toFixed(0)}% (final ${(100 * sm.recentShareFinal).toFixed(0)}%)</text>`);
    out.push(`</g>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
