// The page's model formats (src/formats.ts), in Node: a llama2.c pair in any order, a lone llama2.c
// model with the default tokenizer, a GGUF file with its own tokenizer — each generates the
// stories260K greedy fixture; unknown or incomplete input is a clear error.
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsBackend } from '@msrnn/tensor';
import { argmax, createState, prefill, step } from '@msrnn/transformer';
import { haveShared, paths, shared } from '../../transformer/test/shared.js';
import { filesToRead, loadFiles, type Loaded } from '../src/formats.js';

const ggufPath = resolve(shared, 'models/gguf/stories260K-F32.gguf');
const greedyPath = resolve(paths.fixtures, 'greedy.json');
const hfFolder = resolve(paths.hfModels, 'stories260K');

if (haveShared('formats', paths.model, paths.tokenizer, ggufPath, greedyPath, hfFolder)) {
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

  /** The folder as the page gets it: every file's name and bytes (filesToRead picks what is read). */
  const folderFiles = (extra: [string, Uint8Array][] = []) => {
    const all = new Map<string, Uint8Array>([...readdirSync(hfFolder).map((n) => [n, new Uint8Array(readFileSync(resolve(hfFolder, n)))] as [string, Uint8Array]), ...extra]);
    return new Map(filesToRead([...all.keys()]).map((n) => [n, all.get(n)!]));
  };

  test('Hugging Face folder (stories260K as HF): its own tokenizer.json, the greedy fixture; only model and tokenizer files are read', () => {
    const files = folderFiles([['README.md', new TextEncoder().encode('# notes')], ['pytorch_model.bin', model]]);
    assert.equal([...files.keys()].sort(), ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const loaded = loadFiles(files, jsBackend, tok, 'stories260K');
    assert.is(loaded.format, 'Hugging Face folder');
    assert.is(loaded.model.source, 'stories260K');
    greedy(loaded);
  });

  test('Hugging Face folder, bad input: truncated weights, no tokenizer.json, broken config.json, the same name twice', () => {
    const files = folderFiles();
    const cut = new Map(files).set('model.safetensors', files.get('model.safetensors')!.subarray(0, 5000));
    assert.throws(() => loadFiles(cut, jsBackend, undefined, 'stories260K'), /stories260K\/model\.safetensors/);
    const noTok = new Map(files);
    noTok.delete('tokenizer.json');
    assert.throws(() => loadFiles(noTok, jsBackend, undefined, 'stories260K'), /stories260K: the folder has no tokenizer\.json/);
    const badJson = new Map(files).set('config.json', new TextEncoder().encode('{"model_type": "llama",'));
    assert.throws(() => loadFiles(badJson, jsBackend, undefined, 'stories260K'), /stories260K\/config\.json: invalid JSON/);
    assert.throws(() => filesToRead(['config.json', 'model.safetensors', 'config.json']), /two files are named "config\.json"/);
    assert.throws(() => filesToRead([]), /no files given/);
  });

  test('bad input: no files, three files, a text file', () => {
    assert.throws(() => loadFiles(new Map(), jsBackend), /no files given/);
    assert.throws(() => loadFiles(new Map([['a', tok], ['b', tok], ['c', tok]]), jsBackend), /not a model format the page knows/);
    assert.throws(() => loadFiles(new Map([['notes.txt', new TextEncoder().encode('hello world, this is not a model at all')]]), jsBackend), /notes\.txt/);
  });
}

test.run();
