// Publishing: every package's "exports" (and the cli's "bin") point into dist/, which `pnpm build`
// (tsc -b) fills from src/ — so each dist target must have the src file it is compiled from.
// (The built CLI itself was checked by hand: `pnpm build && node packages/cli/dist/main.js --help`.)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const packagesDir = resolve(import.meta.dirname, '../..');

/** All string leaves of an exports/bin object. */
function targets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(targets);
  return [];
}

/** ./dist/a/b.js or .d.ts -> ./src/a/b.ts (tsc's rootDir src, outDir dist). */
function sourceOf(target: string): string {
  return target.replace(/^\.\/dist\//, './src/').replace(/(\.d)?\.ts$|\.js$/, '.ts');
}

test('every exports / bin target is built from an existing src file', () => {
  for (const name of readdirSync(packagesDir)) {
    const manifestPath = join(packagesDir, name, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (manifest.private) continue; // not published (the page)
    const all = [...targets(manifest.exports), ...targets(manifest.imports), ...targets(manifest.bin)];
    assert.ok(all.length > 0, `${name}: neither exports nor bin`);
    for (const target of all) {
      const src = sourceOf(target);
      assert.ok(src.startsWith('./src/'), `${name}: ${target} is outside dist/ and src/`);
      assert.ok(existsSync(join(packagesDir, name, src)), `${name}: ${target} would be built from ${src}, which does not exist`);
    }
  }
});

test.run();
