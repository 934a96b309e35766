// Running `msrnn` in tests: in-process through runCli (fast: no new process, no second tsx
// start-up), or as a real process where the process itself is under test (exit status,
// streaming to a pipe).
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { runCli } from '../src/cli.js';

export interface CliResult {
  stdout: string;
  stderr: string;
  status: number | null;
}

export const repoRoot = resolve(import.meta.dirname, '../../..');

/** `msrnn ...args` in this process, its output captured. */
export async function msrnn(...args: string[]): Promise<CliResult> {
  let stdout = '', stderr = '';
  const status = await runCli(args, {
    stdout: { write: (s: string) => { stdout += s; } },
    stderr: { write: (s: string) => { stderr += s; } },
  });
  return { stdout, stderr, status };
}

/** `msrnn ...args` in-process; throws an Error with its stderr when the status is not 0. */
export async function msrnnOk(...args: string[]): Promise<CliResult> {
  const r = await msrnn(...args);
  if (r.status !== 0) throw new Error(r.stderr.replace(/^msrnn: /, '').trimEnd());
  return r;
}

/** `msrnn ...args` as a child process (node + tsx on the sources), from the repo root. */
export function msrnnProcess(args: string[], opts: { timeout?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', resolve(repoRoot, 'packages/cli/src/main.ts'), ...args], {
    encoding: 'utf8', cwd: repoRoot, timeout: opts.timeout ?? 120_000,
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}
