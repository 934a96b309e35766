// --kv and --kv-bytes on the commands: the capacity a byte budget allows follows the entry-size
// formula (written out here), a q8 state saved by generate resumes as q8 token for token, and
// every command that runs a model takes --kv and names it in its errors.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { haveShared, sharedPath } from '../../../scripts/shared-data.js';
import { msrnn, repoRoot } from './run-cli.js';

const model = sharedPath('models/stories260K.bin');
const tokenizer = sharedPath('models/tok512.bin');
const text = sharedPath('text/austen_3_persuasion.txt');

if (haveShared('cli kv', model, tokenizer, text)) {
  const files = ['--model', model, '--tokenizer', tokenizer];
  // stories260K: 5 layers, 4 KV heads of 8 dims. An entry per KV head: key + value rows and a 4-byte position.
  const entry = { f32: 2 * 8 * 4 + 4, f16: 2 * 8 * 2 + 4, q8: 2 * (8 + 4) + 4 };

  test('--kv-bytes: the largest capacity whose k + 1 slots per head fit, printed; the state allocates what it says', async () => {
    for (const kv of ['f32', 'f16', 'q8'] as const) {
      const r = await msrnn('generate', ...files, '--prompt', 'Once', '--steps', '5', '--temperature', '0', '--policy', 'tova', '--kv', kv, '--kv-bytes', '100KB');
      assert.is(r.status, 0, r.stderr);
      const perSlot = 5 * 4 * entry[kv], k = Math.floor(100_000 / perSlot) - 1;
      assert.match(r.stderr, new RegExp(`--kv-bytes 100000: capacity ${k} per layer \\(${kv} entries, ${perSlot} bytes per token over 5 layers × 4 KV heads; state ${(k + 1) * perSlot} bytes\\)`));
      assert.match(r.stderr, new RegExp(`capacity ${k} \\(${(k + 1) * perSlot} bytes allocated, never more\\), kv ${kv}`));
    }
  });

  test('--kv-bytes errors: too small, not a size, with --capacity, with an unbounded policy', async () => {
    const gen = (...a: string[]) => msrnn('generate', ...files, '--prompt', 'x', '--steps', '1', ...a);
    const cases: [string[], RegExp][] = [
      [['--policy', 'tova', '--kv-bytes', '1KB'], /--kv-bytes 1000: too small for a bounded state: capacity 1 needs 2720 bytes \(2 slots × 5 layers × 4 KV heads × 68 bytes per f32 entry\)/],
      [['--policy', 'tova', '--kv-bytes', '4 parsecs'], /--kv-bytes: "4 parsecs" is not a size/],
      [['--policy', 'tova', '--kv-bytes', '0'], /--kv-bytes: "0" is not a size/],
      [['--policy', 'tova', '--kv-bytes', '4MB', '--capacity', '8'], /give --capacity or --kv-bytes, not both/],
      [['--policy', 'full', '--kv-bytes', '4MB'], /--kv-bytes bounds the state, but policy "full" keeps every entry/],
    ];
    for (const [args, pattern] of cases) {
      const r = await gen(...args);
      assert.is(r.status, 1, args.join(' '));
      assert.match(r.stderr, pattern);
    }
    const t = await msrnn('trace', ...files, '--text', text, '--tokens', '40', '--kv-bytes', '2KB');
    assert.is(t.status, 1);
    assert.match(t.stderr, /--kv-bytes 2000: too small/);
  });

  test('a q8 state saved by generate resumes as q8 and continues token for token', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'msrnn-kv-')), 'q8.state');
    const common = [...files, '--json', '--temperature', '0', '--policy', 'h2o', '--capacity', '12', '--kv', 'q8'];
    const whole = await msrnn('generate', ...common, '--prompt', 'Once upon a time', '--steps', '30');
    const first = await msrnn('generate', ...common, '--prompt', 'Once upon a time', '--steps', '12', '--save-state', file);
    const rest = await msrnn('generate', ...files, '--json', '--resume', file, '--steps', '18');
    for (const r of [whole, first, rest]) assert.is(r.status, 0, r.stderr);
    assert.match(rest.stderr, /its policy, kv type and sampling settings are used/);
    assert.is(JSON.parse(rest.stdout).kv, 'q8');
    const tokens = (r: { stdout: string }) => JSON.parse(r.stdout).generated_tokens as number[];
    assert.equal([...tokens(first), ...tokens(rest)], tokens(whole));
  });

  test('every command that runs a model takes --kv; a bad type names the flag', async () => {
    const ok = [
      ['ppl', ...files, '--text', text, '--chunk', '48', '--chunks', '1', '--policies', 'window', '--capacities', '8', '--threads', '1', '--kv', 'f16'],
      ['trace', ...files, '--text', text, '--tokens', '40', '--capacity', '8', '--kv', 'q8'],
      ['recall', ...files, '--tasks', 'assoc', '--policies', 'window', '--capacities', '8', '--sizes', '64', '--depths', '0', '--examples', '1', '--kv', 'q8'],
    ];
    for (const args of ok) {
      const r = await msrnn(...args);
      assert.is(r.status, 0, `${args[0]}: ${r.stderr}`);
    }
    // Sentinel compression builds its own state: the kv type reaches it too.
    const sentinelModel = join(repoRoot, 'models/sentinel-0.5/model.bin');
    const sent = await msrnn('generate', '--model', sentinelModel, '--prompt', 'It was', '--steps', '20', '--temperature', '0', '--sentinel', 'every=8', '--kv', 'q8');
    assert.is(sent.status, 0, sent.stderr);
    assert.match(sent.stderr, /every=8.*kv q8/);
    for (const cmd of [['generate', '--prompt', 'x'], ['ppl', '--text', text], ['trace', '--text', text], ['recall'], ['bench', '--model', model]]) {
      const r = await msrnn(cmd[0]!, ...cmd.slice(1), '--kv', 'int4');
      assert.is(r.status, 1, cmd.join(' '));
      assert.match(r.stderr, /--kv must be one of f32, f16, q8, got "int4"/, cmd.join(' '));
    }
  });
}

test.run();
