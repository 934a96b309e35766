// models/recall, the model the recall experiment of docs/results.md runs on: with the full state it
// copies most digits of a passkey seen ~170 tokens earlier; once a 16-entry window has moved past the
// key it can only guess (5 random digits: nothing else in the text predicts them).
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getPolicy } from '@msrnn/policies';
import { argmax, createState, loadModel, loadTokenizer, prefill } from '@msrnn/transformer';
import type { Policy } from '@msrnn/msrnn';
import { factSurvival } from '../src/recall/fact-trace.js';
import { makeCases, type RecallCase } from '../src/recall/harness.js';
import { repoRoot } from './run-cli.js';

const model = await loadModel(resolve(repoRoot, 'models/recall/model.bin'));
const tokenizer = await loadTokenizer(resolve(repoRoot, 'models/recall/tokenizer.bin'));
const cases = makeCases(tokenizer, { tasks: ['passkey'], sizes: [128], depths: [0], perCell: 4, seed: 11, haystack: '', maxTokens: model.config.seqLen });

/** Answer tokens that are the argmax given the exact prefix (teacher-forced), over all cases. */
function digitsRight(policy: Policy, list: RecallCase[]): number {
  let right = 0;
  for (const c of list) {
    const { ids, answerFrom } = c.encoded;
    prefill(model, createState(model, { policy }), ids.slice(0, -1), {
      onLogits(position, logits) {
        if (position + 1 >= answerFrom && argmax(logits, model.config.vocabSize) === ids[position + 1]) right++;
      },
    });
  }
  return right;
}

test('recall model: a passkey\'s digits copied with the full state, guessed once the key has left a window', () => {
  const digits = cases.length * 5;
  const full = digitsRight(getPolicy('full'), cases);
  const window = getPolicy('window', { capacity: 16 });
  const bounded = digitsRight(window, cases);
  assert.ok(full >= 0.6 * digits, `full state: ${full} of ${digits} digits`);
  assert.ok(bounded <= 0.3 * digits, `window k=16: ${bounded} of ${digits} digits`);
  for (const c of cases) assert.is(factSurvival(model, window, c).keptTokens, 0, 'the key is ~170 tokens back: out of a 16-entry window');
});

test.run();
