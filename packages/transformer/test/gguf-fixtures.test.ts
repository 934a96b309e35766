// GGUF files written and quantized by ggml (../shared/models/gguf) run from their blocks on both
// backends: logits within 1e-3 of the independent float64 reference (which used ggml's own
// dequantized values) at the fixture's positions, and its greedy continuation token for token.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, jsBackend, type Backend } from '@msrnn/tensor';
import { argmax, createState, loadModel, prefill, step } from '../src/index.js';
import { haveShared, maxAbsDiff, shared } from './shared.js';

const names = [
  'stories260K-F32', 'stories260K-F16', 'stories260K-Q8_0', 'stories260K-Q4_0', 'stories260K-Q4_K',
  'random256-F32', 'random256-F16', 'random256-BF16', 'random256-Q8_0', 'random256-Q4_0', 'random256-Q4_1',
  'random256-Q5_0', 'random256-Q5_1', 'random256-Q4_K', 'random256-Q5_K', 'random256-Q6_K',
];
const gguf = (n: string) => resolve(shared, 'models/gguf', `${n}.gguf`);
const fixture = (n: string) => resolve(shared, 'fixtures/gguf', `${n}.json`);
const TOLERANCE = 1e-3;

if (haveShared('gguf fixtures', ...names.map(gguf), ...names.map(fixture))) {
  const wasm = await createWasmBackend({ threads: 1 });
  test.after(async () => { await wasm.dispose(); });
  // The pure-TS block kernels are correct, not fast: the js backend runs the first prompt of each
  // file (64 steps), the wasm backend all three.
  const backends: [string, Backend, number][] = [['js', jsBackend, 1], ['wasm', wasm, 3]];
  const worst = new Map<string, number>();

  for (const n of names) {
    const fx = JSON.parse(readFileSync(fixture(n), 'utf8'));
    const bytes = readFileSync(gguf(n));
    for (const [backendName, backend, prompts] of backends) {
      test(`${n} on ${backendName}: logits within ${TOLERANCE} and greedy token for token (${prompts} prompt${prompts > 1 ? 's' : ''})`, async () => {
        const model = await loadModel(bytes, { backend, source: n });
        assert.match(model.format, /^GGUF v3 llama: /);
        let maxDiff = 0;
        for (const run of fx.runs.slice(0, prompts)) {
          const state = createState(model);
          let logits = prefill(model, state, run.prompt_tokens);
          const checkpoints = new Map<number, number[]>(run.logits.map((l: any) => [l.predicts_generated_index, l.values]));
          for (let g = 0; g < run.generated_tokens.length; g++) {
            const want = checkpoints.get(g);
            if (want) maxDiff = Math.max(maxDiff, maxAbsDiff(logits, want));
            assert.is(argmax(logits), run.generated_tokens[g], `${JSON.stringify(run.prompt)}: generated token ${g}`);
            logits = step(model, state, run.generated_tokens[g]);
          }
        }
        assert.ok(maxDiff < TOLERANCE, `max |logit - reference| = ${maxDiff}`);
        worst.set(`${n} ${backendName}`, maxDiff);
      });
    }
  }
  test.after(() => {
    if (process.env.GGUF_FIXTURE_REPORT) for (const [k, v] of worst) console.log(`${k}: max |logit diff| ${v.toExponential(2)}`);
  });
}

test.run();
