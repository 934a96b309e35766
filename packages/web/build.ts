// Builds the page into dist/: esbuild bundles the page, its generation worker and the kernel
// worker from the TypeScript sources; the HTML, CSS and the project's default model are copied
// beside them; TypeDoc writes the API reference to dist/api.
// Run: node scripts/run-ts.mjs packages/web/build.ts (or `pnpm web`, which builds and serves it).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

export const webRoot = import.meta.dirname;
export const distDir = resolve(webRoot, 'dist');
const defaultModel = resolve(webRoot, '../../models/default');

/**
 * The API reference of the four core packages from their doc comments (TypeDoc), one module per
 * package (api/*.ts re-export each package under its name). Without "defined in" source links:
 * TypeDoc builds them from the git remote, and a checkout without a usable one (no `origin`, a
 * local path) made it warn, which --treatWarningsAsErrors turns into a failed build.
 */
export function buildApi(outDir: string): void {
  const typedoc = resolve(webRoot, 'node_modules/typedoc/bin/typedoc');
  const entries = ['tensor', 'msrnn', 'policies', 'transformer'].flatMap((p) => ['--entryPoints', join(webRoot, 'api', `${p}.ts`)]);
  execFileSync(process.execPath, [typedoc, '--tsconfig', join(webRoot, 'tsconfig.api.json'), ...entries, '--out', outDir,
    '--name', 'msrnn API', '--readme', 'none', '--disableSources', '--treatWarningsAsErrors', '--logLevel', 'Warn'], { cwd: webRoot, stdio: 'pipe' });
}

/** Builds the page into dist/, and its API reference into dist/api when `api` (or when it is missing, for 'if-missing'). */
export async function buildPage(opts: { minify?: boolean; api?: boolean | 'if-missing' } = {}): Promise<string> {
  // dist/api is kept: the reference changes only with the doc comments and takes the longest to build.
  if (existsSync(distDir)) for (const f of readdirSync(distDir)) if (f !== 'api') rmSync(join(distDir, f), { recursive: true, force: true });
  await build({
    entryPoints: ['main', 'gen-worker', 'kernel-worker'].map((n) => join(webRoot, 'src', `${n}.ts`)),
    outdir: distDir, bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
    conditions: ['source'], minify: opts.minify ?? true, sourcemap: true, logLevel: 'warning',
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(webRoot, 'src', f), join(distDir, f));
  mkdirSync(join(distDir, 'models/default'), { recursive: true });
  for (const f of ['model.bin', 'tokenizer.bin']) copyFileSync(join(defaultModel, f), join(distDir, 'models/default', f));
  const api = join(distDir, 'api');
  if (opts.api === true || (opts.api === 'if-missing' && !existsSync(join(api, 'index.html')))) {
    rmSync(api, { recursive: true, force: true });
    buildApi(api);
  }
  return distDir;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = await buildPage({ api: true });
  console.log(`built the page and its API reference (api/) into ${dir}`);
}
