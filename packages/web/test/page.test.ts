// The page in Chromium (Debian's chromium, driven by playwright-core): built with esbuild, served
// on localhost with and without COOP/COEP. With stories260K picked through the file input it must
// generate the same 64 greedy tokens as Node (and the golden fixture), token for token, on 1, 2
// and 3 wasm threads with bit-identical logits, and as a bounded TOVA state the same tokens as
// Node's TOVA with the kept-positions view showing capacity k in every layer; teaching mode runs
// 3 steps; the comparison's log-probabilities match Node's; Stop and Continue work. Saves a
// screenshot to out/.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Page } from 'playwright-core';
import { createWasmBackend } from '@msrnn/tensor';
import { getPolicy } from '@msrnn/policies';
import { argmax, createState, loadModel, loadTokenizer, prefill, step, type Model } from '@msrnn/transformer';
import { haveShared, paths } from '../../transformer/test/shared.js';
import { buildPage } from '../build.js';
import { servePage } from '../serve.js';
import { CHROMIUM, launchChromium } from './chromium.js';

const greedyPath = resolve(paths.fixtures, 'greedy.json');
const outDir = resolve(import.meta.dirname, '../../../out');
const STEPS = 64, K = 16;

function browserMissing(): boolean {
  if (existsSync(CHROMIUM)) return false;
  test('page: chromium', () => {
    if (process.env.CI) assert.unreachable(`${CHROMIUM} is missing (.ci/run installs Debian's chromium)`);
    console.warn(`page tests SKIPPED: ${CHROMIUM} missing (apt-get install chromium)`);
  });
  return true;
}

/** Node's greedy run of the same library code the CLI runs: tokens, and log-probs of a reference. */
function nodeGreedy(model: Model, prompt: number[], steps: number, policy = getPolicy('full')): number[] {
  const state = createState(model, { policy });
  let logits = prefill(model, state, prompt);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) { const t = argmax(logits); out.push(t); logits = step(model, state, t); }
  return out;
}

