// Tokenizers built from GGUF metadata against independent references: llama.cpp-written GGUF
// vocabularies must encode as llama2.c's run.c does with the same vocabulary (tokenizer.bin /
// tok512.bin), and GGUF-style vocabularies made from the Hugging Face fixtures must reproduce the
// fixtures' reference encodings (from the Rust `tokenizers` crate).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadTokenizer, parseGguf, type Llama2cTokenizer, type Tokenizer } from '../src/index.js';
import { tokenizerFromGgufMetadata } from '../src/tokenizers/index.js';
import { haveShared, paths, shared } from './shared.js';
import { gpt2TokenizerMetadata } from './gguf/from-hf.js';

interface Case { text: string; ids: number[]; decoded: string }
const fixture = (name: string): { tokenizer_cases: Case[]; runs: { prompt: string; prompt_tokens: number[] }[] } =>
  JSON.parse(readFileSync(join(paths.hfFixtures, `${name}.json`), 'utf8'));

/** Book slices of many lengths and odd strings; texts without "<s>"/"</s>" (run.c does not split specials). */
function sampleTexts(book: string, count: number): string[] {
  const texts = ['', ' ', '  ', 'a', 'Hello world', ' leading space', 'trailing  ', '\n\n\tTabs\tand\r\nCRLF', 'ÀÉÎõü ßøæ naïve café', 'e\u0301 combining',
    '中文字符 日本語 한국어', '😀👍🏽 emoji', 'Привет мир', '12345 3.14159 1,000,000', 'def f(x):\n    return x**2  # code', '\u0001\u007f\u00a0 controls',
    '\uFEFFbom', "it's they're we've I'm you'll he'd", '     many     spaces     ', 'a'.repeat(300)];
  let seed = 12345;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  while (texts.length < count) {
    const start = Math.floor(rand() * (book.length - 2000));
    texts.push(book.slice(start, start + 1 + Math.floor(rand() * (rand() < 0.2 ? 1500 : 120))));
  }
  return texts;
}

/** What GGUF's llama converter stores for a llama2.c vocabulary: ▁ for spaces, HF names for specials, token types. */
function llamaMetadataFrom(tok: Llama2cTokenizer): Map<string, unknown> {
  const tokens = tok.pieces.map((p, id) => id === 0 ? '<unk>' : id === 1 ? '<s>' : id === 2 ? '</s>' : tok.idToToken(id)!.replaceAll(' ', '▁'));
  const types = Int32Array.from(tokens, (_, id) => (id === 0 ? 2 : id < 3 ? 3 : id < 259 ? 6 : 1));
  return new Map<string, unknown>([
    ['tokenizer.ggml.model', 'llama'], ['tokenizer.ggml.tokens', tokens], ['tokenizer.ggml.scores', tok.scores],
    ['tokenizer.ggml.token_type', types], ['tokenizer.ggml.bos_token_id', 1], ['tokenizer.ggml.eos_token_id', 2],
  ]);
}

/**
 * A byte-level tokenizer.json as GGUF's gpt2 converter stores it, as the plain key → value map the
 * tokenizer takes; without add_bos_token, so that each pre-tokenizer's default (llama3 adds BOS) holds.
 */
function gpt2MetadataFrom(folder: string, pre: string): Map<string, unknown> {
  const entries = gpt2TokenizerMetadata(join(paths.hfModels, folder), pre).filter(([key]) => key !== 'tokenizer.ggml.add_bos_token');
  return new Map(entries.map(([key, , value]) =>
    [key, typeof value === 'object' && value !== null && 'elementType' in value ? value.values : value]));
}

function assertCases(tok: Tokenizer, cases: Case[], what: string): void {
  for (const c of cases) {
    assert.equal(tok.encode(c.text), c.ids, `${what} encode ${JSON.stringify(c.text)}`);
    assert.is(tok.decode(c.ids, { skipSpecial: true }), c.decoded, `${what} decode ${JSON.stringify(c.text)}`);
  }
}

