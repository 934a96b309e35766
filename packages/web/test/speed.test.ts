// Node vs Chromium: the same greedy decode (wasm, 1 and 2 threads) in Node (the library's step
// loop) and in the page (its generation worker, as a user runs it), interleaved round by round so
// both see the same machine load; medians. Models: stories260K and a random model in the
// stories15M shape (scripts/make-random-models.ts, written to a temporary folder). Wall time, and
// on one thread also the decoding thread's CPU time (Linux /proc), which the machine's load
// disturbs much less. Prints the table the web README reports (with the load average); checks
// only that both sides ran.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { build } from 'esbuild';
import { haveShared, paths } from '../../transformer/test/shared.js';
import { haveChromium, startHarness, type Harness } from './page-harness.js';
import { webWorkerCpuNs } from './thread-cpu.js';

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

async function startNodeDecoder(script: string, model: string, threads: number) {
  const child = spawn(process.execPath, [script, model, String(threads)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => { const r = await lines.next(); if (r.done) throw new Error('node-decode ended early'); return r.value; };
  assert.is(await next(), 'ready');
  return {
    /** [wall tok/s, CPU tok/s of the decoding thread] */
    async decode(steps: number): Promise<number[]> { child.stdin!.write(`${steps}\n`); return (await next()).split(' ').map(Number); },
    close: () => new Promise<void>((done) => { child.once('exit', () => done()); child.stdin!.end(); }),
  };
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
  });
  test.after(async () => {
    await h?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test(`decode speed, Node vs Chromium (wasm × 1 and 2 threads; medians of ${ROUNDS} interleaved rounds)`, async () => {
    const shapes = [
      // As many tokens as come before its greedy end of text (344 after "Once"): the page's fixed cost
      // per run (reading the prompt, the first snapshot) is in its CPU time, so longer runs weigh it less.
      { name: 'stories260K', files: [paths.model, paths.tokenizer], steps: 320 },
      // Random weights in the stories15M shape, with the Llama-2 tokenizer of its 32000-token vocabulary.
      { name: 'stories15M shape', files: [join(scratch, 'random-stories15M.bin'), paths.llamaTokenizer], steps: 128 },
    ];
    const rows: string[] = [];
    const load0 = loadavg()[0]!;
    for (const shape of shapes) {
      for (const threads of [1, 2]) {
        const decoder = await startNodeDecoder(nodeDecoder, shape.files[0]!, threads);
        const page = await h.open(h.isolatedUrl, { threads, backend: 'wasm', policy: 'full', steps: shape.steps, temperature: 0, prompt: 'Once' },
          { files: shape.files, source: shape.files[0]!.split('/').pop()! });
        assert.is(await page.evaluate(() => (window as any).msrnnPage.info.threads), threads);
        await decoder.decode(32);
        await h.generate(page); // warm-up both
        const node: number[] = [], browser: number[] = [], nodeCpu: number[] = [], browserCpu: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          const [wall, cpu] = await decoder.decode(shape.steps);
          node.push(wall!); nodeCpu.push(cpu!);
          const cpu0 = webWorkerCpuNs();
          const run = await h.generate(page);
          assert.is(run.tokens.length, shape.steps, 'the page generated every step (no end of text): the same decode as Node\'s');
          browser.push(run.tokPerS);
          // One thread: the generation worker is the page's only worker; its CPU time also covers the
          // two-token prompt and the snapshots, a small bias against Chromium.
          browserCpu.push(shape.steps / ((webWorkerCpuNs() - cpu0) / 1e9));
        }
        await page.close();
        await decoder.close();
        const n = median(node), b = median(browser);
        assert.ok(n > 0 && b > 0 && Number.isFinite(n) && Number.isFinite(b), `${shape.name}: Node ${node}, Chromium ${browser}`);
        // With two threads the CPU time would add the kernel worker's spinning: wall time only.
        const cpu = threads === 1 ? ` | ${median(nodeCpu).toFixed(0)} | ${median(browserCpu).toFixed(0)} | ${(median(browserCpu) / median(nodeCpu)).toFixed(2)} |` : ' | | | |';
        rows.push(`| ${shape.name} | ${threads} | ${n.toFixed(0)} | ${b.toFixed(0)} | ${(b / n).toFixed(2)}${cpu}`);
      }
    }
    console.log(`decode tok/s (medians of ${ROUNDS}; load average ${load0.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end):\n`
      + `| model | threads | Node | Chromium | Chromium/Node | Node, CPU time | Chromium, CPU time | Chromium/Node, CPU time |\n|---|---|---|---|---|---|---|---|\n${rows.join('\n')}`);
    assert.equal(h.errors, []);
  });
}

test.run();
