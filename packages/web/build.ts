// Builds the page into dist/: esbuild bundles the page, its generation worker and the kernel
// worker from the TypeScript sources; the HTML, CSS and the project's default model are copied
// beside them. Run: node scripts/run-ts.mjs packages/web/build.ts (or `pnpm web`, which serves it).
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

export const webRoot = import.meta.dirname;
export const distDir = resolve(webRoot, 'dist');
const defaultModel = resolve(webRoot, '../../models/default');

export async function buildPage(opts: { minify?: boolean } = {}): Promise<string> {
  rmSync(distDir, { recursive: true, force: true });
  await build({
    entryPoints: ['main', 'gen-worker', 'kernel-worker'].map((n) => join(webRoot, 'src', `${n}.ts`)),
    outdir: distDir, bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
    conditions: ['source'], minify: opts.minify ?? true, sourcemap: true, logLevel: 'warning',
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(webRoot, 'src', f), join(distDir, f));
  mkdirSync(join(distDir, 'models/default'), { recursive: true });
  for (const f of ['model.bin', 'tokenizer.bin']) copyFileSync(join(defaultModel, f), join(distDir, 'models/default', f));
  return distDir;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = await buildPage();
  console.log(`built the page into ${dir}`);
}
