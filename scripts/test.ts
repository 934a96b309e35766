// Test runner: every `*.test.ts` under packages/*/test, examples/test and test/ (the READMEs), through uvu.
// Usage: pnpm test [substring-filter]
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname, '..');
const filter = process.argv[2] ?? '';

function collect(dir: string, out: string[]): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).sort()) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.ts') && p.includes(filter)) out.push(p);
  }
}

const files: string[] = [];
for (const pkg of readdirSync(join(root, 'packages')).sort()) collect(join(root, 'packages', pkg, 'test'), files);
collect(join(root, 'examples', 'test'), files);
collect(join(root, 'test'), files);
if (files.length === 0) { console.error(`no test files match "${filter}"`); process.exit(1); }

(globalThis as any).UVU_DEFER = 1;
const uvu = await import('uvu');
let idx = 0;
for (const file of files) {
  (globalThis as any).UVU_INDEX = idx++;
  (globalThis as any).UVU_QUEUE.push([file.slice(root.length + 1)]);
  await import(pathToFileURL(file).href);
}
await uvu.exec(false);
