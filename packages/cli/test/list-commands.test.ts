// ppl and recall, the commands that sweep a list of policies × capacities: without --capacities
// both run the same grid, and --kv-bytes (one capacity per policy, from a byte budget) refuses the
// same policies with the same words as the one-policy commands (generate, trace). Runs on the
// repo's own model (models/default): no ../shared needed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { msrnn, repoRoot } from './run-cli.js';

const model = ['--model', join(repoRoot, 'models/default/model.bin')];
/** The default grid the two commands' help texts promise. */
const promised = [16, 32, 64, 128, 256];

test('ppl and recall without --capacities both sweep 16, 32, 64, 128, 256', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'msrnn-grid-'));
  try {
    const text = join(dir, 'text.json'), pplCsv = join(dir, 'ppl.csv'), recallCsv = join(dir, 'recall.csv');
    writeFileSync(text, JSON.stringify([Array.from({ length: 24 }, (_, i) => 1 + ((i * 37) % 500))]));
    const ppl = await msrnn('ppl', ...model, '--text', text, '--chunk', '24', '--chunks', '1', '--policies', 'window', '--threads', '1', '--no-progress', '--csv', pplCsv);
    const recall = await msrnn('recall', ...model, '--tasks', 'assoc', '--policies', 'window', '--sizes', '64', '--depths', '0', '--examples', '1', '--csv', recallCsv);
    for (const [name, r, csv] of [['ppl', ppl, pplCsv], ['recall', recall, recallCsv]] as const) {
      assert.is(r.status, 0, `${name}: ${r.stderr}`);
      // Column 3 of both CSVs is the capacity.
      const capacities = readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((row) => Number(row.split(',')[2]));
      assert.equal(capacities, promised, name);
      const help = await msrnn(name, '--help');
      assert.match(help.stdout.replace(/\s+/g, ' '), `default ${promised.join(',')}`, `${name} --help`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--kv-bytes refuses a policy it cannot bound with the same error in generate, trace, ppl and recall', async () => {
  const commands: Record<string, (policy: string) => string[]> = {
    generate: (p) => ['generate', ...model, '--prompt', 'x', '--policy', p],
    trace: (p) => ['trace', ...model, '--text', 'x.txt', '--policy', p],
    ppl: (p) => ['ppl', ...model, '--text', 'x.txt', '--policies', `window,${p}`],
    recall: (p) => ['recall', ...model, '--policies', `window,${p}`],
  };
  for (const [policy, error] of [
    ['full', 'msrnn: --kv-bytes bounds the state, but policy "full" keeps every entry; pick an eviction policy\n'],
    ['local', 'msrnn: --kv-bytes gives a capacity, but policy "local" takes a ratio budget (a share of the tokens seen); pick one with a capacity\n'],
  ] as const) {
    for (const [name, args] of Object.entries(commands)) {
      const r = await msrnn(...args(policy), '--kv-bytes', '4MB');
      assert.is(r.status, 1, `${name} --policy ${policy}`);
      assert.is(r.stderr, error, `${name} --policy ${policy}`);
    }
  }
  const unknown = await msrnn(...commands.generate!('fifo'), '--kv-bytes', '4MB');
  assert.match(unknown.stderr, /^msrnn: --policy: unknown policy "fifo"/);
});

test.run();
