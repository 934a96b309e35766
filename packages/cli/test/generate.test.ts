// `msrnn generate` end to end: the greedy story equals run.c's output byte for byte, a bounded
// state reports a constant size, and bad options fail with a message naming the option.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const repoRoot = resolve(import.meta.dirname, '../../..');
const shared = resolve(repoRoot, '../shared');
const model = resolve(shared, 'models/stories260K.bin');
const tokenizer = resolve(shared, 'models/tok512.bin');
const greedyPath = resolve(shared, 'fixtures/stories260K/greedy.json');

function msrnn(...args: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', resolve(repoRoot, 'packages/cli/src/main.ts'), ...args], {
    encoding: 'utf8', cwd: repoRoot,
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

if (!existsSync(model) || !existsSync(greedyPath)) {
  test('generate: shared data', () => {
    if (process.env.CI) assert.unreachable(`missing ${model} or ${greedyPath}`);
    console.warn('cli generate tests SKIPPED: ../shared not found');
  });
} else {
  const run = JSON.parse(readFileSync(greedyPath, 'utf8')).runs[0];

  test('greedy generation prints exactly what run.c prints, then speed and state size', () => {
    const r = msrnn('generate', '--model', model, '--tokenizer', tokenizer, '--prompt', run.prompt, '--steps', '200', '--temperature', '0');
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout, run.runc_stdout);
    assert.match(r.stderr, /generated 200 tokens in [\d.]+ s: [\d.]+ tok\/s/);
    assert.match(r.stderr, /state: \d+ bytes after 205 tokens \(unbounded/);
  });

  test('bounded policy: the state size does not depend on the text length', () => {
    const bytes = (steps: string): number => {
      const r = msrnn('generate', '--model', model, '--tokenizer', tokenizer, '--steps', steps, '--temperature', '0', '--policy', 'window', '--capacity', '16');
      assert.is(r.status, 0, r.stderr);
      return Number(/state: (\d+) bytes/.exec(r.stderr)![1]);
    };
    assert.is(bytes('20'), bytes('150'));
  });

  test('past the trained context: a warning, not an error, for bounded and unbounded states', () => {
    for (const policy of [[], ['--policy', 'window', '--capacity', '16']]) {
      const r = msrnn('generate', '--model', model, '--tokenizer', tokenizer, '--steps', '600', '--temperature', '0', ...policy);
      assert.is(r.status, 0, r.stderr);
      assert.match(r.stderr, /warning: prompt \(1 tokens\) \+ --steps 600 can run past the trained context of .*stories260K\.bin \(512 tokens\)/);
    }
    const r = msrnn('generate', '--model', model, '--tokenizer', tokenizer, '--steps', '511', '--temperature', '0');
    assert.not.match(r.stderr, /warning/);
  });

  test('bad options name the option', () => {
    const cases: [string[], RegExp][] = [
      [['--capacity', '0', '--policy', 'window'], /--capacity: "0" must be a positive integer or Infinity/],
      [['--capacity', '2.5', '--policy', 'window'], /--capacity/],
      [['--policy', 'nope', '--capacity', '4'], /unknown policy "nope"/],
      [['--steps', '-3'], /--steps/],
      [['--temperature', 'hot'], /--temperature/],
      [['--frobnicate'], /^error: unknown option '--frobnicate'/],
      [['Once upon a time'], /too many arguments for 'generate'/],
      [['--step', '5'], /^error: unknown option '--step' \(Did you mean --steps\?\)/],
      [['--model', resolve(shared, 'models/tok512.bin'), '--tokenizer', tokenizer], /tok512\.bin.*(file size|invalid model header)/],
      [['--model', model, '--tokenizer', resolve(shared, 'models')], /cannot read tokenizer file .*models: EISDIR/],
      // ../shared/models/tokenizer.bin (Llama 2, 32000 pieces) sits beside stories260K.bin (vocab 512).
      [['--model', model], /tokenizer\.bin: has 32000 pieces but the model's vocabulary size is 512 \(it was taken from beside --model; give --tokenizer FILE\)/],
    ];
    for (const [args, message] of cases) {
      const r = msrnn('generate', ...args);
      assert.is.not(r.status, 0, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
      // One line (no usage dump, no stack trace) and nothing on stdout.
      assert.is(r.stderr.trimEnd().split('\n').length, 1, `${args.join(' ')}:\n${r.stderr}`);
      assert.is(r.stdout, '', args.join(' '));
    }
  });
}

test.run();
