// The RNN-view example runs, (a) == (b) to float tolerance, (c)'s bounded state stays constant, and
// (d)'s hand-written append / attend / compress step is step().
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadModel, loadTokenizer } from '@msrnn/transformer';
import { haveShared, sharedPath } from '../../scripts/shared-data.js';
import { rnnView } from '../rnn-view.js';

const modelPath = sharedPath('models/stories260K.bin');
const tokenizerPath = sharedPath('models/tok512.bin');

if (haveShared('rnn-view', modelPath, tokenizerPath)) test('rnn-view: parallel == RNN logits; bounded state size constant while the text grows', async () => {
  const model = await loadModel(modelPath);
  const tokenizer = await loadTokenizer(tokenizerPath);
  const lines: string[] = [];
  const r = rnnView(model, tokenizer, { totalTokens: 300, window: 16, log: (s) => lines.push(s) });
  assert.ok(r.maxAbsDiff < 1e-4, `max |diff| ${r.maxAbsDiff}`);
  assert.ok(r.sizes.length >= 3);
  const bounded = new Set(r.sizes.map((s) => s.bounded));
  assert.is(bounded.size, 1, 'bounded bytes never change');
  assert.ok(r.sizes.every((s) => s.boundedEntries === 16));
  assert.is(r.sizes.at(-1)!.seen, 300);
  assert.is(r.sizes.at(-1)!.unboundedEntries, 300);
  assert.ok(r.sizes.at(-1)!.unbounded > 4 * r.sizes[0]!.bounded);
  assert.ok(lines.some((l) => l.startsWith('(a) parallel forward')));
  // (d): the hand-written step is step(): the same logits, and layer 0 went 16 → 17 → 16 entries,
  // the window dropping its oldest position (the step ran at position 300, so it keeps 285..300).
  assert.is(r.byHandDiff, 0);
  assert.equal(r.layer0, { afterAppend: 17, afterCompress: 16, evicted: [284] });
});

test.run();
