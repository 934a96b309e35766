// The stories260K golden fixtures (an independent float64 reference, checked against run.c):
// greedy generations token for token and logits within 1e-4 on every backend (pure TS,
// WebAssembly SIMD on 1 and 2 threads), and every tokenizer case.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, jsBackend, type Backend } from '@msrnn/tensor';
import { argmax, createState, loadModel, loadTokenizer, prefill, step, StreamingDecoder, BOS, type Model } from '../src/index.js';
import { haveShared, maxAbsDiff, paths } from './shared.js';

const greedyPath = resolve(paths.fixtures, 'greedy.json');
const logitsPath = resolve(paths.fixtures, 'logits.json');
const tokPath = resolve(paths.fixtures, 'tokenizer_tok512.json');

if (haveShared('fixtures', paths.model, paths.tokenizer, greedyPath, logitsPath, tokPath)) {
  const wasm1 = await createWasmBackend({ threads: 1 });
  const wasm2 = await createWasmBackend({ threads: 2 });
  const backends: [string, Backend][] = [['js', jsBackend], ['wasm×1', wasm1], ['wasm×2', wasm2]];
  const models: [string, Model][] = [];
  for (const [name, backend] of backends) models.push([name, await loadModel(paths.model, { backend })]);
  test.after(async () => { await wasm1.dispose(); await wasm2.dispose(); });
  const tokenizer = await loadTokenizer(paths.tokenizer, { vocabSize: models[0]![1].config.vocabSize });
  const greedy = JSON.parse(readFileSync(greedyPath, 'utf8'));
  const logitsFx = JSON.parse(readFileSync(logitsPath, 'utf8'));
  const tokFx = JSON.parse(readFileSync(tokPath, 'utf8'));

  /** What run.c prints for `tokens` after `prev` (drops lone non-printable bytes). */
  const printed = (tokens: number[], prev: number): string => {
    const d = new StreamingDecoder(tokenizer, prev, true);
    return tokens.map((t) => d.push(t)).join('') + d.flush();
  };

  for (const [name, model] of models) test(`${name}: logits within 1e-4 at every position (step by step and prefill)`, () => {
    const tokens: number[] = logitsFx.tokens;
    const state = createState(model);
    let logits: Float32Array = new Float32Array(0);
    const perPosition: Float32Array[] = [];
    for (const t of tokens) { logits = step(model, state, t); perPosition.push(logits.slice()); }
    const stepDiff = maxAbsDiff(logits, logitsFx.logits_last);
    assert.ok(stepDiff < 1e-4, `${name} step: max |diff| ${stepDiff}`);
    const viaPrefill = prefill(model, createState(model), tokens, { chunkSize: 4 });
    const prefillDiff = maxAbsDiff(viaPrefill, logitsFx.logits_last);
    assert.ok(prefillDiff < 1e-4, `${name} prefill: max |diff| ${prefillDiff}`);
    // Every position: argmax, max logit and logsumexp.
    for (const row of logitsFx.per_position) {
      const l = perPosition[row.pos]!;
      assert.is(argmax(l), row.argmax, `argmax at ${row.pos}`);
      let max = -Infinity;
      for (const v of l) max = Math.max(max, v);
      let z = 0;
      for (const v of l) z += Math.exp(v - max);
      assert.ok(Math.abs(max - row.max_logit) < 1e-4, `max logit at ${row.pos}`);
      assert.ok(Math.abs(max + Math.log(z) - row.logsumexp) < 1e-4, `logsumexp at ${row.pos}`);
    }
  });

  for (const [name, model] of models) for (const run of greedy.runs) {
    test(`${name} greedy: ${JSON.stringify(run.prompt)} token for token, text and run.c stdout`, () => {
      const promptTokens = tokenizer.encode(run.prompt);
      assert.equal(promptTokens, run.prompt_tokens, 'prompt encoding');
      const state = createState(model);
      let logits = prefill(model, state, promptTokens);
      const out: number[] = [];
      for (let i = 0; i < run.n_generated; i++) {
        const t = argmax(logits);
        if (t === BOS) break;
        out.push(t);
        logits = step(model, state, t);
      }
      assert.equal(out, run.generated_tokens);
      const last = promptTokens[promptTokens.length - 1]!;
      assert.is(tokenizer.decode(out, { prev: last }), run.generated_text);
      // run.c prints the prompt (after BOS) then the generation, then "\n".
      const all = [...promptTokens.slice(1), ...out];
      assert.is(printed(all, BOS) + '\n', run.runc_stdout);
    });
  }

  test('tokenizer: every fixture case (tokens, pieces, decoded, printed)', () => {
    assert.is(tokFx.entries.length, 40);
    for (const e of tokFx.entries) {
      const what = JSON.stringify(e.text);
      const tokens = tokenizer.encode(e.text);
      assert.equal(tokens, e.tokens, `tokens of ${what}`);
      assert.equal(tokens.map((t) => tokenizer.pieces[t]), e.pieces.map((p: string) => binary(p)), `pieces of ${what}`);
      assert.is(tokenizer.decode(tokens), e.decoded, `decoded ${what}`);
      assert.is(printed(tokens.slice(1), BOS), e.printed, `printed ${what}`);
      // Streaming one token at a time gives the same text, whatever the UTF-8 splits.
      const d = new StreamingDecoder(tokenizer);
      assert.is(tokens.slice(1).map((t) => d.push(t)).join('') + d.flush(), e.decoded, `streamed ${what}`);
    }
  });
}

/** Fixture pieces are UTF-8 text; the tokenizer keeps raw bytes as one char per byte. */
function binary(s: string): string {
  return String.fromCharCode(...new TextEncoder().encode(s));
}

test.run();
