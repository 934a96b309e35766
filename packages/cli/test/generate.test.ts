// `msrnn generate` end to end: the greedy story equals run.c's output byte for byte, a bounded
// state reports a constant size, and bad options fail with a message naming the option.
// In-process (runCli) except where the process itself is under test.
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { haveShared, sharedPath } from '../../../scripts/shared-data.js';
import { msrnn, msrnnProcess } from './run-cli.js';

const model = sharedPath('models/stories260K.bin');
const tokenizer = sharedPath('models/tok512.bin');
const greedyPath = sharedPath('fixtures/stories260K/greedy.json');

if (haveShared('cli generate', model, tokenizer, greedyPath)) {
  const run = JSON.parse(readFileSync(greedyPath, 'utf8')).runs[0];

  test('as a process: greedy generation prints exactly what run.c prints, then speed and state size; exit status 0', () => {
    const r = msrnnProcess(['generate', '--model', model, '--tokenizer', tokenizer, '--prompt', run.prompt, '--steps', '200', '--temperature', '0']);
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout, run.runc_stdout);
    assert.match(r.stderr, /generated 200 tokens in [\d.]+ s: [\d.]+ tok\/s/);
    assert.match(r.stderr, /state: \d+ bytes after 205 tokens \(unbounded/);
  });

  test('as a process: a bad option is one line on stderr, nothing on stdout, exit status 1 (usage errors too)', () => {
    const bad = msrnnProcess(['generate', '--capacity', '0', '--policy', 'window']);
    assert.is(bad.status, 1);
    assert.is(bad.stdout, '');
    assert.match(bad.stderr, /^msrnn: --capacity must be a positive integer or Infinity, got 0\n$/);
    const usage = msrnnProcess(['generate', '--frobnicate']);
    assert.is(usage.status, 1);
    assert.match(usage.stderr, /^error: unknown option '--frobnicate'\n$/);
  });

  test('--save-state then --resume continues seeded sampling token for token (bounded TOVA state)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msrnn-resume-'));
    const file = join(dir, 'run.state');
    const common = ['--model', model, '--tokenizer', tokenizer, '--json', '--seed', '7', '--temperature', '0.8', '--policy', 'tova', '--capacity', '16'];
    const whole = await msrnn('generate', ...common, '--prompt', 'Once upon a time', '--steps', '40');
    assert.is(whole.status, 0, whole.stderr);
    const first = await msrnn('generate', ...common, '--prompt', 'Once upon a time', '--steps', '15', '--save-state', file);
    assert.is(first.status, 0, first.stderr);
    assert.match(first.stderr, /saved state: .* bytes, \d+ tokens seen/);
    const rest = await msrnn('generate', '--model', model, '--tokenizer', tokenizer, '--json', '--resume', file, '--steps', '25');
    assert.is(rest.status, 0, rest.stderr);
    const tokens = (r: { stdout: string }) => JSON.parse(r.stdout).generated_tokens as number[];
    assert.equal([...tokens(first), ...tokens(rest)], tokens(whole));
    const bad = await msrnn('generate', '--model', model, '--tokenizer', tokenizer, '--resume', file, '--prompt', 'x');
    assert.is(bad.status, 1);
    assert.match(bad.stderr, /--resume continues the saved text/);
    const corrupt = readFileSync(file); corrupt[corrupt.length - 9]! ^= 1;
    const cf = join(dir, 'corrupt.state'); writeFileSync(cf, corrupt);
    const c = await msrnn('generate', '--model', model, '--tokenizer', tokenizer, '--resume', cf);
    assert.is(c.status, 1);
    assert.match(c.stderr, /checksum mismatch/);
  });

  test('in-process output equals the process output (greedy run.c story)', async () => {
    const r = await msrnn('generate', '--model', model, '--tokenizer', tokenizer, '--prompt', run.prompt, '--steps', '200', '--temperature', '0');
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout, run.runc_stdout);
  });

  test('--tokenizer also takes a tokenizer.json, its folder or a GGUF file: same vocabulary, same prompt ids and greedy tokens', async () => {
    const json = async (tok: string) => {
      const r = await msrnn('generate', '--model', model, '--tokenizer', tok, '--prompt', 'Once upon a time, Lily', '--steps', '40', '--temperature', '0', '--json');
      assert.is(r.status, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const base = await json(tokenizer);
    for (const tok of [sharedPath('models/hf/stories260K'), sharedPath('models/hf/stories260K/tokenizer.json'), sharedPath('models/gguf/stories260K-F32.gguf')]) {
      const r = await json(tok);
      assert.equal(r.prompt_tokens, base.prompt_tokens, tok);
      assert.equal(r.generated_tokens, base.generated_tokens, tok);
      assert.is(r.text, base.text, tok);
    }
  });

  test('bounded policy: the state size does not depend on the text length', async () => {
    const bytes = async (steps: string): Promise<number> => {
      const r = await msrnn('generate', '--model', model, '--tokenizer', tokenizer, '--steps', steps, '--temperature', '0', '--policy', 'window', '--capacity', '16');
      assert.is(r.status, 0, r.stderr);
      return Number(/state: (\d+) bytes/.exec(r.stderr)![1]);
    };
    assert.is(await bytes('20'), await bytes('150'));
  });

  test('past the trained context: a warning, not an error, for bounded and unbounded states', async () => {
    for (const policy of [[], ['--policy', 'window', '--capacity', '16']]) {
      const r = await msrnn('generate', '--model', model, '--tokenizer', tokenizer, '--steps', '600', '--temperature', '0', ...policy);
      assert.is(r.status, 0, r.stderr);
      assert.match(r.stderr, /warning: prompt \(1 token\) \+ --steps 600 can run past the trained context of .*stories260K\.bin \(512 tokens\)/);
    }
    const r = await msrnn('generate', '--model', model, '--tokenizer', tokenizer, '--steps', '511', '--temperature', '0');
    assert.not.match(r.stderr, /warning/);
  });

  test('--model alone: the tokenizer beside it whose size fits is taken, and named (../shared/models has tokenizer.bin and tok512.bin)', async () => {
    const r = await msrnn('generate', '--model', model, '--prompt', run.prompt, '--steps', '200', '--temperature', '0');
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout, run.runc_stdout);
    assert.match(r.stderr, /^msrnn generate: tokenizer: .*tok512\.bin \(found beside --model: its 512 pieces match the model's vocabulary; also there: tokenizer\.bin\)$/m);
  });

  test('bad options name the option', async () => {
    const lonely = mkdtempSync(join(tmpdir(), 'msrnn-gen-')), empty = mkdtempSync(join(tmpdir(), 'msrnn-gen-'));
    symlinkSync(model, join(lonely, 'stories260K.bin'));
    symlinkSync(sharedPath('models/tokenizer.bin'), join(lonely, 'tokenizer.bin'));
    symlinkSync(model, join(empty, 'stories260K.bin'));
    const cases: [string[], RegExp][] = [
      [['--capacity', '0', '--policy', 'window'], /--capacity must be a positive integer or Infinity, got 0/],
      [['--capacity', '2.5', '--policy', 'window'], /--capacity/],
      [['--policy', 'nope', '--capacity', '4'], /unknown policy "nope"/],
      [['--steps', '-3'], /--steps/],
      [['--temperature', 'hot'], /--temperature/],
      [['--prompt-activations', 'int8'], /--prompt-activations must be one of "exact", "q8_0", got "int8"/],
      [['--frobnicate'], /^error: unknown option '--frobnicate'/],
      [['Once upon a time'], /too many arguments for 'generate'/],
      [['--step', '5'], /^error: unknown option '--step' \(Did you mean --steps\?\)/],
      [['--model', tokenizer, '--tokenizer', tokenizer], /tok512\.bin.*(file size|invalid model header)/],
      [['--model', model, '--tokenizer', sharedPath('models')], /models: no tokenizer\.json/],
      [['--model', model, '--tokenizer', sharedPath('models/hf/qwen2-tiny')], /has 1024 tokens but the model's vocabulary has only 512/],
      // Beside this copy of stories260K.bin (vocab 512) only Llama 2's tokenizer.bin (32000 pieces).
      [['--model', join(lonely, 'stories260K.bin')], /no tokenizer beside --model fits its vocabulary of 512: .*tokenizer\.bin: has 32000 pieces but the model's vocabulary size is 512; give --tokenizer FILE/],
      [['--model', join(empty, 'stories260K.bin')], /--tokenizer is required with --model .*stories260K\.bin \(no tokenizer\.bin or tok\*\.bin beside it\)/],
    ];
    for (const [args, message] of cases) {
      const r = await msrnn('generate', ...args);
      assert.is.not(r.status, 0, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
      // One line (no usage dump, no stack trace) and nothing on stdout.
      assert.is(r.stderr.trimEnd().split('\n').length, 1, `${args.join(' ')}:\n${r.stderr}`);
      assert.is(r.stdout, '', args.join(' '));
    }
  });
}

test.run();
