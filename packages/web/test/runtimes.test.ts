// Deno and Bun (from their npm packages), and Node as the baseline, run the stories260K greedy fixture on js, wasm and wasm
// with 2 and 3 Web Worker threads, token for token, and the RNN-view example, from the TypeScript
// sources, with nothing on stderr; Deno loads model files by reads at offsets, never whole.
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { haveShared, paths } from '../../transformer/test/shared.js';

// The packages' real binaries (not node_modules/.bin's shell shims, which would outlive a kill).
const bin = (path: string) => resolve(import.meta.dirname, '../node_modules', path);
const repo = resolve(import.meta.dirname, '../../..');
const greedyPath = resolve(paths.fixtures, 'greedy.json');
const hfFolder = resolve(paths.hfModels, 'stories260K');

// Deno: --unstable-sloppy-imports maps the sources' NodeNext-style './x.js' imports to ./x.ts.
const runtimes: [string, string[]][] = [
  ['deno', [bin('deno/deno'), 'run', '--allow-read', '--allow-env', '--unstable-sloppy-imports', '--conditions=source']],
  ['bun', [bin('bun/bin/bun.exe'), '--conditions=source']],
  // Node itself through the same probe: its kernel workers are worker_threads.
  ['node', [process.execPath, '--conditions=source', '--import', 'tsx']],
];

function run(cmd: string[], args: string[]) {
  const r = spawnSync(cmd[0]!, [...cmd.slice(1), ...args], {
    cwd: repo, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
  });
  if (r.error) throw r.error;
  return r;
}

if (haveShared('runtimes', paths.model, paths.tokenizer, greedyPath, paths.llamaGguf, hfFolder)) {
  const greedy = JSON.parse(readFileSync(greedyPath, 'utf8'));
  const expectedTokens = greedy.runs.reduce((n: number, r: { generated_tokens: number[] }) => n + r.generated_tokens.length, 0);

  // Deno reads a model file through a file handle, at offsets, in pieces (as Node does), never whole.
  test('deno: a llama2.c file, a GGUF file and a Hugging Face folder load by reads at offsets, none whole (only JSON files are), with the logits of the same bytes read whole', () => {
    const files = { [paths.model]: paths.model, [paths.llamaGguf]: paths.llamaGguf, [hfFolder]: resolve(hfFolder, 'model.safetensors') };
    const r = run(runtimes[0]![1], ['packages/web/test/deno-read-probe.ts', ...Object.keys(files)]);
    assert.is(r.stderr, '', 'deno stderr');
    assert.is(r.status, 0, `deno exit ${r.status}: ${r.stdout}`);
    const probe: { whole: string[]; reads: [string, number][]; models: { path: string; format: string; sameLogits: boolean }[] } = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(probe.whole.filter((p) => !p.endsWith('.json')), [], 'read whole (Deno.readFile): only JSON files');
    for (const [path, modelFile] of Object.entries(files)) {
      const lengths = probe.reads.filter(([p]) => p === modelFile).map(([, n]) => n);
      const size = statSync(modelFile).size;
      assert.ok(lengths.length > 1 && Math.max(...lengths) < size, `${modelFile}: ${lengths.length} reads, the largest ${Math.max(...lengths)} of ${size} bytes`);
      const loaded = probe.models.find((m) => m.path === path);
      assert.ok(loaded?.sameLogits, `${path} (${loaded?.format}): the logits of the model loaded from its bytes`);
    }
  });

  for (const [name, cmd] of runtimes) {
    test(`${name}: stories260K greedy fixture on js, wasm, wasm×2, wasm×3 (${name === 'node' ? 'worker_threads' : 'Web Workers'}), no error output`, () => {
      const r = run(cmd, ['packages/web/test/runtime-probe.ts', paths.model, paths.tokenizer, greedyPath]);
      assert.is(r.stderr, '', `${name} stderr`);
      assert.is(r.status, 0, `${name} exit ${r.status}: ${r.stdout}`);
      const { runs } = JSON.parse(r.stdout.trim().split('\n').pop()!);
      console.log(`${name}: ${runs.map((x: any) => `${x.backend}×${x.threads} ${x.tokPerS} tok/s`).join(', ')}`);
      assert.equal(runs.map((x: any) => `${x.backend}×${x.threads}`), ['js×1', 'wasm×1', 'wasm×2', 'wasm×3']);
      for (const x of runs) {
        assert.ok(x.ok, `${name} ${x.backend}×${x.threads} matches the fixture`);
        assert.is(x.tokens, expectedTokens);
      }
    });

    test(`${name}: the RNN-view example runs, no error output`, () => {
      const r = run(cmd, ['examples/rnn-view.ts', '--model', paths.model, '--tokenizer', paths.tokenizer, '--tokens', '200', '--window', '16']);
      assert.is(r.stderr, '', `${name} stderr`);
      assert.is(r.status, 0);
      assert.match(r.stdout, /max \|logit difference\| = \d/);
      const lines = r.stdout.trim().split('\n');
      const last = lines.filter((l) => /^\s*\d+ \|/.test(l)).pop()!.trim().split(/\s+/);
      // (d), the hand-written step, reproduces step() exactly on this runtime too.
      assert.match(lines.at(-1)!, /^\(d\) .*max \|logit difference\| from step\(\) = 0\.00e\+0$/);
      // "200 | 16 <bytes> | 200 <bytes>": 200 tokens seen, the bounded state holds 16 entries per layer.
      assert.equal([last[0], last[2], last[5]], ['200', '16', '200']);
    });
  }
}

test.run();
