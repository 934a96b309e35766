// The page's comparison (src/compare.ts) in Node: the prompt is read once and policy B continues
// from a clone of that state; each side's generated text must equal `msrnn generate` (the CLI,
// in-process) under that policy alone, and its log-probabilities of the reference must equal a
// float64 log-softmax over a run of that policy alone. Where cloning would not be exact (B keeps
// statistics, or the prompt overflowed a budget) B reads the prompt itself and says why.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getPolicy } from '@msrnn/policies';
import { createState, loadModel, loadTokenizer, prefill, step } from '@msrnn/transformer';
import { msrnnOk } from '../../cli/test/run-cli.js';
import { haveShared, paths } from '../../transformer/test/shared.js';
import { comparePolicies } from '../src/compare.js';

const greedyPath = resolve(paths.fixtures, 'greedy.json');
const STEPS = 24;
const REFERENCE = ' She smiled and said they would play again tomorrow.';

if (haveShared('compare', paths.model, paths.tokenizer, greedyPath)) {
  const prompt: string = JSON.parse(readFileSync(greedyPath, 'utf8')).runs[0].prompt;
  const model = await loadModel(paths.model);
  const tokenizer = await loadTokenizer(paths.tokenizer, { vocabSize: model.config.vocabSize });
  const logitsOut = new Float32Array(model.config.vocabSize);
  const promptTokens = tokenizer.encode(prompt);

  /** The CLI's greedy run under one policy. */
  const cli = async (policy: string, capacity: number | null) => JSON.parse((await msrnnOk('generate', '--model', paths.model, '--tokenizer', paths.tokenizer,
    '--prompt', prompt, '--steps', String(STEPS), '--temperature', '0', '--policy', policy, ...(capacity ? ['--capacity', String(capacity)] : []), '--json')).stdout);

  /** log p(reference) under one policy alone, float64 log-softmax. */
  function referenceLogprobs(policy: ReturnType<typeof getPolicy>): number[] {
    const state = createState(model, { policy });
    let logits = prefill(model, state, promptTokens);
    return tokenizer.encode(REFERENCE, { bos: false }).map((t) => {
      let max = -Infinity, z = 0;
      for (const v of logits) max = Math.max(max, v);
      for (const v of logits) z += Math.exp(v - max);
      const lp = logits[t]! - max - Math.log(z);
      logits = step(model, state, t);
      return lp;
    });
  }

  async function check(a: string, b: string, capacity: number, bShared: boolean) {
    const policy = (name: string) => (name === 'full' ? getPolicy('full') : getPolicy(name, { capacity }));
    const r = await comparePolicies(model, tokenizer, policy(a), policy(b), { prompt, reference: REFERENCE, steps: STEPS, sampling: { temperature: 0 }, logitsOut });
    assert.is(r.b.shared, bShared, `${b} continued from ${a}'s prompt state: ${r.b.note}`);
    for (const side of [r.a, r.b]) {
      const expected = await cli(side.policy, side.policy === 'full' ? null : capacity);
      assert.equal(side.tokens, expected.generated_tokens, `${side.policy} tokens = the CLI's`);
      assert.is(side.text, expected.text, `${side.policy} text = the CLI's`);
      const lp = referenceLogprobs(policy(side.policy));
      assert.is(side.logprobs.length, lp.length);
      const diff = Math.max(...lp.map((v, i) => Math.abs(v - side.logprobs[i]!)));
      assert.ok(diff < 1e-5, `${side.policy}: max |log-prob diff| ${diff}`);
    }
    assert.is(r.referencePieces.length, r.a.logprobs.length);
    return r;
  }

  test(`tova vs window, k=16 (the ${promptTokens.length}-token prompt fits): B continues from A's prompt state, both equal the CLI`, async () => {
    const r = await check('tova', 'window', 16, true);
    assert.is(r.b.note, null);
    assert.not.equal(r.a.logprobs, r.b.logprobs, 'the policies differ on the reference');
  });

  test('full vs sinks, k=8: continues from the unbounded prompt state', async () => {
    await check('full', 'sinks', 8, true);
  });

  test('B keeps per-entry statistics (h2o), or the prompt overflowed the budget: B reads the prompt itself, says why, still equals the CLI', async () => {
    assert.match((await check('tova', 'h2o', 16, false)).b.note ?? '', /h2o.*per-entry statistics.*read the prompt itself/);
    assert.ok(promptTokens.length > 4);
    assert.match((await check('window', 'tova', 4, false)).b.note ?? '', /has already evicted entries/);
  });

  test('bad input: an empty reference is a clear error', async () => {
    const p = getPolicy('window', { capacity: 8 });
    let message = '';
    try { await comparePolicies(model, tokenizer, p, p, { prompt, reference: '', steps: 4, sampling: {}, logitsOut }); } catch (e) { message = (e as Error).message; }
    assert.match(message, /the reference text encodes to no tokens/);
  });
}

test.run();
