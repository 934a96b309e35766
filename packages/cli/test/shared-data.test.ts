// The ../shared guard every suite uses: a missing file fails the run when CI=true and is a loud
// skip (a named warning, exit 0) otherwise.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const script = resolve(import.meta.dirname, 'fixtures/missing-shared.ts');

function run(ci: string | undefined): { status: number | null; out: string } {
  const env = { ...process.env };
  delete env.CI;
  if (ci !== undefined) env.CI = ci;
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', script], { encoding: 'utf8', env, timeout: 60_000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('missing ../shared: fails with CI=true, warns by name without it', () => {
  const ci = run('true');
  assert.is(ci.status, 1, ci.out);
  assert.match(ci.out, /demo suite: shared data[^]*missing shared data: .*no-such-file\.bin/);
  const local = run(undefined);
  assert.is(local.status, 0, local.out);
  assert.match(local.out, /demo suite: SKIPPED, missing .*no-such-file\.bin \(CI=true makes this a failure\)/);
});

test.run();
