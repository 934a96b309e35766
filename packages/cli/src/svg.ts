// What the hand-written SVG figures share (ppl's plot, recall's figures, trace's heatmap): no
// plotting dependency, and the files diff and render anywhere (GitHub included).

/** Line colours, one per policy, in order (matplotlib's tab10). */
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

/** Text made safe inside SVG markup. */
export function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** The first lines of a W × H figure on white, sans-serif at `fontSize` px (the caller closes it with </svg>). */
export function svgStart(W: number, H: number, fontSize: number): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="${fontSize}">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
}
