// The stories260K golden fixtures through the whole model on the WebAssembly SIMD backend
// (1 thread and 2 worker threads): logits within 1e-4 (step and prefill), greedy tokens equal.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, type WasmBackend } from '@msrnn/tensor';
import { slidingWindow } from '@msrnn/msrnn';
import { argmax, createState, loadModel, loadTokenizer, prefill, step, BOS, type Model } from '../src/index.js';
import { haveShared, maxAbsDiff, paths } from './shared.js';

const greedyPath = resolve(paths.fixtures, 'greedy.json');
const logitsPath = resolve(paths.fixtures, 'logits.json');
const policiesPath = resolve(paths.fixtures, 'policies.json');

if (haveShared('wasm fixtures', paths.model, paths.tokenizer, greedyPath, logitsPath, policiesPath)) {
  const greedy = JSON.parse(readFileSync(greedyPath, 'utf8'));
  const logitsFx = JSON.parse(readFileSync(logitsPath, 'utf8'));
  const backends: WasmBackend[] = [];
  const models = new Map<string, Model>();
  test.before(async () => {
    for (const threads of [1, 2]) {
      const backend = await createWasmBackend({ threads });
      backends.push(backend);
      models.set(`wasm×${threads}`, await loadModel(paths.model, { backend }));
    }
  });
  test.after(async () => { for (const b of backends) await b.dispose(); });

  test('wasm: logits within 1e-4 of the reference (step and prefill) with 1 and 2 threads', () => {
    for (const [name, model] of models) {
      const tokens: number[] = logitsFx.tokens;
      const state = createState(model);
      let logits: Float32Array = new Float32Array(0);
      for (const t of tokens) logits = step(model, state, t);
      const d = maxAbsDiff(logits, logitsFx.logits_last);
      assert.ok(d < 1e-4, `${name} step: max |diff| ${d}`);
      const p = prefill(model, createState(model), tokens, { chunkSize: 4 });
      const dp = maxAbsDiff(p, logitsFx.logits_last);
      assert.ok(dp < 1e-4, `${name} prefill: max |diff| ${dp}`);
    }
  });

  test('wasm: bounded state (window, k=32) matches the policies fixture: mean NLL and kept positions', () => {
    const fx = JSON.parse(readFileSync(policiesPath, 'utf8'));
    const expected = fx.policies.window;
    for (const [name, model] of models) {
      const state = createState(model, { capacity: fx.capacity, policy: slidingWindow });
      const tokens: number[] = fx.tokens;
      let nll = 0;
      for (let i = 0; i + 1 < tokens.length; i++) {
        const logits = step(model, state, tokens[i]!);
        let max = -Infinity;
        for (const v of logits) max = Math.max(max, v);
        let z = 0;
        for (const v of logits) z += Math.exp(v - max);
        nll += max + Math.log(z) - logits[tokens[i + 1]!]!;
      }
      step(model, state, tokens[tokens.length - 1]!);
      const mean = nll / (tokens.length - 1);
      assert.ok(Math.abs(mean - expected.mean_nll) < 1e-4, `${name}: mean NLL ${mean} vs ${expected.mean_nll}`);
      assert.equal(state.keptPositions(), expected.kept_positions_per_layer, `${name}: kept positions`);
    }
  });

  test('wasm: greedy generations token for token (all fixture prompts, 1 and 2 threads)', async () => {
    const tokenizer = await loadTokenizer(paths.tokenizer, { vocabSize: 512 });
    for (const [name, model] of models) {
      for (const run of greedy.runs) {
        const promptTokens = tokenizer.encode(run.prompt);
        const state = createState(model);
        let logits = prefill(model, state, promptTokens);
        const out: number[] = [];
        for (let i = 0; i < run.n_generated; i++) {
          const t = argmax(logits);
          if (t === BOS) break;
          out.push(t);
          logits = step(model, state, t);
        }
        assert.equal(out, run.generated_tokens, `${name} ${JSON.stringify(run.prompt)}`);
      }
    }
  });
}

test.run();
