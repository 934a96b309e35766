// Hugging Face folders through the command line: --model FOLDER takes the folder's own tokenizer,
// and generate --json reproduces the HF fixtures' greedy continuations (mistral-tiny: two shards, a
// sliding window of 16 on every layer, the Metaspace tokenizer; gemma2-tiny: alternating windows).
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { haveShared, sharedPath } from '../../../scripts/shared-data.js';
import { msrnn } from './run-cli.js';

const names = ['mistral-tiny', 'gemma2-tiny', 'gpt2-tiny'];
const folder = (n: string) => sharedPath(`models/hf/${n}`);
const fixture = (n: string) => sharedPath(`fixtures/hf/${n}.json`);

if (haveShared('cli hf', ...names.map(folder), ...names.map(fixture))) {
  for (const name of names) {
    test(`generate --json --model ${name} (a folder): prompt ids and greedy tokens equal the fixture`, async () => {
      const fx = JSON.parse(readFileSync(fixture(name), 'utf8'));
      const cfg = JSON.parse(readFileSync(`${folder(name)}/config.json`, 'utf8'));
      const eos = [cfg.eos_token_id].flat();
      const run = fx.runs[0];
      const r = await msrnn('generate', '--model', folder(name), '--prompt', run.prompt, '--steps', '32', '--temperature', '0', '--json');
      assert.is(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.match(out.format, /^Hugging Face /);
      assert.equal(out.prompt_tokens, run.prompt_tokens);
      const n = out.generated_tokens.length;
      assert.ok(n > 0, 'generated nothing');
      assert.equal(out.generated_tokens, run.generated_tokens.slice(0, n));
      // The CLI stops at the model's end token; the fixture's generation does not.
      if (n < run.generated_tokens.length) assert.ok(eos.includes(run.generated_tokens[n]), `stopped early at step ${n}`);
    });
  }

  test('a folder with an unknown model_type is one clear error', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'msrnn-hf-'));
    try {
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'rwkv' }));
      writeFileSync(join(dir, 'tokenizer.json'), readFileSync(`${folder('gpt2-tiny')}/tokenizer.json`));
      const r = await msrnn('generate', '--model', dir, '--prompt', 'x', '--steps', '2');
      assert.is.not(r.status, 0);
      assert.match(r.stderr, /model_type "rwkv" is not supported; supported: llama/);
      assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
