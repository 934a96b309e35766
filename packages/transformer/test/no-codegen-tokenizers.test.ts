// Tokenizers and chat templates must work where code generation from strings is forbidden (edge
// runtimes, strict CSP): a child node with that flag loads tokenizer.json folders and a GGUF
// vocabulary and renders a template; its encodings must equal this process's.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseGguf } from '../src/index.js';
import { loadHfTokenizer, tokenizerFromGgufMetadata } from '../src/tokenizers/index.js';
import { haveShared, paths } from './shared.js';

if (haveShared('no-codegen-tokenizers', paths.hfModels, paths.llamaGguf)) {
  test('tokenizer.json, GGUF vocabularies and chat templates run under --disallow-code-generation-from-strings', async () => {
    const r = spawnSync(process.execPath,
      ['--disallow-code-generation-from-strings', '--conditions=source', '--import', 'tsx', join(import.meta.dirname, 'no-codegen-tokenizers-probe.ts'), paths.hfModels, paths.llamaGguf],
      { cwd: resolve(import.meta.dirname, '..'), encoding: 'utf8', timeout: 60_000 });
    assert.is(r.status, 0, `probe failed:\n${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.ok(out.codegenBlocked, 'the flag really forbids new Function in the child');
    for (const name of ['gpt2-tiny', 'qwen2-tiny', 'llama-tiny', 'mistral-tiny']) {
      const tok = await loadHfTokenizer(join(paths.hfModels, name));
      assert.equal(out.encoded[name], tok.encode("Hello world, it's 2024! 😀"), name);
    }
    assert.equal(out.encoded.gguf, tokenizerFromGgufMetadata(parseGguf(readFileSync(paths.llamaGguf)).metadata.entries).encode('Hello world'));
    assert.is(out.chat, '<|user|>hi<|assistant|>');
  });
}

test.run();
