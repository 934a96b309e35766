// Hand-written SVG of recall results: accuracy vs capacity (one line per policy, the full cache as a
// dashed level) and a depth × length heatmap for one policy and capacity.
import { esc, PALETTE, svgStart } from '../svg.js';
import type { RecallResult } from './harness.js';


/** Accuracy pooled over sizes and depths, per policy and capacity, for one task. */
export function accuracyByCapacity(results: RecallResult[], task: string): Map<string, Map<number, number>> {
  const sums = new Map<string, Map<number, [number, number]>>();
  for (const r of results) {
    if (r.task !== task) continue;
    const byK = sums.get(r.policy) ?? new Map<number, [number, number]>();
    sums.set(r.policy, byK);
    const s = byK.get(r.capacity) ?? [0, 0];
    byK.set(r.capacity, [s[0] + r.solved, s[1] + r.total]);
  }
  return new Map([...sums].map(([p, m]) => [p, new Map([...m].map(([k, [a, b]]) => [k, a / b]))]));
}

export function accuracySvg(title: string, acc: Map<string, Map<number, number>>): string {
  const W = 640, H = 380, L = 60, R = 150, T = 40, B = 50;
  const ks = [...new Set([...acc.values()].flatMap((m) => [...m.keys()]).filter((k) => k !== Infinity))].sort((a, b) => a - b);
  if (ks.length === 0) throw new Error('accuracy plot: no finite capacity to plot');
  const lo = Math.log2(ks[0]!), hi = Math.max(Math.log2(ks.at(-1)!), lo + 1);
  const x = (k: number) => L + (W - L - R) * (Math.log2(k) - lo) / (hi - lo);
  const y = (a: number) => H - B - (H - T - B) * a;
  const out = [...svgStart(W, H, 11), `<text x="${L}" y="20" font-size="13">${esc(title)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`, `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">capacity (entries per layer)</text>`,
    `<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle">accuracy</text>`];
  for (const a of [0, 0.25, 0.5, 0.75, 1]) out.push(`<text x="${L - 5}" y="${y(a)}" text-anchor="end" dominant-baseline="middle">${a}</text>`);
  for (const k of ks) out.push(`<text x="${x(k)}" y="${H - B + 15}" text-anchor="middle">${k}</text>`);
  [...acc.entries()].forEach(([policy, byK], i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const full = byK.get(Infinity);
    if (full !== undefined) {
      out.push(`<line x1="${L}" y1="${y(full)}" x2="${W - R}" y2="${y(full)}" stroke="${color}" stroke-dasharray="5"/>`);
    } else {
      const pts = ks.filter((k) => byK.has(k)).map((k) => `${x(k).toFixed(1)},${y(byK.get(k)!).toFixed(1)}`);
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.8" points="${pts.join(' ')}"/>`);
    }
    out.push(`<text x="${W - R + 8}" y="${T + 14 * i}" fill="${color}">${esc(policy)}${full !== undefined ? ' (dashed)' : ''}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Needle depth (rows) × length (columns): accuracy as grey level and number. */
export function heatmapSvg(title: string, results: RecallResult[]): string {
  const lengths = [...new Set(results.map((r) => r.length))].sort((a, b) => a - b);
  const depths = [...new Set(results.map((r) => r.depth))].sort((a, b) => a - b);
  const cell = 54, L = 70, T = 40;
  const W = L + cell * lengths.length + 20, H = T + cell * depths.length + 50;
  const out = [...svgStart(W, H, 11), `<text x="10" y="20" font-size="13">${esc(title)}</text>`];
  depths.forEach((d, i) => {
    out.push(`<text x="${L - 6}" y="${T + cell * i + cell / 2}" text-anchor="end" dominant-baseline="middle">depth ${d}</text>`);
    lengths.forEach((n, j) => {
      const rs = results.filter((r) => r.depth === d && r.length === n);
      const acc = rs.reduce((a, r) => a + r.solved, 0) / Math.max(1, rs.reduce((a, r) => a + r.total, 0));
      const g = Math.round(255 - 200 * acc);
      out.push(`<rect x="${L + cell * j}" y="${T + cell * i}" width="${cell - 2}" height="${cell - 2}" fill="rgb(${g},${g},255)"/>`,
        `<text x="${L + cell * j + cell / 2}" y="${T + cell * i + cell / 2}" text-anchor="middle" dominant-baseline="middle">${acc.toFixed(2)}</text>`);
    });
  });
  lengths.forEach((n, j) => out.push(`<text x="${L + cell * j + cell / 2}" y="${T + cell * depths.length + 14}" text-anchor="middle">${n}</text>`));
  out.push(`<text x="${L + (cell * lengths.length) / 2}" y="${H - 10}" text-anchor="middle">context length (tokens, approximate)</text>`, '</svg>');
  return out.join('\n') + '\n';
}
