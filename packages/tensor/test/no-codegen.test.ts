// The core entries must run where code generation from strings is forbidden (Cloudflare Workers,
// edge runtimes, MV3 extensions, strict CSP). A child node runs with that flag and imports every
// core package entry; a static walk of the tensor import graph confirms ndarray stays out of it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const packageRoot = resolve(import.meta.dirname, '..');
const packagesDir = resolve(packageRoot, '..');
const CORE_PACKAGES = ['tensor', 'msrnn', 'policies', 'transformer'];

test('core entries of all core packages load and run under --disallow-code-generation-from-strings', () => {
  const entries = CORE_PACKAGES.map((p) => join(packagesDir, p, 'src', 'index.ts')).filter((f) => existsSync(f));
  assert.ok(entries.length >= 2, 'tensor and msrnn entries exist');
  const r = spawnSync(process.execPath,
    ['--disallow-code-generation-from-strings', '--conditions=source', '--import', 'tsx', join(import.meta.dirname, 'no-codegen-probe.ts'), ...entries],
    { cwd: packageRoot, encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, `probe failed:\n${r.stderr}`);
  const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.ok(result.codegenBlocked, 'the flag really forbids new Function in the child');
  assert.equal(result.loaded, entries);
  assert.equal(result.matvec, [6, 15]);
  const [p0, p1] = result.softmax as [number, number];
  assert.ok(Math.abs(p0 - 0.25) < 1e-6 && Math.abs(p1 - 0.75) < 1e-6, `softmax ${result.softmax}`);
  assert.equal(result.add, [4, 6]);
  assert.ok(result.interopBlocked, 'the ndarray interop entry does need code generation (so it must stay separate)');
});

test('the tensor core import graph never reaches ndarray, ndarray-ops or cwise', () => {
  const seen = new Set<string>();
  const bare: string[] = [];
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else bare.push(`${spec} (from ${file.slice(packageRoot.length + 1)})`);
    }
  };
  visit(join(packageRoot, 'src', 'index.ts'));
  assert.ok(seen.size > 5, 'walked the graph');
  const forbidden = bare.filter((s) => /^(ndarray|ndarray-ops|cwise)\b/.test(s));
  assert.equal(forbidden, [], `core entry imports: ${forbidden.join(', ')}`);
});

test.run();
