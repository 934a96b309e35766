// The page's cost while it decodes, this checkout's page against another revision's, in one run:
// both built (the other from `git archive REV packages/web/src`), served cross-origin isolated,
// loaded with the same random model in the stories15M shape, and timed in interleaved rounds
// (greedy, 200 tokens, wasm × 1 and 2 threads). For each: the page's tokens/s (wall time) and the
// CPU time of the browser's other threads (main, compositor, Viz, thread pools) per CPU time of its
// Web Workers (the decode), which the machine's load disturbs far less than wall time. Medians.
// Usage: node scripts/run-ts.mjs packages/web/test/page-ab.ts REV [ROUNDS=5]
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { paths } from '../../transformer/test/shared.js';
import { webRoot } from '../build.js';
import { servePage } from '../serve.js';
import { startHarness } from './page-harness.js';
import { browserCpuNs } from './thread-cpu.js';

const [rev, roundsArg = '5'] = process.argv.slice(2);
const rounds = Number(roundsArg);
if (!rev || !Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new Error('usage: page-ab.ts REV [ROUNDS 1..50]');
const STEPS = 200;
const repoRoot = resolve(webRoot, '../..');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** REV's page built into a folder inside the package (so its imports resolve to this workspace's packages). */
async function buildRevision(dir: string): Promise<string> {
  execFileSync('bash', ['-c', `git archive ${JSON.stringify(rev)} packages/web/src | tar -x -C ${JSON.stringify(dir)}`], { cwd: repoRoot });
  const src = join(dir, 'packages/web/src'), out = join(dir, 'dist');
  await build({
    entryPoints: ['main', 'gen-worker', 'kernel-worker'].map((n) => join(src, `${n}.ts`)), outdir: out, bundle: true, format: 'esm',
    platform: 'browser', target: 'es2022', conditions: ['source'], minify: true, logLevel: 'warning',
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(src, f), join(out, f));
  mkdirSync(join(out, 'models/default'), { recursive: true });
  for (const f of ['model.bin', 'tokenizer.bin']) copyFileSync(join(repoRoot, 'models/default', f), join(out, 'models/default', f));
  return out;
}

const scratch = mkdtempSync(join(tmpdir(), 'msrnn-page-ab-'));
const revDir = mkdtempSync(join(webRoot, '.page-ab-'));
const h = await startHarness();
try {
  execFileSync(process.execPath, [resolve(repoRoot, 'scripts/run-ts.mjs'), resolve(repoRoot, 'scripts/make-random-models.ts'), scratch, '15M'], { stdio: 'pipe' });
  const server = await servePage({ dir: await buildRevision(revDir), port: 0, isolated: true });
  const urls = { [rev]: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, 'this checkout': h.isolatedUrl };
  const files = [join(scratch, 'random-stories15M.bin'), paths.llamaTokenizer];
  console.log(`load average ${loadavg()[0]!.toFixed(1)} at the start`);
  console.log(`| page | threads | tok/s (wall) | other browser threads' CPU / workers' CPU |\n|---|---|---|---|`);
  for (const threads of [1, 2]) {
    const pages = await Promise.all(Object.values(urls).map((url) => h.open(url, { threads, backend: 'wasm', policy: 'full', steps: STEPS, temperature: 0, prompt: 'Once' }, { files, source: 'random-stories15M.bin' })));
    const tok: number[][] = pages.map(() => []), cost: number[][] = pages.map(() => []);
    for (let round = -1; round < rounds; round++) { // round -1 warms both up
      for (const [i, page] of pages.entries()) {
        await page.bringToFront(); // a background tab would not draw
        const a = browserCpuNs();
        const run = await h.generate(page);
        const b = browserCpuNs();
        if (round < 0) continue;
        if (run.tokens.length !== STEPS) throw new Error(`${Object.keys(urls)[i]}: ${run.tokens.length} of ${STEPS} tokens`);
        tok[i]!.push(run.tokPerS); cost[i]!.push((b.others - a.others) / (b.workers - a.workers));
      }
    }
    for (const [i, name] of Object.keys(urls).entries()) console.log(`| ${name} | ${threads} | ${median(tok[i]!).toFixed(0)} | ${median(cost[i]!).toFixed(2)} |`);
    for (const page of pages) await page.close();
  }
  console.log(`load average ${loadavg()[0]!.toFixed(1)} at the end`);
  server.close();
} finally {
  await h.close();
  rmSync(revDir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
}
