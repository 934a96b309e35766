// `msrnn inspect` (GGUF and llama2.c; the state size it reports equals a real state's) and
// `msrnn generate --json` (one object whose token ids equal the run.c greedy fixture).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getPolicy } from '@msrnn/policies';
import { createState, loadModel, parameterCount } from '@msrnn/transformer';
import { haveShared, sharedPath } from '../../../scripts/shared-data.js';
import { msrnn } from './run-cli.js';

const model = sharedPath('models/stories260K.bin');
const tokenizer = sharedPath('models/tok512.bin');
const greedyPath = sharedPath('fixtures/stories260K/greedy.json');
const q4k = sharedPath('models/gguf/stories260K-Q4_K.gguf');
const random256 = sharedPath('models/gguf/random256-Q6_K.gguf');

if (haveShared('cli inspect', model, tokenizer, greedyPath, q4k, random256)) {
  test('inspect a llama2.c file: the state size at --capacity equals a real bounded state', async () => {
    const loaded = await loadModel(model);
    for (const capacity of [1, 16, 100]) {
      const r = await msrnn('inspect', model, '--json', '--capacity', String(capacity));
      assert.is(r.status, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.is(report.format, 'llama2.c v0');
      assert.is(report.parameters, parameterCount(loaded.weights));
      const state = createState(loaded, { policy: getPolicy('window', { capacity }) });
      assert.is(report.stateBytes, state.bytes(), `capacity ${capacity}`);
      // h2o keeps one float64 statistic per entry: --policy sizes it.
      const h2o = JSON.parse((await msrnn('inspect', model, '--json', '--capacity', String(capacity), '--policy', 'h2o')).stdout);
      assert.is(h2o.stateBytes, createState(loaded, { policy: getPolicy('h2o', { capacity }) }).bytes(), `h2o capacity ${capacity}`);
    }
  });

  test('inspect a GGUF file: architecture, hyperparameters, tokenizer, tensors, memory (text)', async () => {
    const r = await msrnn('inspect', random256, '--capacity', '64');
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /^file: .*random256-Q6_K\.gguf \(GGUF v3, 1\.14 MiB \(1,200,544 bytes\)\)\n/);
    assert.match(r.stdout, /\narchitecture: llama "random256"\n/);
    assert.match(r.stdout, /\n {2}attention\.head_count_kv = 2\n/);
    assert.match(r.stdout, /\ntokenizer: llama \(SentencePiece BPE with byte fallback\), 512 tokens\n {2}special: bos 1 "<s>", eos 2 "<\/s>", unknown 0 "<unk>"\n/);
    assert.match(r.stdout, /\nchat template: none\n/);
    assert.match(r.stdout, /\n {2}blk\.1\.ffn_down\.weight +Q6_K +\[512, 256\] +107,520 bytes\n/);
    assert.match(r.stdout, /\n {2}output\.weight +Q6_K +\[256, 512\]/);
    // 2 layers × 2 KV heads × (2 × 64 floats + a position) = 2064 bytes per entry; 65 slots.
    assert.match(r.stdout, /\nstate: 2,064 bytes per kept token .*; a state of capacity 64 takes 131\.0 KiB \(134,160 bytes\)\n$/);
  });

  test('inspect: a missing or non-model file is one clear error', async () => {
    const missing = await msrnn('inspect', 'no/such/file.gguf');
    assert.is(missing.status, 1);
    assert.match(missing.stderr, /^msrnn: cannot read model file no\/such\/file\.gguf: ENOENT\n$/);
    const text = await msrnn('inspect', greedyPath);
    assert.is(text.status, 1);
    assert.match(text.stderr, /greedy\.json: it looks like a text file, not a llama2\.c checkpoint/);
  });

  test('inspect a Hugging Face folder: format, architecture, config, tokenizer.json, tensors as [in, out]; the state size equals a real state', async () => {
    const folder = sharedPath('models/hf/mistral-tiny');
    const r = await msrnn('inspect', folder, '--capacity', '16');
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /^folder: .*mistral-tiny \(Hugging Face folder \(safetensors, 2 shards: F16 ×21\), /);
    assert.match(r.stdout, /\narchitecture: mistral\n/);
    assert.match(r.stdout, /\n {2}sliding_window = 16\n/);
    assert.match(r.stdout, /\ntokenizer: tokenizer\.json \(BPE with byte fallback\), 512 tokens, pre-tokenizer Metaspace, \d+ merges\n {2}special: bos 1 "<s>", eos 2 "<\/s>", unknown 0 "<unk>"\n/);
    assert.match(r.stdout, /\n {2}model\.layers\.0\.mlp\.down_proj\.weight +F16 +\[160, 64\] +20,480 bytes\n/);
    const report = JSON.parse((await msrnn('inspect', folder, '--capacity', '16', '--json')).stdout);
    const loaded = await loadModel(folder);
    assert.is(report.parameters, parameterCount(loaded.weights));
    assert.is(report.stateBytes, createState(loaded, { policy: getPolicy('window', { capacity: 16 }) }).bytes());
  });

  test('generate --sliding-window: a Mistral GGUF written without its window (as llama.cpp does) gets it back', async () => {
    const folder = sharedPath('models/hf/mistral-tiny');
    const prompt = 'Hello there, this prompt runs well past a window of sixteen tokens';
    const args = ['--prompt', prompt, '--steps', '12', '--temperature', '0', '--json'];
    const reference = JSON.parse((await msrnn('generate', '--model', folder, ...args)).stdout);
    const dir = mkdtempSync(join(tmpdir(), 'msrnn-window-'));
    const gguf = join(dir, 'mistral.gguf');
    assert.is((await msrnn('convert', '--model', folder, '--sliding-window', 'none', '--to', gguf)).status, 0);
    const windowless = JSON.parse((await msrnn('generate', '--model', gguf, '--tokenizer', folder, ...args)).stdout);
    const restored = JSON.parse((await msrnn('generate', '--model', gguf, '--tokenizer', folder, '--sliding-window', '16', ...args)).stdout);
    assert.equal(restored.generated_tokens, reference.generated_tokens);
    assert.not.equal(windowless.generated_tokens, reference.generated_tokens);
    const bad = await msrnn('generate', '--model', gguf, '--tokenizer', folder, '--sliding-window', '0', ...args);
    assert.match(bad.stderr, /--sliding-window: "0" is not a positive integer/);
  });

  test('generate --json: one object; token ids equal the greedy fixture (run.c)', async () => {
    const run = JSON.parse(readFileSync(greedyPath, 'utf8')).runs[0];
    const r = await msrnn('generate', '--model', model, '--tokenizer', tokenizer, '--prompt', run.prompt, '--steps', '40', '--temperature', '0', '--json');
    assert.is(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.prompt_tokens, run.prompt_tokens);
    assert.equal(out.generated_tokens, run.generated_tokens.slice(0, 40));
    assert.ok(run.generated_text.startsWith(out.text), out.text);
    assert.is(out.state_bytes > 0 && out.state_tokens_seen, run.prompt_tokens.length + 40);
    assert.ok(out.timings.prefill_ms >= 0 && out.timings.generate_ms >= 0);
    assert.is(out.capacity, 'Infinity');
  });
}

test.run();
