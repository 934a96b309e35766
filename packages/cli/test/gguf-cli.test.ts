// GGUF models through every command: generate (token ids equal the ggml fixture's greedy run, the
// prompt encoded by the vocabulary the file carries), every policy, trace, ppl and bench.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getPolicy, policyTable } from '@msrnn/policies';
import { loadTokenizer } from '@msrnn/transformer';
import { haveShared, sharedPath } from '../../../scripts/shared-data.js';
import { msrnn } from './run-cli.js';

const q8 = sharedPath('models/gguf/stories260K-Q8_0.gguf');
const q8Fixture = sharedPath('fixtures/gguf/stories260K-Q8_0.json');
const q4k = sharedPath('models/gguf/random256-Q4_K.gguf');
const tinyRandom = sharedPath('models/llama-2-tiny-random.gguf');
const llamaTokenizer = sharedPath('models/tokenizer.bin');
const book = sharedPath('text/austen_4_pride_and_prejudice.txt');

if (haveShared('cli gguf', q8, q8Fixture, q4k, tinyRandom, llamaTokenizer, book)) {
  const dir = mkdtempSync(join(tmpdir(), 'msrnn-gguf-'));
  test.after(() => rmSync(dir, { recursive: true, force: true }));
  const json = async (...args: string[]) => {
    const r = await msrnn(...args);
    assert.is(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };

  test('generate --json on a Q8_0 GGUF: the embedded vocabulary encodes the prompt, greedy tokens equal the fixture', async () => {
    const fx = JSON.parse(readFileSync(q8Fixture, 'utf8'));
    for (const run of fx.runs.slice(0, 2)) {
      const out = await json('generate', '--model', q8, '--prompt', run.prompt, '--steps', '64', '--temperature', '0', '--json');
      assert.equal(out.prompt_tokens, run.prompt_tokens);
      assert.equal(out.generated_tokens, run.generated_tokens);
      assert.is(out.text, run.generated_text);
      assert.match(out.format, /^GGUF v3 llama: Q8_0 ×31, /);
    }
  });

  test('generate --prompt-activations q8_0 (wasm): the prompt runs ggml\'s int8 activations, the greedy tokens still equal the fixture', async () => {
    const run = JSON.parse(readFileSync(q8Fixture, 'utf8')).runs[0];
    const out = await json('generate', '--model', q8, '--prompt', run.prompt, '--steps', '64', '--temperature', '0', '--json', '--backend', 'wasm', '--prompt-activations', 'q8_0');
    assert.equal(out.generated_tokens, run.generated_tokens);
  });

  test('llama-2-tiny-random.gguf: the prompt is encoded as tokenizer.bin encodes it', async () => {
    const prompt = 'Hello world, the quick brown fox jumps over the lazy dog. Ünïcödé 日本語 🦙';
    const out = await json('generate', '--model', tinyRandom, '--prompt', prompt, '--steps', '3', '--temperature', '0', '--json');
    const reference = await loadTokenizer(llamaTokenizer);
    assert.equal(out.prompt_tokens, reference.encode(prompt));
  });

  test('every policy runs a GGUF model, bounded by its capacity', async () => {
    for (const entry of policyTable) {
      const budget = entry.name === 'full' ? [] : entry.needsRatio ? ['--ratio', '0.5'] : ['--capacity', '6'];
      const out = await json('generate', '--model', q4k, '--prompt', 'Once upon a time', '--steps', '12', '--temperature', '0', '--seed', '1', '--policy', entry.name, ...budget, '--json');
      assert.is(out.generated_tokens.length, 12, entry.name);
      if (entry.name !== 'full' && !entry.needsRatio) {
        // Layer 0's fullest head: at most the policy's capacity (k, or 2k for a budget pooled across
        // heads); a layer schedule (PyramidKV) gives the bottom layer up to 2k - k/20 < 2k.
        const policy = getPolicy(entry.name, { capacity: 6 });
        const bound = policy.layerCapacity ? 2 * 6 : policy.capacity;
        assert.ok(out.state_entries_per_layer <= bound, `${entry.name}: ${out.state_entries_per_layer} entries, bound ${bound}`);
      }
    }
  });

  test('--weights does not convert a GGUF file\'s matrices: a warning says it is ignored', async () => {
    const r = await msrnn('generate', '--model', q8, '--weights', 'q8', '--prompt', 'Once', '--steps', '3', '--temperature', '0', '--json');
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stderr, /warning: --weights q8 is ignored: .*stories260K-Q8_0\.gguf runs in its own types \(GGUF v3 llama: Q8_0 ×31/);
    assert.match(JSON.parse(r.stdout).format, /^GGUF v3 llama: Q8_0 ×31, F32 ×11, F16 ×5$/);
  });

  test('trace, ppl and bench take a GGUF model', async () => {
    // (ppl encodes its whole text: a page of the book keeps this quick.)
    const page = join(dir, 'page.txt');
    writeFileSync(page, readFileSync(book, 'utf8').slice(0, 3000));
    const trace = await msrnn('trace', '--model', q8, '--text', page, '--tokens', '48', '--capacity', '8');
    assert.is(trace.status, 0, trace.stderr);
    assert.match(trace.stdout, /steps in the state per token piece/);
    const ppl = await msrnn('ppl', '--model', q8, '--text', page, '--chunk', '32', '--chunks', '1', '--policies', 'full,window', '--capacities', '8', '--threads', '1');
    assert.is(ppl.status, 0, ppl.stderr);
    assert.match(ppl.stdout, /\| window \| \d+\.\d+ \|/);
    const bench = await msrnn('bench', '--model', q8, '--seconds', '0.02', '--threads', '1', '--no-js', '--long-position', '64', '--bounded', '16');
    assert.is(bench.status, 0, bench.stderr);
    assert.match(bench.stdout, /\| stories260K-Q8_0\.gguf \| decode \| wasm \| 1 \| file \| \d+\.\d tok\/s \|/);
  });
}


test('generate --chat renders the file\'s chat template (BOS once, the template\'s markers as special tokens) and prints the reply', async () => {
  const { GgufValueType: T, embeddedTokenizer, modelFromBytes } = await import('@msrnn/transformer');
  const { tinyLlamaGguf } = await import('../../transformer/test/gguf/build.js');
  const template = '{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}';
  const bytes = tinyLlamaGguf({ vocab: 300, extra: [['tokenizer.chat_template', T.STRING, template]] });
  const dir = mkdtempSync(join(tmpdir(), 'msrnn-chat-'));
  try {
    const file = join(dir, 'chat.gguf');
    writeFileSync(file, bytes);
    const r = await msrnn('generate', '--model', file, '--chat', '--system', 'Be brief', '--prompt', 'Hi', '--steps', '4', '--temperature', '0', '--json');
    assert.is(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const tokenizer = embeddedTokenizer(modelFromBytes(bytes))!;
    assert.equal(out.prompt_tokens, tokenizer.encode('<s>[system]Be brief</s>[user]Hi</s>[assistant]', { bos: false }));
    assert.is(out.prompt_tokens.filter((t: number) => t === 1).length, 1, 'one BOS');
    assert.is(out.prompt_tokens.filter((t: number) => t === 2).length, 2, 'EOS after each turn, as special tokens');
    const streamed = await msrnn('generate', '--model', file, '--chat', '--prompt', 'Hi', '--steps', '4', '--temperature', '0');
    assert.is(streamed.status, 0, streamed.stderr);
    assert.not.match(streamed.stdout, /Hi/, 'the reply only, not the prompt');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('generate --chat without a template, and --system without --chat, are clear errors', async () => {
  const { tinyLlamaGguf } = await import('../../transformer/test/gguf/build.js');
  const dir = mkdtempSync(join(tmpdir(), 'msrnn-chat-'));
  try {
    const file = join(dir, 'plain.gguf');
    writeFileSync(file, tinyLlamaGguf({ vocab: 300 }));
    const r = await msrnn('generate', '--model', file, '--chat', '--prompt', 'Hi', '--steps', '1');
    assert.is(r.status, 1);
    assert.match(r.stderr, /plain\.gguf has no chat template \(tokenizer\.chat_template\)/);
    const s = await msrnn('generate', '--model', file, '--system', 'x', '--prompt', 'Hi', '--steps', '1');
    assert.match(s.stderr, /--system needs --chat/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test.run();