if (haveShared('gguf-tokenizer', paths.tokenizer, paths.llamaTokenizer, paths.llamaGguf, paths.book, paths.hfFixtures, paths.hfModels)) {
  const book = readFileSync(paths.book, 'utf8');
  const tok512 = await loadTokenizer(paths.tokenizer);

  test('llama (SentencePiece) metadata from tok512: the HF spm-legacy fixture cases, exactly', () => {
    const tok = tokenizerFromGgufMetadata(llamaMetadataFrom(tok512), 'tok512-as-gguf');
    assert.is(tok.vocabSize, 512);
    assert.is(tok.addsBos, true);
    assertCases(tok, fixture('llama-tiny').tokenizer_cases, 'tok512-as-gguf');
  });

  test('stories260K GGUF files (written by llama.cpp): vocabulary encodes as tok512.bin (run.c) on 200 texts', () => {
    const gguf = parseGguf(readFileSync(join(shared, 'models/gguf/stories260K-Q8_0.gguf')), 'stories260K-Q8_0.gguf');
    const tok = tokenizerFromGgufMetadata(gguf.metadata.entries, gguf.source);
    for (const text of sampleTexts(book, 200)) assert.equal(tok.encode(text), tok512.encode(text), JSON.stringify(text.slice(0, 60)));
    const fx = JSON.parse(readFileSync(join(shared, 'fixtures/gguf/stories260K-Q8_0.json'), 'utf8'));
    for (const run of fx.runs) assert.equal(tok.encode(run.prompt), run.prompt_tokens, run.prompt);
    assert.equal([...tok.stopIds], [2]);
    assert.is(tok.decode(tok.encode('Once upon a time'), { skipSpecial: true }), 'Once upon a time');
  });

  test('llama-2-tiny-random.gguf: its 32k Llama-2 vocabulary encodes as tokenizer.bin (run.c) on 300 texts', async () => {
    const llama = await loadTokenizer(paths.llamaTokenizer);
    const gguf = parseGguf(readFileSync(paths.llamaGguf), 'llama-2-tiny-random.gguf');
    const tok = tokenizerFromGgufMetadata(gguf.metadata.entries, gguf.source);
    assert.is(tok.vocabSize, 32000);
    for (const text of sampleTexts(book, 300)) assert.equal(tok.encode(text), llama.encode(text), JSON.stringify(text.slice(0, 60)));
    const text = 'Streaming: naïve 😀 text.';
    const ids = tok.encode(text);
    const d = tok.createStreamDecoder({ skipSpecial: true });
    assert.is(ids.map((t) => d.push(t)).join('') + d.flush(), text);
    assert.is(tok.decode(ids, { skipSpecial: true }), text);
    assert.is(llama.decode(ids), text, 'run.c decodes the same ids to the same text');
  });

  test('gpt2 metadata (pre "gpt-2") built from gpt2-tiny: every fixture case, exactly', () => {
    const tok = tokenizerFromGgufMetadata(gpt2MetadataFrom('gpt2-tiny', 'gpt-2'), 'gpt2-as-gguf');
    assert.is(tok.addsBos, false);
    assertCases(tok, fixture('gpt2-tiny').tokenizer_cases, 'gpt2-as-gguf');
  });

  test('gpt2 metadata (pre "qwen2") built from qwen2-tiny: every fixture case, exactly; end-of-turn markers stop', () => {
    const tok = tokenizerFromGgufMetadata(gpt2MetadataFrom('qwen2-tiny', 'qwen2'), 'qwen2-as-gguf');
    assertCases(tok, fixture('qwen2-tiny').tokenizer_cases, 'qwen2-as-gguf');
    for (const run of fixture('qwen2-tiny').runs) assert.equal(tok.encode(run.prompt), run.prompt_tokens);
    assert.ok(tok.stopIds.has(1023) && tok.stopIds.has(1021), '<|im_end|> and <|endoftext|> end generation');
  });

  test('llama-bpe and smollm pre-tokenizers encode as the Rust tokenizers library does (fixtures/pretokenizers.json)', () => {
    const ref = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/pretokenizers.json'), 'utf8'));
    for (const [pre, ids] of Object.entries(ref.ids as Record<string, number[][]>)) {
      const tok = tokenizerFromGgufMetadata(gpt2MetadataFrom('gpt2-tiny', pre), `gpt2-tiny as ${pre}`);
      (ref.texts as string[]).forEach((text, i) => assert.equal(tok.encode(text, { bos: false }), ids[i], `${pre} ${JSON.stringify(text)}`));
    }
  });

  test('llama metadata with add_space_prefix = false, and with a user-defined token, encode as the Rust library does', () => {
    const ref = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/pretokenizers.json'), 'utf8'));
    const noPrefix = llamaMetadataFrom(tok512);
    noPrefix.set('tokenizer.ggml.add_space_prefix', false);
    const withUser = llamaMetadataFrom(tok512);
    withUser.set('tokenizer.ggml.tokens', [...(withUser.get('tokenizer.ggml.tokens') as string[]), '<|user|>']);
    withUser.set('tokenizer.ggml.scores', Float32Array.from([...(withUser.get('tokenizer.ggml.scores') as Float32Array), 0]));
    withUser.set('tokenizer.ggml.token_type', Int32Array.from([...(withUser.get('tokenizer.ggml.token_type') as Int32Array), 4]));
    for (const [name, meta] of [['no_space_prefix', noPrefix], ['user_token', withUser]] as const) {
      const tok = tokenizerFromGgufMetadata(meta, name);
      const r = ref.spm[name] as { texts: string[]; ids: number[][]; decoded: string[] };
      r.texts.forEach((text, i) => {
        assert.equal(tok.encode(text), r.ids[i], `${name} encode ${JSON.stringify(text)}`);
        assert.is(tok.decode(r.ids[i]!, { skipSpecial: true }), r.decoded[i], `${name} decode ${JSON.stringify(text)}`);
      });
    }
    assert.not.ok(tokenizerFromGgufMetadata(withUser).isSpecial(512), 'a user-defined token is not special');
  });

  test('llama3 and smollm pre-tokenizers: round trips, llama3 adds BOS, each regex splits differently', () => {
    const llama3 = tokenizerFromGgufMetadata(gpt2MetadataFrom('gpt2-tiny', 'llama-bpe'));
    const smollm = tokenizerFromGgufMetadata(gpt2MetadataFrom('gpt2-tiny', 'smollm'));
    const gpt2 = tokenizerFromGgufMetadata(gpt2MetadataFrom('gpt2-tiny', 'gpt-2'));
    assert.is(llama3.addsBos, true, 'llama3 adds BOS by default, as llama.cpp');
    for (const text of sampleTexts(book, 40)) {
      for (const tok of [llama3, smollm, gpt2]) assert.is(tok.decode(tok.encode(text, { bos: false })), text, `${tok.kind} round trip`);
    }
    const text = "They're here,\n\n  aren't they? 2024";
    assert.not.equal(llama3.encode(text, { bos: false }), gpt2.encode(text), 'llama3 regex differs from gpt-2 here');
  });
}

