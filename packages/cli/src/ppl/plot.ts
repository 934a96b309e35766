// Perplexity vs capacity, one line per policy, log axes (the paper's Figure 3), as hand-written
// SVG: no plotting dependency, and the file diffs and renders anywhere (GitHub included).
import { esc, PALETTE, svgStart } from '../svg.js';
import type { RunResult } from './sweep.js';

/** Axis ticks: 1-2-5 per decade over wide ranges; round linear steps when the range is under a decade. */
function logTicks(lo: number, hi: number): number[] {
  if (hi / lo >= 10) {
    const ticks: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of [1, 2, 5]) {
        const t = m * 10 ** e;
        if (t >= lo && t <= hi) ticks.push(t);
      }
    }
    return ticks;
  }
  const raw = (hi - lo) / 5, e = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * e).find((x) => x >= raw)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** Fixed-capacity runs as lines; the full model as a dashed horizontal reference. Ratio runs are not plotted (see the CSV). */
export function toSvg(title: string, results: RunResult[], hidden: string[] = []): string {
  const W = 640, H = 420, L = 64, R = 150, T = 40, B = 50;
  const fixed = results.filter((r) => r.run.capacity !== null && r.run.policy !== 'full');
  const full = results.find((r) => r.run.policy === 'full');
  const caps = [...new Set(fixed.map((r) => r.run.capacity!))].sort((a, b) => a - b);
  const ppls = [...fixed.map((r) => r.ppl), ...(full ? [full.ppl] : [])];
  if (caps.length === 0 || ppls.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="60"><text x="10" y="30">${esc(title)}: no fixed-capacity runs to plot</text></svg>\n`;
  const xLo = caps[0]!, xHi = Math.max(caps[caps.length - 1]!, xLo * 2);
  const yLo = Math.min(...ppls) / 1.05, yHi = Math.max(...ppls) * 1.05;
  const x = (c: number) => L + ((Math.log(c) - Math.log(xLo)) / (Math.log(xHi) - Math.log(xLo))) * (W - L - R);
  const y = (p: number) => T + (1 - (Math.log(p) - Math.log(yLo)) / (Math.log(yHi) - Math.log(yLo))) * (H - T - B);
  const out = svgStart(W, H, 12);
  out.push(`<text x="${L}" y="22" font-size="14" font-weight="bold">${esc(title)}</text>`);
  // Axes, grid and ticks.
  out.push(`<g stroke="#ddd">`);
  for (const c of caps) out.push(`<line x1="${x(c).toFixed(1)}" y1="${T}" x2="${x(c).toFixed(1)}" y2="${H - B}"/>`);
  const yt = logTicks(yLo, yHi);
  for (const t of yt) out.push(`<line x1="${L}" y1="${y(t).toFixed(1)}" x2="${W - R}" y2="${y(t).toFixed(1)}"/>`);
  out.push(`</g>`);
  out.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#333"/>`);
  for (const c of caps) out.push(`<text x="${x(c).toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${c}</text>`);
  for (const t of yt) out.push(`<text x="${L - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">capacity k (entries per layer, log scale)</text>`);
  out.push(`<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">perplexity (log scale)</text>`);
  // Lines.
  const policies = [...new Set(fixed.map((r) => r.run.policy))];
  let legendY = T + 8;
  const legend = (label: string, color: string, dashed: boolean) => {
    out.push(`<line x1="${W - R + 12}" y1="${legendY}" x2="${W - R + 36}" y2="${legendY}" stroke="${color}" stroke-width="2"${dashed ? ' stroke-dasharray="5 4"' : ''}/>`);
    out.push(`<text x="${W - R + 42}" y="${legendY + 4}">${esc(label)}</text>`);
    legendY += 18;
  };
  if (full) {
    out.push(`<line x1="${L}" y1="${y(full.ppl).toFixed(1)}" x2="${W - R}" y2="${y(full.ppl).toFixed(1)}" stroke="#000" stroke-width="1.5" stroke-dasharray="5 4"/>`);
    legend(`full (${fmt(full.ppl)})`, '#000', true);
  }
  policies.forEach((p, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const pts = fixed.filter((r) => r.run.policy === p).sort((a, b) => a.run.capacity! - b.run.capacity!);
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((r) => `${x(r.run.capacity!).toFixed(1)},${y(r.ppl).toFixed(1)}`).join(' ')}"/>`);
    for (const r of pts) out.push(`<circle cx="${x(r.run.capacity!).toFixed(1)}" cy="${y(r.ppl).toFixed(1)}" r="3" fill="${color}"><title>${esc(`${p} k=${r.run.capacity}: ${r.ppl.toFixed(3)}`)}</title></circle>`);
    legend(p, color, false);
  });
  if (hidden.length > 0) out.push(`<text x="${W - R + 12}" y="${legendY + 8}" fill="#666">not drawn: ${esc(hidden.join(', '))}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
