// `msrnn convert`: each direction writes the file, loads it back and prints the logit checks; a
// check past its limit, an unknown type or format, and an existing output are clear errors.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadModel } from '@msrnn/transformer';
import { compareLogits, verificationTokens } from '@msrnn/transformer/export';
import { haveShared, sharedPath } from '../../../scripts/shared-data.js';
import { msrnn } from './run-cli.js';

const model = sharedPath('models/stories260K.bin');
const tokenizer = sharedPath('models/tok512.bin');
const mistral = sharedPath('models/hf/mistral-tiny');

if (haveShared('cli convert', model, tokenizer, mistral)) {
  const dir = mkdtempSync(join(tmpdir(), 'msrnn-convert-'));

  test('llama2.c → GGUF Q8_0 → Hugging Face folder → llama2.c: each written, loaded back and checked', async () => {
    const gguf = join(dir, 'stories.gguf'), folder = join(dir, 'stories-hf'), back = join(dir, 'back.bin');
    let r = await msrnn('convert', '--model', model, '--tokenizer', tokenizer, '--to', gguf, '--type', 'q8_0');
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /^wrote .*stories\.gguf: GGUF v3 llama: Q8_0 ×31, F32 ×11, F16 ×5\n/);
    assert.match(r.stdout, /note: ffn_down\.weight: rows are not whole Q8_0 blocks of 32, written as F16 \(as ggml does\)/);
    assert.match(r.stdout, /check: the source rounded to Q8_0: 32 tokens, max \|logit diff\| \d\.\d\de[-+]\d+ \(limit 1\.70e-3\)/);
    assert.match(r.stdout, /check: the source: 32 tokens/);
    r = await msrnn('convert', '--model', gguf, '--to', folder, '--json');
    assert.is(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.match(summary.format, /^Hugging Face llama/);
    assert.ok(summary.checks.every((c: { passed: boolean }) => c.passed));
    assert.ok(existsSync(join(folder, 'tokenizer.json')) && existsSync(join(folder, 'tokenizer_config.json')));
    r = await msrnn('convert', '--model', folder, '--to', back);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /wrote .*back\.bin: llama2\.c v1\n/);
    // The round trip holds the Q8_0 rounding: the same logits as the GGUF.
    const [a, b] = [await loadModel(gguf), await loadModel(back)];
    assert.ok(compareLogits(a, b, verificationTokens(a)).maxAbsDiff < 1e-4);
    assert.equal(JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')).architectures, ['LlamaForCausalLM']);
  });

  test('mistral folder → GGUF keeps its sliding window (the check runs 32 tokens past the window of 16)', async () => {
    const r = await msrnn('convert', '--model', mistral, '--to', join(dir, 'mistral.gguf'), '--type', 'f16');
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /note: tokenizer not embedded: written as GGUF metadata it would encode differently/);
    assert.match(r.stdout, /check: the source rounded to F16: 32 tokens, max \|logit diff\| 0\.00e\+0/);
  });

  test('bad requests are clear errors', async () => {
    const fails = async (args: string[], message: RegExp) => {
      const r = await msrnn('convert', '--model', model, '--tokenizer', tokenizer, ...args);
      assert.is(r.status, 1, args.join(' '));
      assert.match(r.stderr, message);
    };
    await fails(['--to', join(dir, 'x.gguf'), '--type', 'q4_k'], /GGUF type "Q4_K" cannot be written \(writable: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1\)/);
    await fails(['--to', join(dir, 'x.bin'), '--type', 'f16'], /a llama2\.c checkpoint holds F32 only/);
    await fails(['--to', join(dir, 'x.onnx')], /say the format with the name \(\.gguf, \.bin, or a folder\) or --format gguf\|hf\|llama2c/);
    await fails(['--to', join(dir, 'x'), '--format', 'onnx'], /--format onnx: not a format \(known: gguf, hf, llama2c\)/);
    await fails(['--to', join(dir, 'stories.gguf')], /stories\.gguf exists; give --force to replace it/);
    await fails(['--to', join(dir, 'y.gguf'), '--tokens', '0'], /--tokens: "0" is not a positive integer/);
  });
}

test.run();
