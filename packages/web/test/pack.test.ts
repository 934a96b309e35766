// Publishing: each core package `pnpm pack`s (workspace:* rewritten to versions) to an ESM package
// with exports, types, a README and a licence; the tarballs install into a scratch project outside
// the workspace, whose TypeScript check and Node run of the README's library snippet use only them.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { haveShared, paths } from '../../transformer/test/shared.js';

const repo = resolve(import.meta.dirname, '../../..');
const CORE = ['tensor', 'msrnn', 'policies', 'transformer'];

/** pnpm: the one running this suite (pnpm run ci sets npm_execpath), else through npx. */
function pnpm(args: string[], cwd: string): string {
  const viaExec = process.env.npm_execpath && /pnpm/.test(process.env.npm_execpath);
  const [cmd, pre] = viaExec ? [process.execPath, [process.env.npm_execpath!]] : ['npx', ['-y', 'pnpm@9.15.9']];
  const r = spawnSync(cmd, [...pre, ...args], { cwd, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`pnpm ${args.join(' ')} failed in ${cwd}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The ```ts block after "As a library:" in the README. */
function readmeSnippet(): string {
  const readme = readFileSync(resolve(repo, 'README.md'), 'utf8');
  const m = /As a library:\s*```ts\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README.md has no ```ts block after "As a library:"');
  return m[1]!;
}

if (haveShared('pack', paths.model, paths.tokenizer)) {
  test('pnpm pack of the core packages: installable ESM tarballs with types, README and licence; the README snippet runs from them', () => {
    const work = mkdtempSync(join(tmpdir(), 'msrnn-pack-'));
    try {
      execFileSync(process.execPath, [resolve(repo, 'node_modules/typescript/bin/tsc'), '-b', ...CORE.map((p) => `packages/${p}`)], { cwd: repo, stdio: 'pipe' });
      const tarballs: Record<string, string> = {};
      for (const p of CORE) {
        pnpm(['pack', '--pack-destination', work], resolve(repo, 'packages', p));
        const name = `msrnn-${p}-0.1.0.tgz`;
        tarballs[`@msrnn/${p}`] = join(work, name);
        const listing = execFileSync('tar', ['tzf', join(work, name)], { encoding: 'utf8' }).split('\n');
        for (const f of ['package/package.json', 'package/README.md', 'package/LICENSE', 'package/dist/index.js', 'package/dist/index.d.ts']) {
          assert.ok(listing.includes(f), `${name} holds ${f}`);
        }
        const manifest = JSON.parse(execFileSync('tar', ['xzf', join(work, name), '-O', 'package/package.json'], { encoding: 'utf8' }));
        assert.is(manifest.type, 'module');
        assert.is(manifest.license, 'MIT');
        assert.is(manifest.exports['.'].types, './dist/index.d.ts');
        assert.not.match(JSON.stringify(manifest.dependencies ?? {}), /workspace:/, `${name}: workspace: specifiers rewritten`);
      }
      const app = join(work, 'app');
      execFileSync('mkdir', ['-p', app]);
      const deps = Object.fromEntries(Object.entries(tarballs).map(([n, t]) => [n, `file:${t}`]));
      // pnpm overrides make the packages' dependencies on each other resolve to the tarballs too.
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module', dependencies: deps, pnpm: { overrides: deps } }, null, 2));
      pnpm(['install', '--prefer-offline', '--ignore-workspace', '--config.confirmModulesPurge=false'], app);
      const snippet = readmeSnippet();
      writeFileSync(join(app, 'snippet.mts'), snippet);
      writeFileSync(join(app, 'snippet.mjs'), snippet);
      writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, lib: ['ES2022', 'DOM'], types: [] },
        files: ['snippet.mts'],
      }));
      const tsc = spawnSync(process.execPath, [resolve(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8' });
      assert.is(tsc.status, 0, `the snippet typechecks against the packed .d.ts files:\n${tsc.stdout}`);
      symlinkSync(paths.model, join(app, 'model.bin'));
      symlinkSync(paths.tokenizer, join(app, 'tokenizer.bin'));
      const run = spawnSync(process.execPath, ['snippet.mjs'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
      assert.is(run.stderr, '');
      assert.is(run.status, 0);
      // "<bytes> [ [ ...64 positions ], ... ]": 64 kept per layer after 100+ tokens.
      assert.match(run.stdout, /^\d+ \[/);
      const resolved = readdirSync(join(app, 'node_modules/@msrnn')).sort();
      assert.equal(resolved, ['msrnn', 'policies', 'tensor', 'transformer']);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}

test.run();
