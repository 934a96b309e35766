// Recall tasks: seeded, the scored answer is the fact the text states, the prompt's tokens are a
// prefix of the whole text's tokens, and the training files tools/train/recall.py reads hold
// exactly those tokens.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadTokenizer } from '@msrnn/transformer';
import { encodeExample } from '../src/recall/encode.js';
import { assocExample, needleExample, passkeyExample, TaskRng } from '../src/recall/tasks.js';
import { drawTrainingExample, makeTrainingData, TRAINING_FORMAT, writeTrainingData } from '../src/recall/training-data.js';

const tokenizer = await loadTokenizer(resolve(import.meta.dirname, '../../../models/default/tokenizer.bin'));
const haystack = 'It was a truth universally acknowledged.\nShe walked to the window.\n'.repeat(200);

test('assoc: the answer is the value listed for the asked key, at the asked depth', () => {
  for (let seed = 0; seed < 50; seed++) {
    const e = assocExample(new TaskRng(seed), { pairs: 20, queries: 3, depth: (seed % 11) / 10 });
    const prompt = e.text.slice(0, e.answerStart), answer = e.text.slice(e.answerStart);
    const key = /(k\d+)=$/.exec(prompt)![1]!;
    const listed = new Map(/Pairs: (.*)\.\n/.exec(prompt)![1]!.split(', ').map((p) => p.split('=') as [string, string]));
    assert.is(listed.size, 20);
    assert.is(listed.get(key), answer);
    const index = [...listed.keys()].indexOf(key);
    assert.is(index, Math.min(19, Math.floor(((seed % 11) / 10) * 20)));
    assert.is(e.depth, index / 19);
    assert.is((prompt.match(/Ask: (.*)$/)![1]!.match(/=/g) ?? []).length, 3);
  }
});

test('passkey and needle: the number stated in the text is the answer; depth places it', () => {
  const p = passkeyExample(new TaskRng(3), { fillers: 10, depth: 0.3 });
  const key = p.text.slice(p.answerStart);
  assert.match(key, /^\d{5}$/);
  assert.ok(p.text.includes(`The pass key is ${key}. Remember it.`));
  assert.is(p.depth, 0.3);
  assert.is(p.text.indexOf('The pass key is'), 3 * 'The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.\n'.length);
  const n = needleExample(new TaskRng(4), haystack, { chars: 2000, depth: 0.5 });
  const code = n.text.slice(n.answerStart);
  assert.match(code, /^\d{5}$/);
  const at = n.text.indexOf(`The secret code is ${code}.\n`);
  assert.ok(at > 900 && at < 1100, `needle at ${at}`);
  assert.ok(n.text.endsWith(`What is the secret code? The secret code is ${code}`));
});

test('the same seed gives the same examples, another seed others', () => {
  const draw = (seed: number) => {
    const rng = new TaskRng(seed);
    return [drawTrainingExample(rng, 'assoc', 512, haystack), drawTrainingExample(rng, 'passkey', 512, haystack), drawTrainingExample(rng, 'needle', 512, haystack)];
  };
  assert.equal(draw(7), draw(7));
  assert.not.equal(draw(7), draw(8));
});

test('bad task parameters are clear errors', () => {
  const rng = new TaskRng(1);
  assert.throws(() => assocExample(rng, { pairs: 0 }), /pairs must be an integer in \[1, 1000\]/);
  assert.throws(() => assocExample(rng, { pairs: 3, queries: 4 }), /queries must be an integer in \[1, pairs=3\]/);
  assert.throws(() => assocExample(rng, { pairs: 3, depth: 1.5 }), /depth must be in \[0, 1\]/);
  assert.throws(() => passkeyExample(rng, { fillers: -1 }), /fillers must be an integer/);
  assert.throws(() => needleExample(rng, 'short', { chars: 100 }), /haystack text has 5 characters/);
  assert.throws(() => new TaskRng(0.5), /seed must be an integer/);
});

test('encoded: the prompt\'s tokens are a prefix of the whole text\'s, the answer is the rest', () => {
  const rng = new TaskRng(11);
  for (let i = 0; i < 60; i++) {
    const ex = drawTrainingExample(rng, (['assoc', 'passkey', 'needle'] as const)[i % 3]!, 400, haystack);
    const e = encodeExample(tokenizer, ex);
    assert.equal(e.ids, tokenizer.encode(ex.text));
    assert.is(tokenizer.decode(e.ids.slice(e.answerFrom)), ex.text.slice(ex.answerStart));
  }
  // A format whose answer merges with the prompt is refused, not silently mis-scored.
  assert.throws(() => encodeExample(tokenizer, { task: 'assoc', text: 'The house', answerStart: 6, depth: 0 }), /not a prefix/);
});

test('training files: uint16 ids back to back, the index points at each example', () => {
  const data = makeTrainingData(tokenizer, { count: 9, seed: 5, maxTokens: 300, haystack });
  const dir = mkdtempSync(join(tmpdir(), 'msrnn-recall-'));
  writeTrainingData(join(dir, 'train'), data, { seed: 5 });
  const bytes = readFileSync(join(dir, 'train.bin'));
  const index = JSON.parse(readFileSync(join(dir, 'train.json'), 'utf8'));
  assert.is(index.format, TRAINING_FORMAT);
  assert.is(index.tokens * 2, bytes.length);
  assert.equal(index.examples.map((e: { task: string }) => e.task), ['assoc', 'passkey', 'needle', 'assoc', 'passkey', 'needle', 'assoc', 'passkey', 'needle']);
  const rng = new TaskRng(5);
  for (const [i, e] of index.examples.entries()) {
    assert.ok(e.length <= 300);
    const ids = Array.from({ length: e.length }, (_, j) => bytes.readUInt16LE(2 * (e.offset + j)));
    assert.is(ids[0], 1);
    // Same draws again (examples over maxTokens are drawn again in the same order).
    let ex, enc;
    do {
      ex = drawTrainingExample(rng, e.task, 300, haystack);
      enc = encodeExample(tokenizer, ex);
    } while (enc.ids.length > 300);
    assert.equal(ids, enc.ids, `example ${i}`);
    assert.is(e.answerFrom, enc.answerFrom);
  }
  assert.throws(() => makeTrainingData(tokenizer, { count: 0, seed: 1, maxTokens: 300, haystack }), /count must be a positive integer/);
});

test.run();
