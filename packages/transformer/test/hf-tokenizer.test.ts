// tokenizer.json through HfTokenizer against ../shared/fixtures/hf: the reference ids and texts
// come from the Rust `tokenizers` crate and transformers (see that folder's README).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadTokenizer, type Tokenizer } from '../src/index.js';
import { hfTokenizerFromFiles, loadHfTokenizer } from '../src/tokenizers/index.js';
import { haveShared, paths, shared } from './shared.js';

interface Case { text: string; ids: number[]; decoded: string }
interface Fixture {
  name: string; folder: string;
  tokenizer: { kind: string; bos_id: number | null; eos_id: number | null; adds_bos: boolean };
  runs: { prompt: string; prompt_tokens: number[]; generated_tokens: number[]; generated_text: string }[];
  tokenizer_cases: Case[];
}

function streamed(tok: Tokenizer, ids: number[], opts: { prefix?: number[]; skipSpecial?: boolean } = {}): string {
  const d = tok.createStreamDecoder(opts);
  return ids.map((id) => d.push(id)).join('') + d.flush();
}

if (haveShared('hf-tokenizer', paths.hfFixtures, paths.hfModels, paths.tokenizer, paths.book)) {
  const fixtures: Fixture[] = readdirSync(paths.hfFixtures).filter((f) => f.endsWith('.json')).sort()
    .map((f) => JSON.parse(readFileSync(join(paths.hfFixtures, f), 'utf8')));

  test('the fixtures cover all four tokenizer.json forms, 20 cases each', () => {
    assert.equal([...new Set(fixtures.map((f) => f.tokenizer.kind))].sort(), ['gpt2', 'qwen2', 'spm-legacy', 'spm-metaspace']);
    for (const f of fixtures) assert.is(f.tokenizer_cases.length, 20, f.name);
  });

  test('argument checks: wrong text, options and ids are clear errors', async () => {
    const tok = await loadHfTokenizer(join(paths.hfModels, 'qwen2-tiny'));
    assert.throws(() => tok.encode(42 as any), /encode\(\) takes a string, got 42/);
    assert.throws(() => tok.encode('a', { bos: 'yes' } as any), /option bos must be a boolean/);
    assert.throws(() => tok.encode('a', { add_special_tokens: true } as any), /unknown encode\(\) option "add_special_tokens"/);
    assert.throws(() => tok.encode('a', { bos: true }), /has no BOS token/);
    assert.throws(() => tok.decode([5, -1]), /token id -1 at index 1 is not an integer in 0\.\.1023/);
    assert.throws(() => tok.decode([1.5]), /token id 1.5 at index 0/);
    assert.throws(() => tok.decode([1024]), /token id 1024 at index 0/);
    assert.throws(() => tok.decode('abc' as any), /takes an array of token ids, got "abc"/);
    assert.throws(() => tok.createStreamDecoder().push(4096), /token id 4096/);
    assert.is(tok.decode([]), '');
  });

  test('special tokens are cut out of the text, skipped on request, and end generation', async () => {
    const qwen = await loadHfTokenizer(join(paths.hfModels, 'qwen2-tiny'));
    const ids = qwen.encode('<|im_start|>user\nhi<|im_end|>');
    assert.is(ids[0], 1022);
    assert.is(ids[ids.length - 1], 1023);
    assert.ok(qwen.isSpecial(1022) && !qwen.isSpecial(ids[1]!));
    assert.is(qwen.decode(ids), '<|im_start|>user\nhi<|im_end|>');
    assert.is(qwen.decode(ids, { skipSpecial: true }), 'user\nhi');
    assert.equal(qwen.addedTokens.map((t) => t.content), ['<|endoftext|>', '<|im_start|>', '<|im_end|>']);
    assert.ok(qwen.stopIds.has(1021), 'eos <|endoftext|> stops');
    assert.is(qwen.tokenToId('<|im_end|>'), 1023);
    assert.is(qwen.idToToken(1022), '<|im_start|>');
    const llama = await loadHfTokenizer(join(paths.hfModels, 'llama-tiny'));
    assert.equal(llama.encode('hi', { bos: false, eos: true }).slice(-1), [2]);
    assert.ok(llama.stopIds.has(2));
    assert.is(llama.decode(llama.encode('Hello')), '<s> Hello', 'BOS kept without skipSpecial, as transformers decodes');
  });

  test('chat_template from tokenizer_config.json: a string, or the "default" of a named list', async () => {
    const files = (config: object) => new Map([
      ['tokenizer.json', readFileSync(join(paths.hfModels, 'qwen2-tiny', 'tokenizer.json'))],
      ['tokenizer_config.json', new TextEncoder().encode(JSON.stringify(config))],
    ]);
    assert.is(hfTokenizerFromFiles(files({ chat_template: '{{ messages }}' })).chatTemplate, '{{ messages }}');
    assert.is(hfTokenizerFromFiles(files({ chat_template: [{ name: 'tool_use', template: 'T' }, { name: 'default', template: 'D' }] })).chatTemplate, 'D');
    assert.is(hfTokenizerFromFiles(files({})).chatTemplate, undefined);
    assert.throws(() => hfTokenizerFromFiles(files({ chat_template: 5 })), /chat_template is neither a string nor a list/);
    assert.is((await loadHfTokenizer(join(paths.hfModels, 'qwen2-tiny'))).chatTemplate, undefined, 'the fixture folders have none');
  });

  test('tokenText shows one token with its own spacing; byte tokens alone are U+FFFD', async () => {
    const llama = await loadHfTokenizer(join(paths.hfModels, 'llama-tiny'));
    const space = llama.tokenToId('▁')!;
    assert.is(llama.tokenText(space), ' ');
    assert.is(llama.tokenText(llama.tokenToId('<0x41>')!), 'A');
    assert.is(llama.tokenText(llama.tokenToId('<0xE4>')!), '\uFFFD');
    const gpt2 = await loadHfTokenizer(join(paths.hfModels, 'gpt2-tiny'));
    assert.is(gpt2.tokenText(gpt2.tokenToId('Ġthe')!), ' the');
  });

  test('spm-legacy tokenizer.json (llama-tiny, built from tok512) encodes a 60k-character book excerpt as run.c does', async () => {
    const tok = await loadHfTokenizer(join(paths.hfModels, 'llama-tiny'));
    const runc = await loadTokenizer(paths.tokenizer);
    const text = readFileSync(paths.book, 'utf8').slice(100_000, 160_000);
    assert.equal(tok.encode(text), runc.encode(text));
  });

  for (const fx of fixtures) {
    test(`${fx.name} (${fx.tokenizer.kind}): every tokenizer case encodes and decodes exactly`, async () => {
      const tok = await loadHfTokenizer(join(shared, fx.folder));
      assert.is(tok.bosId ?? null, fx.tokenizer.bos_id, 'bos id');
      assert.is(tok.eosId ?? null, fx.tokenizer.eos_id, 'eos id');
      assert.is(tok.addsBos, fx.tokenizer.adds_bos, 'adds BOS');
      for (const c of fx.tokenizer_cases) {
        const what = `${fx.name} ${JSON.stringify(c.text)}`;
        assert.equal(tok.encode(c.text), c.ids, `encode ${what}`);
        assert.is(tok.decode(c.ids, { skipSpecial: true }), c.decoded, `decode ${what}`);
        assert.is(streamed(tok, c.ids, { skipSpecial: true }), c.decoded, `streamed ${what}`);
      }
    });

    test(`${fx.name}: prompts encode to the reference ids; generated ids decode to the reference text`, async () => {
      const tok = await loadHfTokenizer(join(shared, fx.folder));
      for (const run of fx.runs) {
        assert.equal(tok.encode(run.prompt), run.prompt_tokens, run.prompt);
        assert.is(tok.decode(run.generated_tokens), run.generated_text, `generated after ${JSON.stringify(run.prompt)}`);
        const whole = tok.decode([...run.prompt_tokens, ...run.generated_tokens]);
        const prompt = tok.decode(run.prompt_tokens);
        assert.ok(whole.startsWith(prompt));
        assert.is(streamed(tok, run.generated_tokens, { prefix: run.prompt_tokens }), whole.slice(prompt.length), 'streamed after the prompt');
      }
    });
  }
}

test.run();
