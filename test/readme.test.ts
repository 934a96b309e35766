// Every command a README shows runs as written, and every TypeScript snippet typechecks and runs.
// The READMEs: the root one, each package's markdown files, examples/README.md (models/default
// and tools/train describe hours of Python training and are not run here). Blocks are read
// when the test runs, so a new or edited block is covered without touching this file.
//
// Shell blocks (sh/bash/shell), from the repo root, one line (or `\`-continued line) at a time:
//  - `npx [-y] pnpm@9.15.9 msrnn ARGS` and `node scripts/run-ts.mjs packages/cli/src/main.ts ARGS`
//    (what the `msrnn` script is, checked below) run in this process through runCli, which is
//    what that script runs (`msrnn profile` as a process of its own: it changes a V8 flag while it
//    runs); one test runs the `npx pnpm@9.15.9 msrnn` prefix itself as a process;
//  - `npx [-y] pnpm@9.15.9 SCRIPT` expands the root package.json script and runs that;
//  - `install` and `run ci` are what CI itself runs before this test: only checked to exist;
//  - anything else (mkdir, node scripts/run-ts.mjs SCRIPT, a pipe) runs through bash; a server
//    (it prints a local http:// address and keeps running) passes when the address answers 200.
// Sizes are shrunk (see shrink(): fewer steps/chunks/tokens/seconds, the 15M model shape only) so
// the whole README runs in seconds; MSRNN_README_FULL=1 runs every command at its full size.
//
// TypeScript blocks are written to examples/.readme-snippets (where @msrnn/* resolve), typechecked
// together with the repo's compiler options, then imported in this process with the working
// directory a scratch folder where the placeholder file names the snippets use (model.bin,
// tokenizer.bin, stories260K.bin, tok512.bin) are ../shared's stories260K and its tokenizer.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import ts from 'typescript';
import { runCli } from '../packages/cli/src/cli.js';
import { haveShared, sharedPath } from '../scripts/shared-data.js';
import {
  andList, blocks, commandLines, readmes, shellQuote, shellWords, shrink, shrinkScript, SHELL_LANGS, TS_LANGS, type Block,
} from './readme-commands.js';

const root = resolve(import.meta.dirname, '..');
const full = process.env.MSRNN_README_FULL === '1';
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const PNPM = /^pnpm@\d+\.\d+\.\d+$/;
const CLI_ENTRY = ['node', 'scripts/run-ts.mjs', 'packages/cli/src/main.ts'];

const all = readmes(root).flatMap((f) => blocks(f, root));
const shellBlocks = all.filter((b) => SHELL_LANGS.has(b.lang));
const tsBlocks = all.filter((b) => TS_LANGS.has(b.lang));

test('README helpers: shell words, comments, && lists, shrinking', () => {
  assert.equal(commandLines('# c\nnpx a "b c" \\\n  --d 1  # e\n'), ['npx a "b c"    --d 1']);
  assert.equal(shellWords(`mkdir -p out && npx pnpm@9.15.9 msrnn generate --prompt "It \\"was\\"" --x 'y z'`),
    ['mkdir', '-p', 'out', '&&', 'npx', 'pnpm@9.15.9', 'msrnn', 'generate', '--prompt', 'It "was"', '--x', 'y z']);
  assert.is(shellWords('head -c 10 a > b'), null);
  assert.is(shellWords('A=1 node x'), null);
  assert.equal(andList(['a', '&&', 'b', 'c']), [['a'], ['b', 'c']]);
  assert.equal(shrink(['generate', '--steps', '2000']), ['generate', '--steps', '16']);
  assert.equal(shrink(['generate', '--steps', '5']), ['generate', '--steps', '5']);
  assert.equal(shrink(['ppl', '--chunks', '16']), ['ppl', '--chunks', '1', '--chunk', '128']);
  assert.equal(shrink(['bench', '--shapes', '42M,110M']), ['bench', '--shapes', '15M', '--seconds', '0.01', '--long-position', '1024', '--bounded', '64']);
  assert.equal(shrink(['bench', '--shapes', 'qwen2.5-0.5b,smollm2-135m', '--weights', 'q8,f16', '--prompt', '512']),
    ['bench', '--shapes', 'smollm2-135m', '--weights', 'q4_k_m', '--prompt', '16', '--seconds', '0.01', '--long-position', '1024', '--bounded', '64', '--threads', '1']);
  assert.equal(shrinkScript('x.bench.ts', []), ['--time', '5']);
  assert.equal(shrinkScript('x.bench.ts', ['--time', '300', '--rounds', '9']), ['--time', '5', '--rounds', '2']);
});

