// msrnn recall-trace: the fact is the earlier occurrence of the answer with its context, and which
// heads hold it at the question agrees with what each policy must keep (checked by arithmetic).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getPolicy } from '@msrnn/policies';
import { loadModel, loadTokenizer } from '@msrnn/transformer';
import { factPositions, factSurvival } from '../src/recall/fact-trace.js';
import { makeCases } from '../src/recall/harness.js';
import { msrnn, msrnnOk, repoRoot } from './run-cli.js';

const modelPath = resolve(repoRoot, 'models/default/model.bin');
const model = await loadModel(modelPath);
const tokenizer = await loadTokenizer(resolve(repoRoot, 'models/default/tokenizer.bin'));
const [passkey, assoc] = makeCases(tokenizer, { tasks: ['passkey', 'assoc'], sizes: [96], depths: [0], perCell: 1, seed: 5, haystack: '', maxTokens: 2048 });

test('the fact: the answer\'s earlier occurrence with the context the question repeats', () => {
  const key = tokenizer.decode(passkey!.encoded.ids.slice(passkey!.encoded.answerFrom));
  assert.match(key, /^\d{5}$/);
  const fact = factPositions(passkey!);
  assert.is(tokenizer.decode(passkey!.encoded.ids.slice(fact[0]!, fact.at(-1)! + 1)).trim(), `The pass key is ${key}`);
  const a = factPositions(assoc!);
  const value = tokenizer.decode(assoc!.encoded.ids.slice(assoc!.encoded.answerFrom));
  const text = tokenizer.decode(assoc!.encoded.ids.slice(a[0]!, a.at(-1)! + 1));
  assert.ok(text.endsWith(`=${value}`) && /k\d+=/.test(text), text);
  assert.ok(a.at(-1)! < assoc!.encoded.answerFrom);
});

test('held at the question: every head under full, none under a window that has moved past the fact', () => {
  const full = factSurvival(model, getPolicy('full'), passkey!);
  assert.equal(full.wholeFactHeads, Array(model.config.nLayers).fill(model.config.nKvHeads));
  assert.is(full.keptTokens, full.fact.length * model.config.nLayers * model.config.nKvHeads);
  const k = 8;
  const win = factSurvival(model, getPolicy('window', { capacity: k }), passkey!);
  // a window of k holds positions asked-k+1..asked after step `asked`
  const inWindow = win.fact.filter((p) => p > win.asked - k).length;
  assert.is(win.keptTokens, inWindow * model.config.nLayers * model.config.nKvHeads);
  assert.equal(win.wholeFactHeads, Array(model.config.nLayers).fill(0));
});

test('msrnn recall-trace: table and SVGs written; bad input refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'msrnn-recall-trace-'));
  const r = await msrnnOk('recall-trace', '--model', modelPath, '--size', '64', '--policies', 'full,window', '--capacity', '8', '--svg', join(dir, 't'));
  assert.match(r.stdout, /^\| window \| (yes|no) \| (0\/2 ){7}0\/2 \| 0 \|$/m);
  assert.match(readFileSync(join(dir, 't-window.svg'), 'utf8'), /<svg/);
  assert.match((await msrnn('recall-trace', '--task', 'copy')).stderr, /unknown task "copy"/);
  assert.match((await msrnn('recall-trace', '--policies', 'lru')).stderr, /unknown policy "lru"/);
  assert.match((await msrnn('recall-trace', '--depth', '1.5')).stderr, /--depth: "1.5" is not a fraction in \[0, 1\]/);
});

test.run();
