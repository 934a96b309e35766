// The model runs only through Backend kernels: with the WebAssembly SIMD backend (everything in
// its memory: weights, state, scratch) it reproduces the fixtures like the pure-TS backend.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { slidingWindow } from '@msrnn/msrnn';
import { createWasmBackend, wasmSimdUnavailableReason } from '@msrnn/tensor';
import { argmax, createState, generate, loadModel, loadTokenizer, prefill, step } from '../src/index.js';
import { haveShared, maxAbsDiff, paths } from './shared.js';

const greedyPath = resolve(paths.fixtures, 'greedy.json');
const logitsPath = resolve(paths.fixtures, 'logits.json');
const unavailable = wasmSimdUnavailableReason();

if (unavailable) {
  test('wasm backend', () => { console.warn(`wasm backend tests SKIPPED: ${unavailable}`); });
} else if (haveShared('backends', paths.model, paths.tokenizer, greedyPath, logitsPath)) {
  const backend = await createWasmBackend();
  const model = await loadModel(paths.model, { backend });
  const tokenizer = await loadTokenizer(paths.tokenizer);
  const greedy = JSON.parse(readFileSync(greedyPath, 'utf8'));
  const logitsFx = JSON.parse(readFileSync(logitsPath, 'utf8'));

  test('wasm: logits within 1e-4 (step and prefill) and greedy runs token for token', () => {
    const state = createState(model);
    let logits: Float32Array = new Float32Array(0);
    for (const t of logitsFx.tokens) logits = step(model, state, t);
    assert.ok(maxAbsDiff(logits, logitsFx.logits_last) < 1e-4, 'step');
    assert.ok(maxAbsDiff(prefill(model, createState(model), logitsFx.tokens, { chunkSize: 3 }), logitsFx.logits_last) < 1e-4, 'prefill');
    for (const run of greedy.runs) {
      const s = createState(model);
      let l = prefill(model, s, run.prompt_tokens);
      const out: number[] = [];
      for (let i = 0; i < run.n_generated; i++) { const t = argmax(l); out.push(t); l = step(model, s, t); }
      assert.equal(out, run.generated_tokens, JSON.stringify(run.prompt));
    }
  });

  test('wasm: bounded state, reindex positions, clone and generate all run in backend memory', async () => {
    const state = createState(model, { capacity: 8, policy: slidingWindow, positionMode: 'reindex' });
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
