// Tables of a sweep: CSV (one row per run) and markdown (policies × budgets, the paper's Table 3 shape).
import { budgetLabel } from './runs.js';
import type { RunResult } from './sweep.js';

/** chunk_nll: each chunk's mean NLL, ";"-separated, for paired comparisons between policies. */
export const CSV_COLUMNS = ['text', 'policy', 'capacity', 'ratio', 'budget', 'prefill', 'prompt', 'ppl', 'mean_nll', 'predictions', 'mean_kept', 'chunk_nll'] as const;

function csvField(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv(text: string, results: RunResult[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of results) {
    const cap = r.run.policy === 'full' ? 'full' : r.run.capacity;
    lines.push([text, r.run.policy, cap, r.run.ratio, budgetLabel(r.run), r.run.prefill, r.run.prompt,
      r.ppl.toFixed(6), r.meanNll.toFixed(8), r.predictions, r.meanKept.toFixed(2), r.chunkMeanNll.map((x) => x.toFixed(6)).join(';')].map(csvField).join(','));
  }
  return lines.join('\n') + '\n';
}

/** Budget columns in a stable order: fixed capacities ascending, then ratios, then full. */
export function budgetColumns(results: RunResult[]): string[] {
  const caps = [...new Set(results.filter((r) => r.run.capacity !== null).map((r) => r.run.capacity!))].sort((a, b) => a - b);
  const ratios = [...new Set(results.filter((r) => r.run.ratio !== null).map((r) => r.run.ratio!))].sort((a, b) => a - b);
  const cols = [...caps.map(String), ...ratios.map((x) => `r=${x}`)];
  if (results.some((r) => r.run.policy === 'full')) cols.push('full');
  return cols;
}

/** Rows = policies, columns = budgets, cells = perplexity; the full model's value repeats in its own column. */
export function toMarkdown(title: string, results: RunResult[]): string {
  const cols = budgetColumns(results);
  const policies = [...new Set(results.map((r) => r.run.policy))];
  const cell = new Map(results.map((r) => [`${r.run.policy}|${budgetLabel(r.run)}`, r.ppl]));
  const lines = [`| ${title} | ${cols.map((c) => (c === 'full' || c.startsWith('r=') ? c : `k=${c}`)).join(' | ')} |`, `|---|${cols.map(() => '---:').join('|')}|`];
  for (const p of policies) {
    const vals = cols.map((c) => {
      const v = cell.get(`${p}|${c}`);
      return v === undefined ? '' : v.toFixed(3);
    });
    lines.push(`| ${p} | ${vals.join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}
