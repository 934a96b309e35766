// Node vs Chromium: the same greedy decode (wasm, 1 and 2 threads) in Node (the library's step
// loop), in a bare Web Worker (no view) and in the page (its generation worker, as a user runs it),
// interleaved round by round so all see the same machine load; medians. The same prompt (the
// page's, as the model's tokenizer encodes it) and the same greedy tokens on every side, checked.
// Models: stories260K and a random model in the stories15M shape (scripts/make-random-models.ts,
// written to a temporary folder). Wall time, and on one thread also the decoding thread's CPU time
// (Linux /proc), which the machine's load disturbs much less. Prints the table the web README
// reports (with the load average).
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { build } from 'esbuild';
import { loadTokenizer } from '@msrnn/transformer';
import { haveShared, paths } from '../../transformer/test/shared.js';
import { haveChromium, startHarness, type Harness } from './page-harness.js';
import { browserCpuNs } from './thread-cpu.js';
import { buildBarePage, startBareDecoder, type Decoded } from './bare-page.js';
import type { ThreadJobs } from './decode-loop.js';

const ROUNDS = Number(process.env.MSRNN_SPEED_ROUNDS ?? 3);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > 100) throw new Error(`MSRNN_SPEED_ROUNDS must be an integer 1..100, got ${process.env.MSRNN_SPEED_ROUNDS}`);
const repoRoot = resolve(import.meta.dirname, '../../..');

/**
 * Node's side: node-decode.ts bundled by esbuild (with the kernel worker beside it, where the
 * thread host looks for it) and run as a plain `node` process, one per model and thread count.
 */
async function bundleNodeDecoder(dir: string): Promise<string> {
  await build({
    entryPoints: { 'node-decode': resolve(import.meta.dirname, 'node-decode.ts'), 'worker-node': resolve(repoRoot, 'packages/tensor/src/threads/worker-node.ts') },
    outdir: dir, bundle: true, format: 'esm', platform: 'node', target: 'es2022', conditions: ['source'], minify: true, logLevel: 'warning',
  });
  writeFileSync(join(dir, 'package.json'), '{"type": "module"}');
  return join(dir, 'node-decode.js');
}

