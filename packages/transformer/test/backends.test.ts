// The model runs only through Backend kernels: with the WebAssembly SIMD backend everything lives
// in its memory (weights, state, scratch), bounded and re-indexed states and clones included.
// (The fixtures themselves run on every backend in fixtures.test.ts.)
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getPolicy } from '@msrnn/policies';
import { createWasmBackend } from '@msrnn/tensor';
import { createState, generate, loadModel, loadTokenizer, prefill, step } from '../src/index.js';
import { haveShared, paths } from './shared.js';

const greedyPath = resolve(paths.fixtures, 'greedy.json');

if (haveShared('backends', paths.model, paths.tokenizer, greedyPath)) {
  const backend = await createWasmBackend();
  const model = await loadModel(paths.model, { backend });
  const tokenizer = await loadTokenizer(paths.tokenizer);
  const greedy = JSON.parse(readFileSync(greedyPath, 'utf8'));

  test('wasm: bounded state, reindex positions, clone and generate all run in backend memory', async () => {
    const state = createState(model, { policy: getPolicy('window', { capacity: 8 }), positionMode: 'reindex' });
    prefill(model, state, greedy.runs[0].prompt_tokens);
    const branch = state.clone();
    for (let i = 0; i < 40; i++) step(model, branch, 300 + i);
    assert.is(branch.bytes(), state.bytes());
    let text = '';
    for await (const p of generate(model, tokenizer, createState(model), tokenizer.encode('The little dog'), { temperature: 0, maxNewTokens: 20 })) text += p.text;
    assert.ok(greedy.runs[2].generated_text.startsWith(text), text);
  });
}

test.run();