test('the msrnn script is the CLI entry the in-process runs stand for', () => {
  assert.equal(shellWords(pkg.scripts.msrnn!), CLI_ENTRY);
});

interface Outcome { status: number | null; output: string }

/** Outcomes of in-process commands by their (shrunk) words: the same command in two READMEs runs once. */
const ran = new Map<string, Outcome>();

async function inProcess(args: string[]): Promise<Outcome> {
  const run = full ? args : shrink(args);
  const key = JSON.stringify(run);
  const earlier = ran.get(key);
  if (earlier) return earlier;
  let output = '';
  const sink = { write: (s: string) => { output += s; } };
  const status = await runCli(run, { stdout: sink, stderr: sink });
  ran.set(key, { status, output });
  return { status, output };
}

/**
 * Runs a command through bash from the repo root. A server (it prints a local http:// address and
 * keeps running) passes when that address answers 200; it is then stopped with its process group.
 */
function viaBash(command: string): Promise<Outcome> {
  return new Promise((done) => {
    const child = spawn('bash', ['-c', command], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '', settled = false;
    const finish = (o: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* already gone */ }
      done(o);
    };
    const timer = setTimeout(() => finish({ status: null, output: `${output}\n(still running after 300 s)` }), 300_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /https?:\/\/(?:127\.0\.0\.1|localhost|\[::1\]):\d+\/\S*/.exec(output)?.[0];
      if (url && !settled) {
        fetch(url).then(
          (res) => finish({ status: res.ok ? 0 : 1, output: `${output}\n(served ${url}: HTTP ${res.status})` }),
          (err) => finish({ status: 1, output: `${output}\n(fetching ${url}: ${err})` }),
        );
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => finish({ status: null, output: `${output}${err}` }));
    child.on('close', (status) => finish({ status, output }));
  });
}

/** Runs one simple command (words, no &&); `where` names it in failures. */
async function runWords(words: string[], where: string): Promise<Outcome | 'setup'> {
  // npx [-y] pnpm@X ...
  if (words[0] === 'npx') {
    const rest = words.slice(1).filter((w) => w !== '-y');
    assert.ok(PNPM.test(rest[0] ?? ''), `${where}: npx runs ${rest[0]}, expected pnpm@<version> as the root README sets up`);
    // pnpm's own options before the script name (--silent: no banner) change nothing in-process.
    const afterOptions = rest.slice(1);
    while (afterOptions[0] === '--silent' || afterOptions[0] === '-s') afterOptions.shift();
    const [sub, ...args] = afterOptions;
    if (sub === 'install' || (sub === 'run' && args[0] === 'ci' && args.length === 1)) {
      if (sub === 'run') assert.ok(pkg.scripts.ci, `${where}: no "ci" script`);
      return 'setup';
    }
    const name = sub === 'run' ? args.shift() : sub;
    const script = pkg.scripts[name ?? ''];
    assert.ok(script, `${where}: package.json has no script "${name}"`);
    const expanded = shellWords(script);
    assert.ok(expanded, `${where}: script "${name}" is not a simple command: ${script}`);
    return runWords([...expanded, ...args], where);
  }
  if (words.slice(0, 3).join(' ') === CLI_ENTRY.join(' ')) {
    // `msrnn profile` attaches an inspector session and changes a V8 flag while it runs: its own process.
    if (words[3] === 'profile') return await viaBash([...CLI_ENTRY, ...(full ? words.slice(3) : shrink(words.slice(3)))].map(shellQuote).join(' '));
    return inProcess(words.slice(3));
  }
  if (words[0] === 'msrnn') assert.unreachable(`${where}: a bare "msrnn" is not on PATH in a fresh clone; write npx pnpm@9.15.9 msrnn`);
  if (words[0] === 'node' && words[1] === 'scripts/run-ts.mjs' && words[2]) {
    const args = full ? words.slice(3) : shrinkScript(words[2], words.slice(3));
    return await viaBash(['node', 'scripts/run-ts.mjs', words[2], ...args].map(shellQuote).join(' '));
  }
  return await viaBash(words.map(shellQuote).join(' '));
}

async function runBlock(block: Block): Promise<void> {
  for (const line of commandLines(block.text)) {
    const where = `${block.file}:${block.line}: ${line}`;
    const words = shellWords(line);
    if (words === null) {
      const r = await viaBash(line);
      assert.is(r.status, 0, `${where}\n${r.output.slice(-2000)}`);
      continue;
    }
    for (const command of andList(words)) {
      const t0 = performance.now();
      const r = await runWords(command, where);
      if (process.env.MSRNN_README_TIMES) console.error(`${((performance.now() - t0) / 1000).toFixed(1)} s  ${command.join(' ')}`);
      if (r === 'setup') continue;
      assert.is(r.status, 0, `${where}\n${r.output.slice(-2000)}`);
    }
  }
}

const needed = ['models/stories260K.bin', 'models/tok512.bin', 'text/austen_4_pride_and_prejudice.txt'].map(sharedPath);
if (haveShared('README blocks', ...needed)) {
  test('there are README blocks to run (the extraction did not silently find nothing)', () => {
    assert.ok(shellBlocks.length >= 3, `shell blocks: ${shellBlocks.length}`);
    assert.ok(tsBlocks.length >= 3, `TypeScript blocks: ${tsBlocks.length}`);
  });

  test('the `npx pnpm@9.15.9 msrnn` prefix works as a process', async () => {
    const r = await viaBash('npx pnpm@9.15.9 msrnn --version');
    assert.is(r.status, 0, r.output);
    assert.match(r.output, /^\d+\.\d+\.\d+$/m);
  });

  for (const block of shellBlocks) {
    test(`shell block ${block.file}:${block.line} runs as written`, async () => {
      await runBlock(block);
    });
  }

  const snippetDir = join(root, 'examples', '.readme-snippets');
  const snippets = tsBlocks.map((b) => ({ block: b, path: join(snippetDir, `${b.file.replace(/[^\w]+/g, '_')}_${b.line}.ts`) }));

  test('README TypeScript snippets typecheck', () => {
    rmSync(snippetDir, { recursive: true, force: true });
    mkdirSync(snippetDir, { recursive: true });
    // `export {}` makes each snippet a module (top-level await; no name clashes between snippets).
    for (const s of snippets) writeFileSync(s.path, `${s.block.text}\nexport {};\n`);
    const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
    const program = ts.createProgram(snippets.map((s) => s.path), { ...config.options, noEmit: true });
    const problems = ts.getPreEmitDiagnostics(program)
      .filter((d) => d.file && d.file.fileName.startsWith(snippetDir))
      .map((d) => {
        const s = snippets.find((x) => x.path === d.file!.fileName)!;
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
        return `${s.block.file}:${s.block.line + 1 + line}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    assert.equal(problems, []);
  });

  test('README TypeScript snippets run (placeholder files are stories260K and its tokenizer)', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'msrnn-readme-'));
    for (const [name, target] of [['model.bin', 'models/stories260K.bin'], ['stories260K.bin', 'models/stories260K.bin'], ['tokenizer.bin', 'models/tok512.bin'], ['tok512.bin', 'models/tok512.bin']]) {
      symlinkSync(sharedPath(target!), join(scratch, name!));
    }
    const cwd = process.cwd();
    const log = console.log, error = console.error, write = process.stdout.write;
    try {
      process.chdir(scratch);
      console.log = console.error = () => {};
      process.stdout.write = (() => true) as typeof process.stdout.write;
      for (const s of snippets) {
        try {
          await import(pathToFileURL(s.path).href);
        } catch (err: any) {
          assert.unreachable(`${s.block.file}:${s.block.line}: ${err?.stack ?? err}`);
        }
      }
    } finally {
      process.chdir(cwd);
      console.log = log;
      console.error = error;
      process.stdout.write = write;
      rmSync(snippetDir, { recursive: true, force: true });
    }
  });
}

test.run();