async function startNodeDecoder(script: string, model: string, threads: number, prompt: number[]) {
  const child = spawn(process.execPath, [script, model, String(threads), prompt.join(',')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => { const r = await lines.next(); if (r.done) throw new Error('node-decode ended early'); return r.value; };
  assert.is(await next(), 'ready');
  return {
    /** Tokens per second by wall time and by the decoding thread's CPU time, the greedy tokens, the jobs shared with the workers. */
    async decode(steps: number): Promise<Decoded & { cpuTokPerS: number }> { child.stdin!.write(`${steps}\n`); return JSON.parse(await next()); },
    close: () => new Promise<void>((done) => { child.once('exit', () => done()); child.stdin!.end(); }),
  };
}

/** The page's prompt in every run (its tokens differ per tokenizer: each side is given the same ones). */
const PROMPT = 'Once';
/** A llama2.c model's vocabulary size: its header's sixth int32 (negative when the classifier is not shared). */
function vocabOf(file: string): number {
  const header = new Int32Array(7), fd = openSync(file, 'r');
  try { readSync(fd, header); } finally { closeSync(fd); }
  return Math.abs(header[5]!);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

if (haveChromium('speed') && haveShared('speed', paths.model, paths.tokenizer, paths.llamaTokenizer)) {
  let h: Harness;
  const scratch = mkdtempSync(join(tmpdir(), 'msrnn-speed-'));
  let nodeDecoder = '';
  test.before(async () => {
    nodeDecoder = await bundleNodeDecoder(join(scratch, 'node'));
    execFileSync(process.execPath, [resolve(repoRoot, 'scripts/run-ts.mjs'), resolve(repoRoot, 'scripts/make-random-models.ts'), scratch, '15M'], { stdio: 'pipe' });
    h = await startHarness();
    await buildBarePage();
  });
  test.after(async () => {
    await h?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test(`decode speed, Node vs Chromium without and with the page's view (wasm × 1 and 2 threads; medians of ${ROUNDS} interleaved rounds)`, async () => {
    // Each side decodes `runs` × `steps` tokens per round, a quarter to half a second: shorter rounds
    // measure the scheduler (a 320-token stories260K run lasts ~30 ms) and the page's fixed work per
    // run (reading the prompt, its first frame) more than the decode.
    const shapes = [
      // As many tokens as come before its greedy end of text (344 after "Once").
      { name: 'stories260K', files: [paths.model, paths.tokenizer], steps: 320, runs: 6 },
      // Random weights in the stories15M shape, with the Llama-2 tokenizer of its 32000-token
      // vocabulary; 250 of its 256 positions.
      { name: 'stories15M shape', files: [join(scratch, 'random-stories15M.bin'), paths.llamaTokenizer], steps: 250, runs: 1 },
    ];
    const wallRows: string[] = [], cpuRows: string[] = [];
    const load0 = loadavg()[0]!;
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    for (const shape of shapes) {
      // The page's prompt as the model's tokenizer encodes it (read here independently of the page):
      // what Node and the bare worker decode after.
      const prompt = (await loadTokenizer(shape.files[1]!)).encode(PROMPT);
      for (const threads of [1, 2]) {
        const decoder = await startNodeDecoder(nodeDecoder, shape.files[0]!, threads, prompt);
        const page = await h.open(h.isolatedUrl, { threads, backend: 'wasm', policy: 'full', steps: shape.steps, temperature: 0, prompt: PROMPT },
          { files: shape.files, source: shape.files[0]!.split('/').pop()! });
        assert.is(await page.evaluate(() => (window as any).msrnnPage.info.threads), threads);
        const barePage = await h.newPage(`${h.isolatedUrl}bare.html`);
        const bare = await startBareDecoder(barePage, shape.files[0]!, threads, prompt);
        const m = { node: [] as number[], bare: [] as number[], page: [] as number[], nodeCpu: [] as number[], bareCpu: [] as number[], pageCpu: [] as number[], bareOthers: [] as number[], pageOthers: [] as number[] };
        /** Per token of the last round: jobs shared with the workers and worker chunks taken over, Node's and the bare worker's. */
        const jobs = { node: { shared: 0, takenOver: 0 }, bare: { shared: 0, takenOver: 0 } };
        const perToken = (side: keyof typeof jobs, j: ThreadJobs) => { jobs[side].shared += j.shared / (shape.runs * shape.steps); jobs[side].takenOver += j.takenOver / (shape.runs * shape.steps); };
        // A failed check inside the rounds must not leave the Node child waiting on its stdin (the test would hang).
        try {
          // Warm-up all three, and the reference tokens: Node's greedy decode, which the other two must repeat.
          const expected = (await decoder.decode(shape.steps)).tokens;
          assert.ok(expected.every((t) => t >= 0 && t < vocabOf(shape.files[0]!)), `${shape.name}: Node's tokens are in the model's vocabulary`);
          const same = (tokens: number[], who: string) => assert.equal(tokens, expected, `${shape.name}, ${threads} thread(s): ${who} decoded other tokens than Node`);
          same((await bare.decode(shape.steps)).tokens, 'the bare worker');
          await page.bringToFront();
          same((await h.generate(page)).tokens, 'the page');
          const pagePrompt = await page.evaluate(() => { const p = (window as any).msrnnPage; return p.tokens.slice(0, p.tokens.length - p.generated.length); });
          assert.equal(pagePrompt, prompt, `${shape.name}: the page read the prompt Node decodes after`);
          /**
           * Runs `decode` (`shape.runs` decodes) and returns the tokens/s of the decoding worker's CPU time,
           * and the cores the browser's other threads used meanwhile.
           */
          const inBrowser = async (decode: () => Promise<unknown>): Promise<[number, number]> => {
            const cpu0 = browserCpuNs(), t0 = performance.now();
            await decode();
            const cpu1 = browserCpuNs(), ms = performance.now() - t0;
            // One thread: the decoding worker is the only busy worker (its CPU time also covers the prompt
            // and, in the page, the snapshots: a small bias against Chromium).
            return [(shape.runs * shape.steps) / ((cpu1.workers - cpu0.workers) / 1e9), (cpu1.others - cpu0.others) / 1e6 / ms];
          };
          /** Tokens per second over a round's runs (each run's rate, from its own timing, weighted by its time). */
          const overRuns = (rates: number[]) => rates.length / rates.reduce((t, r) => t + 1 / r, 0);
          for (let round = 0; round < ROUNDS; round++) {
            const node: Record<'tokPerS' | 'cpuTokPerS', number[]> = { tokPerS: [], cpuTokPerS: [] };
            jobs.node = { shared: 0, takenOver: 0 }; jobs.bare = { shared: 0, takenOver: 0 };
            for (let run = 0; run < shape.runs; run++) {
              const r = await decoder.decode(shape.steps);
              same(r.tokens, 'Node, again');
              node.tokPerS.push(r.tokPerS); node.cpuTokPerS.push(r.cpuTokPerS);
              perToken('node', r.threadJobs);
            }
            m.node.push(overRuns(node.tokPerS)); m.nodeCpu.push(overRuns(node.cpuTokPerS));
            await page.bringToFront(); // a page in a background tab would not draw
            const pageRates: number[] = [];
            const [pageCpu, pageOthers] = await inBrowser(async () => {
              for (let run = 0; run < shape.runs; run++) {
                const r = await h.generate(page);
                same(r.tokens, 'the page');
                pageRates.push(r.tokPerS);
              }
            });
            m.page.push(overRuns(pageRates)); m.pageCpu.push(pageCpu); m.pageOthers.push(pageOthers);
            await barePage.bringToFront();
            const bareRates: number[] = [];
            const [bareCpu, bareOthers] = await inBrowser(async () => {
              for (let run = 0; run < shape.runs; run++) {
                const r = await bare.decode(shape.steps);
                same(r.tokens, 'the bare worker');
                perToken('bare', r.threadJobs);
                bareRates.push(r.tokPerS);
              }
            });
            m.bare.push(overRuns(bareRates)); m.bareCpu.push(bareCpu); m.bareOthers.push(bareOthers);
          }
        } finally {
          await bare.close();
          await page.close();
          await decoder.close();
        }
        const med = Object.fromEntries(Object.entries(m).map(([k, xs]) => [k, median(xs)])) as Record<keyof typeof m, number>;
        for (const k of ['node', 'bare', 'page'] as const) assert.ok(med[k] > 0 && Number.isFinite(med[k]), `${shape.name}: ${k} ${m[k]}`);
        wallRows.push(`| ${shape.name} | ${threads} | ${[jobs.node, jobs.bare].map((j) => `${j.shared.toFixed(1)} / ${j.takenOver.toFixed(2)}`).join('; ')} | ${med.node.toFixed(0)} | ${med.bare.toFixed(0)} | ${med.page.toFixed(0)} | ${ratio(med.bare, med.node)} | ${ratio(med.page, med.node)} | ${med.bareOthers.toFixed(2)} | ${med.pageOthers.toFixed(2)} |`);
        // With two threads the CPU time would add the kernel worker's spinning: wall time only.
        if (threads === 1) cpuRows.push(`| ${shape.name} | ${med.nodeCpu.toFixed(0)} | ${med.bareCpu.toFixed(0)} | ${med.pageCpu.toFixed(0)} | ${ratio(med.bareCpu, med.nodeCpu)} | ${ratio(med.pageCpu, med.nodeCpu)} |`);
      }
    }
    console.log(`decode tok/s, wall time (medians of ${ROUNDS}; load average ${load0.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end):\n`
      + '| model | threads | jobs shared / taken over per token, Node; no view | Node | Chromium, no view | Chromium, page | no view / Node | page / Node | other browser threads, no view (cores) | other browser threads, page (cores) |\n'
      + `|---|---|---|---|---|---|---|---|---|---|\n${wallRows.join('\n')}\n\n`
      + 'one thread, tok/s of the decoding thread\'s CPU time:\n'
      + `| model | Node | Chromium, no view | Chromium, page | no view / Node | page / Node |\n|---|---|---|---|---|---|\n${cpuRows.join('\n')}`);
    assert.equal(h.errors, []);
  });
}

test.run();
