// Prompts as matrices on ggml's blocks: each shared GGUF fixture's prompt and greedy continuation
// (69 tokens) prefilled as ONE chunk, so every projection is a product over 68 rows (on wasm the
// block types then go through f32 panels and the f32 matmul): the logits at every position match
// the independent float64 reference at its checkpoints (1e-3) and predict the fixture's greedy
// tokens, and they stay within 1e-4 of stepping token by token, on js and wasm.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, jsBackend, type Backend } from '@msrnn/tensor';
import { argmax, createState, loadModel, prefill, step } from '../src/index.js';
import { haveShared, maxAbsDiff, shared } from './shared.js';

const names = [
  'stories260K-F32', 'stories260K-F16', 'stories260K-Q8_0', 'stories260K-Q4_0', 'stories260K-Q4_K',
  'random256-BF16', 'random256-Q8_0', 'random256-Q4_1', 'random256-Q5_0', 'random256-Q5_1',
  'random256-Q4_K', 'random256-Q5_K', 'random256-Q6_K',
];
const gguf = (n: string) => resolve(shared, 'models/gguf', `${n}.gguf`);
const fixture = (n: string) => resolve(shared, 'fixtures/gguf', `${n}.json`);

if (haveShared('gguf prefill', ...names.map(gguf), ...names.map(fixture))) {
  const wasm = await createWasmBackend({ threads: 1 });
  test.after(async () => { await wasm.dispose(); });
  for (const n of names) {
    const fx = JSON.parse(readFileSync(fixture(n), 'utf8'));
    const bytes = readFileSync(gguf(n));
    for (const [backendName, backend] of [['js', jsBackend], ['wasm', wasm]] as [string, Backend][]) {
      test(`${n} on ${backendName}: a 68-token prefill chunk gives the reference logits, the greedy tokens and step()'s logits`, async () => {
        const model = await loadModel(bytes, { backend, source: n });
        const run = fx.runs[0];
        const prompt: number[] = run.prompt_tokens, generated: number[] = run.generated_tokens;
        const tokens = [...prompt, ...generated.slice(0, -1)];
        const rows: Float32Array[] = [];
        prefill(model, createState(model), tokens, { onLogits: (_, logits) => rows.push(logits.slice()) });
        assert.is(rows.length, tokens.length);
        const checkpoints = new Map<number, number[]>(run.logits.map((l: any) => [l.predicts_generated_index, l.values]));
        const stepped = createState(model);
        let worstRef = 0, worstStep = 0;
        for (let i = 0; i < tokens.length; i++) {
          const logits = step(model, stepped, tokens[i]!);
          worstStep = Math.max(worstStep, maxAbsDiff(rows[i]!, logits));
          const g = i - (prompt.length - 1);
          if (g < 0) continue;
          assert.is(argmax(rows[i]!), generated[g], `position ${i} predicts generated token ${g}`);
          const want = checkpoints.get(g);
          if (want) worstRef = Math.max(worstRef, maxAbsDiff(rows[i]!, want));
        }
        assert.ok(worstRef < 1e-3, `max |logit - reference| = ${worstRef}`);
        assert.ok(worstStep < 1e-4, `max |prefill logit - step logit| = ${worstStep}`);
      });
    }
  }
}

test.run();
