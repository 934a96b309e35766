// The page's model formats (src/formats.ts), in Node: a llama2.c pair in any order, a lone llama2.c
// model with the default tokenizer, a GGUF file with its own tokenizer — each generates the
// stories260K greedy fixture; unknown or incomplete input is a clear error.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsBackend } from '@msrnn/tensor';
import { argmax, createState, prefill, step } from '@msrnn/transformer';
import { haveShared, paths, shared } from '../../transformer/test/shared.js';
import { loadFiles, type Loaded } from '../src/formats.js';

const ggufPath = resolve(shared, 'models/gguf/stories260K-F32.gguf');
const greedyPath = resolve(paths.fixtures, 'greedy.json');

if (haveShared('formats', paths.model, paths.tokenizer, ggufPath, greedyPath)) {
  const run0 = JSON.parse(readFileSync(greedyPath, 'utf8')).runs[0];
  const model = new Uint8Array(readFileSync(paths.model)), tok = new Uint8Array(readFileSync(paths.tokenizer));
  const greedy = ({ model: m, tokenizer }: Loaded) => {
    const prompt = tokenizer.encode(run0.prompt);
    assert.equal(prompt, run0.prompt_tokens);
    const state = createState(m);
    let logits = prefill(m, state, prompt);
    const out: number[] = [];
    for (let i = 0; i < 32; i++) { out.push(argmax(logits)); logits = step(m, state, out.at(-1)!); }
    assert.equal(out, run0.generated_tokens.slice(0, 32));
  };

  test('llama2.c: model and tokenizer in either order', () => {
    for (const files of [[['stories260K.bin', model], ['tok512.bin', tok]], [['tok512.bin', tok], ['stories260K.bin', model]]] as [string, Uint8Array][][]) {
      const loaded = loadFiles(new Map(files), jsBackend);
      assert.is(loaded.format, 'llama2.c');
      assert.is(loaded.model.source, 'stories260K.bin');
      greedy(loaded);
    }
  });

  test('llama2.c: a lone model takes the fallback tokenizer, or says it needs one', () => {
    greedy(loadFiles(new Map([['m.bin', model]]), jsBackend, tok));
    assert.throws(() => loadFiles(new Map([['m.bin', model]]), jsBackend), /needs its tokenizer \.bin too/);
  });

  test('GGUF: one file with its embedded tokenizer', () => {
    const loaded = loadFiles(new Map([['stories260K-F32.gguf', new Uint8Array(readFileSync(ggufPath))]]), jsBackend);
    assert.is(loaded.format, 'GGUF');
    greedy(loaded);
  });

  test('bad input: no files, three files, a text file', () => {
    assert.throws(() => loadFiles(new Map(), jsBackend), /no files given/);
    assert.throws(() => loadFiles(new Map([['a', tok], ['b', tok], ['c', tok]]), jsBackend), /not a model format the page knows/);
    assert.throws(() => loadFiles(new Map([['notes.txt', new TextEncoder().encode('hello world, this is not a model at all')]]), jsBackend), /notes\.txt/);
  });
}

test.run();