if (!browserMissing() && haveShared('page', paths.model, paths.tokenizer, greedyPath)) {
  const greedy = JSON.parse(readFileSync(greedyPath, 'utf8'));
  const run0 = greedy.runs[0];
  const model = await loadModel(paths.model);
  const tokenizer = await loadTokenizer(paths.tokenizer, { vocabSize: model.config.vocabSize });
  const expected = nodeGreedy(model, run0.prompt_tokens, STEPS);
  const expectedTova = nodeGreedy(model, run0.prompt_tokens, STEPS, getPolicy('tova', { capacity: K }));
  let servers: Server[] = [], isolatedUrl = '', plainUrl = '';
  let chromium: Awaited<ReturnType<typeof launchChromium>>;

  test.before(async () => {
    const dist = await buildPage();
    for (const isolated of [true, false]) {
      const server = await servePage({ dir: dist, port: 0, isolated });
      servers.push(server);
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
      if (isolated) isolatedUrl = url; else plainUrl = url;
    }
    chromium = await launchChromium();
  });
  test.after(async () => {
    await chromium?.close();
    for (const s of servers) s.close();
    servers = [];
  });

  const errors: string[] = [];
  /** Opens the page with `params`, picks stories260K + tok512 in the file input, waits until loaded. */
  /** `files` null: keep the default model the page loads at start. */
  async function open(base: string, params: Record<string, string | number>, files: string[] | null = [paths.model, paths.tokenizer]): Promise<Page> {
    const page = await chromium.context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    const qs = new URLSearchParams(Object.entries({ prompt: run0.prompt, temperature: 0, steps: STEPS, ...params }).map(([k, v]) => [k, String(v)]));
    await page.goto(`${base}?${qs}`);
    await page.waitForFunction(() => (window as any).msrnnPage.info !== null || (window as any).msrnnPage.error, null, { timeout: 60_000 });
    if (!files) return page;
    await page.setInputFiles('#file', files);
    const source = files[0]!.split('/').pop()!;
    await page.waitForFunction((s) => (window as any).msrnnPage.info?.source === s || (window as any).msrnnPage.error, source, { timeout: 60_000 });
    assert.is(await page.evaluate(() => (window as any).msrnnPage.error), '', 'page error while loading');
    return page;
  }
  async function generate(page: Page): Promise<{ tokens: number[]; hash: string; tokPerS: number }> {
    const before = await page.evaluate(() => (window as any).msrnnPage.done);
    await page.click('#generate');
    await page.waitForFunction((n) => (window as any).msrnnPage.done > n || (window as any).msrnnPage.error, before, { timeout: 120_000 });
    const r = await page.evaluate(() => { const p = (window as any).msrnnPage; return { tokens: p.generated, hash: p.logitsHash, error: p.error, stats: document.getElementById('stats')!.textContent }; });
    assert.is(r.error, '', 'page error while generating');
    return { tokens: r.tokens, hash: r.hash, tokPerS: Number(/([\d.]+) tok\/s/.exec(r.stats ?? '')?.[1] ?? NaN) };
  }

  test('Node greedy (the reference here) equals the golden fixture', () => {
    assert.equal(expected, run0.generated_tokens.slice(0, STEPS));
    assert.equal(tokenizer.encode(run0.prompt), run0.prompt_tokens);
  });

  test('cross-origin isolated: 64 greedy tokens equal Node\'s on wasm × 1, 2, 3 threads, bit-identical logits', async () => {
    const hashes: string[] = [];
    for (const threads of [1, 2, 3]) {
      const page = await open(isolatedUrl, { threads, backend: 'wasm', policy: 'full' });
      const info = await page.evaluate(() => (window as any).msrnnPage.info);
      assert.ok(info.crossOriginIsolated, 'COOP/COEP make the page cross-origin isolated');
      assert.is(info.threads, threads);
      const r = await generate(page);
      assert.equal(r.tokens, expected, `wasm × ${threads}`);
      hashes.push(r.hash);
      await page.close();
    }
    assert.is(new Set(hashes).size, 1, `logits hashes ${hashes}`);
    // A GGUF file (its own tokenizer inside) opened the same way: the same tokens.
    const page = await open(isolatedUrl, { threads: 2, backend: 'wasm', policy: 'full' }, [resolve(paths.fixtures, '../../models/gguf/stories260K-F32.gguf')]);
    assert.is(await page.evaluate(() => (window as any).msrnnPage.info.format), 'GGUF');
    assert.equal((await generate(page)).tokens, expected, 'GGUF');
    await page.close();
    assert.equal(errors, []);
  });

  test('not isolated: one thread (the page says why), js and wasm equal Node\'s tokens', async () => {
    for (const backend of ['wasm', 'js']) {
      const page = await open(plainUrl, { threads: backend === 'wasm' ? 2 : 1, backend: backend === 'wasm' ? 'auto' : 'js', policy: 'full' });
      const info = await page.evaluate(() => (window as any).msrnnPage.info);
      assert.is(info.crossOriginIsolated, false);
      assert.is(info.threads, 1);
      assert.is(info.backend, backend);
      if (backend === 'wasm') assert.match(info.note, /SharedArrayBuffer is unavailable/);
      assert.equal((await generate(page)).tokens, expected, backend);
      await page.close();
    }
  });

  test(`bounded TOVA k=${K}: Node's tokens, the view keeps k per layer, teaching mode 3 steps, comparison = Node's log-probs, screenshot`, async () => {
    const page = await open(isolatedUrl, { threads: 2, policy: 'tova', capacity: K });
    assert.equal((await generate(page)).tokens, expectedTova);
    const kept = await page.evaluate(() => (window as any).msrnnView.keptPerRow());
    assert.equal(kept, Array(model.config.nLayers).fill(K), 'kept entries per layer row');
    assert.match(await page.textContent('#kept-summary') ?? '', new RegExp(`^kept per layer: L0 ${K}, L1 ${K}`));
    // Hover an entry: its token and age.
    const box = (await page.locator('#state').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + 12);
    assert.match(await page.textContent('#hover') ?? '', /layer 0 · position \d+ · token ".*" \(id \d+\) · age \d+/);
    const draw = await page.evaluate(() => (window as any).msrnnView.stats);
    assert.ok(draw.frames > 0 && draw.drawMs / draw.frames < 33, `drawing ${draw.frames} frames, mean ${(draw.drawMs / draw.frames).toFixed(2)} ms`);
    console.log(`page: state view drew ${draw.frames} frames, mean ${(draw.drawMs / draw.frames).toFixed(2)} ms, max ${draw.maxDrawMs.toFixed(1)} ms per frame`);

    // Teaching mode: read the prompt, then 3 single steps, each continuing Node's bounded run.
    await page.click('#teach-start');
    await page.waitForFunction(() => !(document.getElementById('teach-step') as HTMLButtonElement).disabled);
    for (let i = 1; i <= 3; i++) {
      await page.click('#teach-step');
      await page.waitForFunction((n) => (window as any).msrnnPage.teachSteps >= n, i);
    }
    const teach = await page.evaluate(() => ({ rows: document.querySelectorAll('#teach tbody tr').length, text: document.getElementById('teach')!.textContent, tokens: (window as any).msrnnPage.tokens }));
    assert.is(teach.rows, model.config.nLayers);
    assert.match(teach.text, new RegExp(`step t = ${run0.prompt_tokens.length + 2}:`));
    assert.equal(teach.tokens.slice(run0.prompt_tokens.length), expectedTova.slice(0, 3), 'teaching steps continue greedily');

    // Compare full vs window from the same prompt over a reference text: Node computes the same log-probs.
    await page.selectOption('#policy', 'full');
    await page.selectOption('#policyB', 'window');
    await page.fill('#capacity', '8');
    await page.click('#compare');
    await page.waitForFunction(() => (window as any).msrnnPage.compare !== null, null, { timeout: 60_000 });
    const cmp = await page.evaluate(() => (window as any).msrnnPage.compare);
    const reference = await page.inputValue('#reference');
    const ref = tokenizer.encode(reference, { bos: false });
    for (const [side, policy] of [[cmp.a, getPolicy('full')], [cmp.b, getPolicy('window', { capacity: 8 })]] as const) {
      const state = createState(model, { policy });
      let logits = prefill(model, state, run0.prompt_tokens);
      let maxDiff = 0;
      ref.forEach((t, i) => {
        let max = -Infinity, z = 0;
        for (const v of logits) max = Math.max(max, v);
        for (const v of logits) z += Math.exp(v - max);
        maxDiff = Math.max(maxDiff, Math.abs(logits[t]! - max - Math.log(z) - side.logprobs[i]));
        logits = step(model, state, t);
      });
      assert.is(side.logprobs.length, ref.length);
      assert.ok(maxDiff < 1e-4, `${side.policy}: max |log-prob diff| ${maxDiff}`);
    }
    // A head-wise policy: one row per KV head, k entries each, and Node's tokens.
    const headPage = await open(isolatedUrl, { threads: 1, policy: 'tova_head', capacity: K });
    assert.equal((await generate(headPage)).tokens, nodeGreedy(model, run0.prompt_tokens, STEPS, getPolicy('tova_head', { capacity: K })));
    assert.equal(await headPage.evaluate(() => (window as any).msrnnView.keptPerRow()), Array(model.config.nLayers * model.config.nKvHeads).fill(K));
    await headPage.close();
    mkdirSync(outDir, { recursive: true });
    await page.screenshot({ path: resolve(outDir, 'web-page.png'), fullPage: true });
    await page.close();
    assert.equal(errors, []);
  });

  test('stop and continue: a long run stops when asked, then continues from its state', async () => {
    // The default model (books, no end-of-text token in its training data), sampled.
    const page = await open(plainUrl, { steps: 100_000, policy: 'window', capacity: K, temperature: 0.8, prompt: 'It was' }, null);
    await page.click('#generate');
    await page.waitForFunction(() => (window as any).msrnnPage.generated.length > 20);
    await page.click('#stop');
    await page.waitForFunction(() => (window as any).msrnnPage.done > 0, null, { timeout: 30_000 });
    const stopped = await page.evaluate(() => ({ reason: (window as any).msrnnPage.lastReason, n: (window as any).msrnnPage.generated.length }));
    assert.is(stopped.reason, 'stopped');
    assert.ok(stopped.n < 100_000);
    await page.fill('#steps', '10');
    await page.click('#continue');
    await page.waitForFunction(() => (window as any).msrnnPage.done > 1, null, { timeout: 30_000 });
    assert.is(await page.evaluate(() => (window as any).msrnnPage.generated.length), stopped.n + 10);
    await page.close();
  });

  test('decode speed, Node vs Chromium (wasm, 1 and 2 threads; the default model, 256 greedy tokens, median of 3 alternating rounds)', async () => {
    const defaultModel = resolve(import.meta.dirname, '../../../models/default/model.bin');
    const prompt = [1, 450, 471]; // BOS and two tokens: decode speed is what is measured
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const rows: string[] = [];
    for (const threads of [1, 2]) {
      const backend = await createWasmBackend({ threads });
      const m = await loadModel(defaultModel, { backend });
      const page = await chromium.context.newPage();
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${isolatedUrl}?${new URLSearchParams({ threads: String(threads), backend: 'wasm', policy: 'full', steps: '256', temperature: '0', prompt: 'It was' })}`);
      await page.waitForFunction(() => (window as any).msrnnPage.info !== null, null, { timeout: 60_000 });
      nodeGreedy(m, prompt, 32);
      await generate(page); // warm-up both
      const node: number[] = [], browser: number[] = [];
      for (let round = 0; round < 3; round++) {
        const t0 = performance.now();
        nodeGreedy(m, prompt, 256);
        node.push(256 / ((performance.now() - t0) / 1000));
        browser.push((await generate(page)).tokPerS);
      }
      await page.close();
      await backend.dispose();
      const n = median(node), b = median(browser);
      assert.ok(n > 0 && b > 0);
      rows.push(`wasm × ${threads}: Node ${n.toFixed(0)} tok/s, Chromium ${b.toFixed(0)} tok/s (Chromium/Node ${(b / n).toFixed(2)})`);
    }
    console.log(`decode speed (medians of 3):\n  ${rows.join('\n  ')}`);
    assert.equal(errors, []);
  });
}

test.run();
