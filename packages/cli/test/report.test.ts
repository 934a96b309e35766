// Table and plot writers of msrnn ppl, on hand-made results.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toSvg } from '../src/ppl/plot.js';
import { budgetColumns, toCsv, toMarkdown } from '../src/ppl/report.js';
import type { RunSpec } from '../src/ppl/runs.js';
import type { RunResult } from '../src/ppl/sweep.js';

const base: Omit<RunSpec, 'policy' | 'capacity' | 'ratio'> = { sinks: 4, seed: 0, prefill: 'exact', prompt: 0 };
const result = (policy: string, capacity: number | null, ratio: number | null, ppl: number): RunResult => ({
  run: { policy, capacity, ratio, ...base }, meanNll: Math.log(ppl), ppl, predictions: 10, meanKept: capacity ?? 5, chunkMeanNll: [Math.log(ppl)],
});
const results = [
  result('window', 64, null, 3), result('full', null, null, 2.5), result('window', 16, null, 4),
  result('tova', 16, null, 5), result('local', null, 0.25, 3.5),
];

test('budget columns: capacities ascending, then ratios, then full', () => {
  assert.equal(budgetColumns(results), ['16', '64', 'r=0.25', 'full']);
});

test('markdown: one row per policy in run order, a cell per budget it ran', () => {
  const md = toMarkdown('T', results).trim().split('\n');
  assert.is(md[0], '| T | k=16 | k=64 | r=0.25 | full |');
  assert.is(md[2], '| window | 4.000 | 3.000 |  |  |');
  assert.is(md[3], '| full |  |  |  | 2.500 |');
  assert.is(md[4], '| tova | 5.000 |  |  |  |');
  assert.is(md[5], '| local |  |  | 3.500 |  |');
});

test('CSV: header, full as capacity "full", fields with commas quoted', () => {
  const rows = toCsv('a,b "c".txt', results).trim().split('\n');
  assert.is(rows[0], 'text,policy,capacity,ratio,budget,prefill,prompt,ppl,mean_nll,predictions,mean_kept,chunk_nll');
  assert.is(rows[2], `"a,b ""c"".txt",full,full,,full,exact,0,2.500000,${Math.log(2.5).toFixed(8)},10,5.00,${Math.log(2.5).toFixed(6)}`);
  assert.match(rows[5]!, /,local,,0\.25,r=0\.25,/);
});

test('SVG: a line per fixed-capacity policy, full as a dashed reference, points ordered by capacity on a log axis', () => {
  const svg = toSvg('T', results, ['knorm']);
  assert.is((svg.match(/<polyline/g) ?? []).length, 2);
  assert.match(svg, /stroke-dasharray="5 4"/);
  assert.match(svg, /not drawn: knorm/);
  const pts = /<polyline[^>]*points="([^"]+)"/.exec(svg)![1]!.split(' ').map((p) => p.split(',').map(Number));
  assert.ok(pts[0]![0]! < pts[1]![0]!, 'x grows with capacity');
  assert.ok(pts[0]![1]! < pts[1]![1]!, 'higher perplexity is drawn higher (smaller y)');
});

test.run();