test('bad metadata is a clear error naming the key', () => {
  const base = (): Map<string, unknown> => new Map<string, unknown>([
    ['tokenizer.ggml.model', 'gpt2'], ['tokenizer.ggml.pre', 'gpt-2'], ['tokenizer.ggml.tokens', ['a', 'b', 'ab']],
    ['tokenizer.ggml.merges', ['a b']],
  ]);
  assert.equal(tokenizerFromGgufMetadata(base()).encode('abab'), [2, 2]);
  const withKey = (key: string, value: unknown): Map<string, unknown> => { const m = base(); if (value === undefined) m.delete(key); else m.set(key, value); return m; };
  assert.throws(() => tokenizerFromGgufMetadata(withKey('tokenizer.ggml.pre', 'tekken')), /unsupported tokenizer\.ggml\.pre "tekken"; supported: gpt-2, gpt2, llama3/);
  assert.throws(() => tokenizerFromGgufMetadata(withKey('tokenizer.ggml.pre', undefined)), /no tokenizer\.ggml\.pre/);
  assert.throws(() => tokenizerFromGgufMetadata(withKey('tokenizer.ggml.model', 't5')), /unsupported tokenizer\.ggml\.model "t5"; supported: llama, gpt2/);
  assert.throws(() => tokenizerFromGgufMetadata(withKey('tokenizer.ggml.model', undefined)), /tokenizer\.ggml\.model should be a string, got missing/);
  assert.throws(() => tokenizerFromGgufMetadata(withKey('tokenizer.ggml.tokens', [1, 2])), /tokenizer\.ggml\.tokens\[0\] should be a string/);
  assert.throws(() => tokenizerFromGgufMetadata(withKey('tokenizer.ggml.tokens', [])), /tokenizer\.ggml\.tokens is empty/);
  assert.throws(() => tokenizerFromGgufMetadata(withKey('tokenizer.ggml.merges', ['ab'])), /merges\[0\] = "ab" is not two pieces/);
  assert.throws(() => tokenizerFromGgufMetadata(withKey('tokenizer.ggml.eos_token_id', 7)), /eos_token_id = 7 is past the vocabulary of 3 tokens/);
  assert.throws(() => tokenizerFromGgufMetadata(withKey('tokenizer.ggml.token_type', [1, 1])), /token_type has 2 entries but tokenizer\.ggml\.tokens has 3/);
  assert.throws(() => tokenizerFromGgufMetadata(withKey('tokenizer.ggml.add_bos_token', true)), /add_bos_token is true but there is no tokenizer\.ggml\.bos_token_id/);
  const llama = new Map<string, unknown>([['tokenizer.ggml.model', 'llama'], ['tokenizer.ggml.tokens', ['<unk>', '<s>', '</s>', '▁']]]);
  assert.throws(() => tokenizerFromGgufMetadata(llama), /tokenizer\.ggml\.scores should be an array of numbers, got missing/);
  llama.set('tokenizer.ggml.scores', [0, 0, 0, NaN]);
  assert.throws(() => tokenizerFromGgufMetadata(llama), /scores\[3\] should be a finite number/);
});

test('a token named __proto__ is an ordinary vocabulary entry', () => {
  const tok = tokenizerFromGgufMetadata(new Map<string, unknown>([
    ['tokenizer.ggml.model', 'gpt2'], ['tokenizer.ggml.pre', 'gpt-2'], ['tokenizer.ggml.tokens', ['_', 'p', 'r', 'o', 't', '__', '__proto', '__proto__']],
    ['tokenizer.ggml.merges', ['_ _', '__ p', '__p r', '__pr o', '__pro t', '__prot o', '__proto _', '__proto_ _']],
  ]));
  assert.is(tok.tokenToId('__proto__'), 7);
});

test.run();
