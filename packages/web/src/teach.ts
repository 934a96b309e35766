// Teaching mode: one RNN step as a table, per layer: state_{t-1} -> token -> new entry ->
// attention of the new query -> entry the policy drops -> state_t.
import type { FromWorker } from './protocol.js';

type Teach = Extract<FromWorker, { type: 'teach' }>;

export function renderTeach(el: HTMLElement, m: Teach, piece: (position: number) => string): void {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const pos = (p: number, cls = '') => `<span class="${cls}" title="${esc(JSON.stringify(piece(p)))}">${p}</span>`;
  const rows = m.layers.map((l, i) => {
    const top = l.attention.map((a, j) => [a, l.attended[j]!] as const)
      .sort((x, y) => y[0] - x[0]).slice(0, 3).map(([a, p]) => `${pos(p)} ${a.toFixed(2)}`).join(', ');
    return `<tr><th>layer ${i}</th><td>${l.before.map((p) => pos(p, l.evicted.includes(p) ? 'gone' : '')).join(' ')}</td>`
      + `<td class="new">${pos(l.newEntry)} ${esc(JSON.stringify(m.piece))}</td><td>${top}</td>`
      + `<td>${l.evicted.length ? l.evicted.map((p) => `${pos(p, 'gone')} ${esc(JSON.stringify(piece(p)))}`).join(', ') : '—'}</td>`
      + `<td>${l.after.map((p) => pos(p, p === l.newEntry ? 'new' : '')).join(' ')}</td></tr>`;
  }).join('');
  el.innerHTML = `<p>step t = ${m.position}: token <b>${esc(JSON.stringify(m.piece))}</b> (id ${m.token}) enters as a new entry in every layer.</p>`
    + `<table><thead><tr><th></th><th>state<sub>t−1</sub> (positions)</th><th>new entry</th><th>attention of the new query (top 3)</th>`
    + `<th>evicted</th><th>state<sub>t</sub></th></tr></thead><tbody>${rows}</tbody></table>`;
}
