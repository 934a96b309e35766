// loadAnyTokenizer / tokenizerFromAnyBytes tell the tokenizer kinds apart by content.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Llama2cTokenizer, loadTokenizer } from '../src/index.js';
import { HfTokenizer, loadAnyTokenizer, loadHfTokenizer, tokenizerFromAnyBytes } from '../src/tokenizers/index.js';
import { haveShared, paths, shared } from './shared.js';

if (haveShared('tokenizer-load', paths.hfModels, paths.hfFixtures, paths.tokenizer, paths.llamaGguf)) {
  const gguf = join(shared, 'models/gguf/stories260K-Q8_0.gguf');
  const text = "Once upon a time, Lily's dog ran 3 miles. 😀";

  test('a folder, a tokenizer.json (with its folder\'s config), a GGUF file and a tokenizer.bin each load as their kind', async () => {
    const runc = await loadTokenizer(paths.tokenizer);
    const folder = await loadAnyTokenizer(join(paths.hfModels, 'stories260K'));
    const json = await loadAnyTokenizer(join(paths.hfModels, 'stories260K', 'tokenizer.json'));
    const fromGguf = await loadAnyTokenizer(gguf, { vocabSize: 512 });
    const bin = await loadAnyTokenizer(paths.tokenizer, { vocabSize: 512 });
    assert.instance(folder, HfTokenizer);
    assert.instance(json, HfTokenizer);
    assert.instance(fromGguf, HfTokenizer);
    assert.instance(bin, Llama2cTokenizer);
    for (const tok of [folder, json, fromGguf, bin]) assert.equal(tok.encode(text), runc.encode(text), tok.kind);
    assert.is(json.eosId, 2, 'tokenizer_config.json beside tokenizer.json was read');
    const qwen = await loadAnyTokenizer(join(paths.hfModels, 'qwen2-tiny', 'tokenizer.json'));
    assert.equal(qwen.encode(text), (await loadHfTokenizer(join(paths.hfModels, 'qwen2-tiny'))).encode(text));
  });

  test('from bytes: GGUF, tokenizer.json and tokenizer.bin', () => {
    const runc = tokenizerFromAnyBytes(readFileSync(paths.tokenizer), 'tok512.bin');
    assert.equal(tokenizerFromAnyBytes(readFileSync(gguf), 'q8.gguf').encode(text), runc.encode(text));
    const cases = JSON.parse(readFileSync(join(paths.hfFixtures, 'gpt2-tiny.json'), 'utf8')).tokenizer_cases as { text: string; ids: number[] }[];
    const gpt2 = tokenizerFromAnyBytes(readFileSync(join(paths.hfModels, 'gpt2-tiny', 'tokenizer.json')));
    for (const c of cases) assert.equal(gpt2.encode(c.text), c.ids, c.text);
  });

  test('a tokenizer larger than the model\'s vocabulary, or a missing path, is a clear error', async () => {
    await loadAnyTokenizer(join(paths.hfModels, 'qwen2-tiny'), { vocabSize: 1000 }).then(
      () => assert.unreachable('accepted'), (e: Error) => assert.match(e.message, /has 1024 tokens but the model's vocabulary has only 1000/));
    await loadAnyTokenizer(paths.tokenizer, { vocabSize: 1000 }).then(
      () => assert.unreachable('accepted'), (e: Error) => assert.match(e.message, /has 512 pieces but the model's vocabulary size is 1000/));
    await loadAnyTokenizer(join(shared, 'no/such/tokenizer.json')).then(
      () => assert.unreachable('accepted'), (e: Error) => assert.match(e.message, /cannot read tokenizer file .*no\/such\/tokenizer\.json: ENOENT/));
  });
}

test.run();
