// GGUF files written from the HF fixture folders the way llama.cpp's converter writes them
// (./gguf/from-hf.ts) run to the HF fixtures' float64 reference: llama-tiny checks the q/k
// permutation to interleaved pairs and the llama3 rope_freqs tensor; qwen2-tiny the q/k/v biases,
// NeoX (halves) rotation and, through the vocabulary the file carries, the prompt encoding.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, jsBackend, type Backend } from '@msrnn/tensor';
import { argmax, createState, embeddedTokenizer, modelFromBytes, prefill, step } from '../src/index.js';
import { haveShared, maxAbsDiff, shared } from './shared.js';
import { ggufFromHfFolder, gpt2TokenizerMetadata } from './gguf/from-hf.js';

const folders = ['llama-tiny', 'qwen2-tiny'];
const folder = (n: string) => resolve(shared, 'models/hf', n);
const fixture = (n: string) => resolve(shared, 'fixtures/hf', `${n}.json`);

if (haveShared('gguf from hf', ...folders.map(folder), ...folders.map(fixture))) {
  const wasm = await createWasmBackend({ threads: 1 });
  test.after(async () => { await wasm.dispose(); });
  for (const name of folders) {
    const fx = JSON.parse(readFileSync(fixture(name), 'utf8'));
    const bytes = ggufFromHfFolder(folder(name), name === 'qwen2-tiny' ? gpt2TokenizerMetadata(folder(name), 'qwen2') : []);
    for (const [backendName, backend] of [['js', jsBackend], ['wasm', wasm]] as [string, Backend][]) {
      test(`${name} as GGUF on ${backendName}: greedy token for token, logits within 1e-4 of the HF reference`, () => {
        const model = modelFromBytes(bytes, { backend, source: `${name}.gguf` });
        const tokenizer = embeddedTokenizer(model);
        let worst = 0;
        for (const run of fx.runs) {
          if (tokenizer) assert.equal(tokenizer.encode(run.prompt), run.prompt_tokens, 'prompt encoding');
          const state = createState(model);
          let logits = prefill(model, state, run.prompt_tokens);
          for (let s = 0; s < run.generated_tokens.length; s++) {
            const want = run.logits[String(s)];
            if (want) worst = Math.max(worst, maxAbsDiff(logits, want));
            assert.is(argmax(logits), run.generated_tokens[s], `${JSON.stringify(run.prompt)} step ${s}`);
            logits = step(model, state, run.generated_tokens[s]);
          }
        }
        assert.ok(worst < 1e-4, `max |logit diff| ${worst}`);
      });
    }
  }
}

test.run();
