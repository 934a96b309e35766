// A kernel worker that fails in the middle of a decode, in Chromium: the model's worker runs a
// random model in the stories15M shape (scripts/make-random-models.ts, written to a temporary
// folder: its matrices are big enough to split) on wasm × 2 threads with every job shared (alwaysShare), its kernel workers being
// lost-worker/faulty-kernel-worker.ts with a fault planted (a test-only hook: the pool's
// createWorker option starts them). Whether the worker's own code throws mid-job (the browser tells
// only through the Worker's 'error' event, which the blocked caller cannot receive: shared memory
// must say it) or it freezes (a killed worker looks like this), the generation must finish with
// Node's greedy tokens, on the calling thread, within seconds (the pool's stall limit is 10 s),
// and a thrown worker's failure names the job it was in. The healthy pool and one thread give the same tokens.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { argmax, createState, loadModel, prefill, step } from '@msrnn/transformer';
import { haveChromium } from './page-harness.js';
import { launchChromium } from './chromium.js';
import { servePage } from '../serve.js';

const PROMPT = [1, 403, 261, 1024, 29892, 727, 471, 263, 2217, 7826, 4257, 365, 2354, 29889, 2296, 5131], STEPS = 48;
/** How long a decode with a lost worker may take: well inside the pool's 10 s stall limit. */
const DEADLINE_MS = 5_000;

/**
 * The test page: the model file's input, and decodeIn(threads, fault, prompt, steps), which starts
 * a fresh model worker (lost-worker/decode-worker.ts), loads the picked file, decodes, ends the worker.
 * (A script of the page: a function passed to page.evaluate would call tsx's helpers, which the page lacks.)
 */
const PAGE = `<!doctype html><meta charset="utf-8"><title>lost worker</title><input type="file" id="file">
<script>
window.decodeIn = async (threads, fault, prompt, steps) => {
  const w = new Worker('decode-worker.js', { type: 'module' });
  const call = (m) => new Promise((ok) => { w.onmessage = (e) => ok(e.data); w.postMessage(m); });
  try {
    const ready = await call({ file: document.getElementById('file').files[0], threads, fault });
    if (ready.error) return ready;
    if (ready.ready !== threads) return { error: ready.ready + ' threads, not ' + threads };
    return await call({ prompt, steps });
  } finally {
    w.terminate();
  }
};
</script>
`;

interface Decoded { tokens: number[]; ms: number; failure: string | null; shared: number; takenOver: number; error?: string }

const repoRoot = resolve(import.meta.dirname, '../../..');

if (haveChromium('lost-worker')) {
  const dir = mkdtempSync(join(tmpdir(), 'msrnn-lost-worker-'));
  let server: Server, browser: Awaited<ReturnType<typeof launchChromium>>, page: Page;
  const modelFile = join(dir, 'random-stories15M.bin');
  test.before(async () => {
    execFileSync(process.execPath, [resolve(repoRoot, 'scripts/run-ts.mjs'), resolve(repoRoot, 'scripts/make-random-models.ts'), dir, '15M'], { stdio: 'pipe' });
    await build({
      entryPoints: ['decode-worker', 'faulty-kernel-worker'].map((n) => resolve(import.meta.dirname, `lost-worker/${n}.ts`)),
      outdir: dir, bundle: true, format: 'esm', platform: 'browser', target: 'es2022', conditions: ['source'], logLevel: 'warning',
    });
    writeFileSync(join(dir, 'index.html'), PAGE);
    server = await servePage({ dir, port: 0, isolated: true });
    browser = await launchChromium();
    page = await browser.context.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
    assert.ok(await page.evaluate(() => crossOriginIsolated), 'the page is cross-origin isolated (threads need it)');
    await page.setInputFiles('#file', modelFile);
  });
  test.after(async () => {
    await browser?.close();
    await new Promise((done) => (server ? server.close(done) : done(undefined)));
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh model worker in the page (the page's decodeIn): loads the picked model with `threads` and `fault`, decodes. */
  const decodeInPage = (threads: number, fault: string): Promise<Decoded> =>
    page.evaluate(([t, f, p, n]) => (window as unknown as { decodeIn: (...a: unknown[]) => Promise<Decoded> }).decodeIn(t, f, p, n), [threads, fault, PROMPT, STEPS] as const);

  test('a kernel worker lost mid-decode (its code throws, or it freezes): the same tokens as Node, on the calling thread, within seconds', async () => {
    const model = await loadModel(modelFile);
    const state = createState(model), want: number[] = [];
    let logits = prefill(model, state, PROMPT);
    for (let i = 0; i < STEPS; i++) { const t = argmax(logits); want.push(t); logits = step(model, state, t); }

    for (const [threads, fault] of [[1, ''], [2, '']] as const) {
      const r = await decodeInPage(threads, fault);
      assert.is(r.error, undefined, `${threads} healthy thread(s): ${r.error}`);
      assert.equal(r.tokens, want, `${threads} healthy thread(s): Node's tokens`);
      assert.is(r.failure, null);
      if (threads === 2) assert.ok(r.shared > 0, 'jobs were shared with the worker');
      console.log(`healthy, ${threads} thread(s): ${PROMPT.length}-token prompt + ${STEPS} tokens in ${r.ms.toFixed(0)} ms`);
    }
    const cases = [
      // The 40th matvec the worker runs: a few tokens into the decode (the prompt runs matmuls).
      { how: 'throw', kernel: 'matvec', after: 40, failure: /^wasm thread pool: worker 1 threw out of its loop during a job \(op 1\)/ },
      { how: 'freeze', kernel: 'matvec', after: 40, failure: null },
      // The prompt's first matmul on the worker (a prompt job: not taken over, rerun by the caller).
      { how: 'throw', kernel: 'matmulT', after: 1, failure: /^wasm thread pool: worker 1 threw out of its loop during a job \(op 2\)/ },
    ];
    for (const c of cases) {
      const what = `${c.how} in ${c.kernel}`;
      const r = await decodeInPage(2, `kernel=${c.kernel}&how=${c.how}&after=${c.after}`);
      assert.is(r.error, undefined, `${what}: ${r.error}`);
      assert.equal(r.tokens, want, `${what}: Node's tokens`);
      assert.ok(r.ms < DEADLINE_MS, `${what}: the run took ${r.ms.toFixed(0)} ms`);
      if (c.failure) assert.match(r.failure ?? '', c.failure);
      else assert.ok(r.failure === null && r.takenOver > 0, `${what}: the frozen worker's chunks were taken over (${r.takenOver}; ${r.failure})`);
      console.log(`lost worker (${what}): ${PROMPT.length}-token prompt + ${STEPS} tokens in ${r.ms.toFixed(0)} ms; pool: ${r.failure ?? `${r.takenOver} chunks taken over`}`);
    }
  });
}

test.run();
