// msrnn recall: the harness's verdict equals an independent greedy check by step(), a window that
// never has to evict changes nothing, and the command writes its CSV and plots or refuses bad input.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getPolicy } from '@msrnn/policies';
import { argmax, createState, loadModel, loadTokenizer, step } from '@msrnn/transformer';
import { makeCases, runRecall, solves } from '../src/recall/harness.js';
import { msrnn, msrnnOk, repoRoot } from './run-cli.js';

const modelPath = resolve(repoRoot, 'models/default/model.bin');
const model = await loadModel(modelPath);
const tokenizer = await loadTokenizer(resolve(repoRoot, 'models/default/tokenizer.bin'));
const haystack = 'Anne looked at the sea and said nothing for a while.\n'.repeat(100);
const cases = makeCases(tokenizer, { tasks: ['assoc', 'passkey', 'needle'], sizes: [48, 96], depths: [0, 1], perCell: 1, seed: 3, haystack, maxTokens: 2048 });

test('cases: one per task, size and depth, about the asked size, seeded', () => {
  assert.is(cases.length, 12);
  for (const c of cases) assert.ok(c.encoded.ids.length > c.length / 2 && c.encoded.ids.length < c.length * 2, `${c.task} ${c.length}: ${c.encoded.ids.length} tokens`);
  const again = makeCases(tokenizer, { tasks: ['assoc', 'passkey', 'needle'], sizes: [48, 96], depths: [0, 1], perCell: 1, seed: 3, haystack, maxTokens: 2048 });
  assert.equal(again.map((c) => c.encoded.ids), cases.map((c) => c.encoded.ids));
  assert.throws(() => makeCases(tokenizer, { tasks: ['passkey'], sizes: [500], depths: [0], perCell: 1, seed: 1, haystack, maxTokens: 100 }), /more than the model's context 100/);
});

test('solves = every answer token is the argmax of step() on the exact prefix', () => {
  for (const c of cases.slice(0, 6)) {
    const state = createState(model);
    let ok = true;
    const ids = c.encoded.ids;
    for (let i = 0; i < ids.length - 1; i++) {
      const logits = step(model, state, ids[i]!);
      if (i + 1 >= c.encoded.answerFrom && argmax(logits, model.config.vocabSize) !== ids[i + 1]) ok = false;
    }
    assert.is(solves(model, getPolicy('full'), c), ok);
  }
});

test('a window larger than every example gives the full state\'s verdicts; totals add up', () => {
  const results = runRecall(model, cases, ['full', 'window'], [4096]);
  for (const r of results.filter((x) => x.policy === 'window')) {
    const full = results.find((x) => x.policy === 'full' && x.task === r.task && x.length === r.length && x.depth === r.depth)!;
    assert.is(r.solved, full.solved);
    assert.is(r.total, 1);
  }
  assert.is(results.length, 24);
});

test('msrnn recall: CSV and plots written; bad input refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'msrnn-recall-'));
  const hay = join(dir, 'hay.txt');
  (await import('node:fs')).writeFileSync(hay, haystack);
  const args = ['recall', '--model', modelPath, '--sizes', '48', '--depths', '0,1', '--examples', '1', '--policies', 'full,window', '--capacities', '8,16', '--haystack', hay];
  const r = await msrnnOk(...args, '--csv', join(dir, 'r.csv'), '--svg', join(dir, 'acc.svg'), '--heatmap', join(dir, 'hm.svg'));
  assert.match(r.stdout, /^assoc: full full:[\d.]+ \| window k=8:[\d.]+ k=16:[\d.]+$/m);
  const csv = readFileSync(join(dir, 'r.csv'), 'utf8').trim().split('\n');
  assert.is(csv.length, 1 + 3 * 2 * 3); // 3 tasks × 2 depths × (full + window at 2 capacities)
  for (const t of ['assoc', 'passkey', 'needle']) assert.ok(existsSync(join(dir, `acc-${t}.svg`)));
  assert.match(readFileSync(join(dir, 'hm.svg'), 'utf8'), /depth 1/);
  assert.match((await msrnn('recall', '--tasks', 'copy')).stderr, /unknown task "copy"/);
  assert.match((await msrnn('recall', '--policies', 'lru')).stderr, /unknown policy "lru"/);
  assert.match((await msrnn('recall', '--depths', '2')).stderr, /--depths: "2" is not a fraction in \[0, 1\]/);
  assert.match((await msrnn(...args, '--heatmap', join(dir, 'x.svg'), '--heatmap-policy', 'tova:8')).stderr, /no needle results for it/);
});

test.run();
