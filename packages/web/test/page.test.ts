// The page in Chromium (Debian's chromium, driven by playwright-core): built with esbuild, served
// on localhost with and without COOP/COEP. With stories260K picked through the file input it must
// generate the same 64 greedy tokens as Node (and the golden fixture), token for token, on 1, 2
// and 3 wasm threads with bit-identical logits; a GGUF file and a Hugging Face folder (the folder
// input, or dropped) give the CLI's tokens, read by the worker in slices, never whole (a spy on the
// worker's Blob reads); as a bounded TOVA state the same tokens as Node's TOVA with the
// kept-positions view showing capacity k in every layer; teaching mode runs 3 steps; the
// comparison's two sides equal the CLI's text per policy and Node's log-probabilities; Stop and
// Continue work. Saves a screenshot to out/. (Node vs Chromium speed: speed.test.ts.)
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getPolicy } from '@msrnn/policies';
import { argmax, createState, loadModel, loadTokenizer, prefill, step, type Model } from '@msrnn/transformer';
import { msrnnOk } from '../../cli/test/run-cli.js';
import { haveShared, paths } from '../../transformer/test/shared.js';
import { haveChromium, startHarness, type FileReads, type Harness } from './page-harness.js';

const greedyPath = resolve(paths.fixtures, 'greedy.json');
const hfFolder = resolve(paths.hfModels, 'stories260K');
const outDir = resolve(import.meta.dirname, '../../../out');
const STEPS = 64, K = 16;
/** The shared tiny Hugging Face folders (../shared/models/hf), one per architecture the loader knows. */
const HF_TINY = ['llama-tiny', 'mistral-tiny', 'qwen2-tiny', 'qwen3-tiny', 'gpt2-tiny', 'phi3-tiny', 'gemma2-tiny', 'stories260K'];

/** Node's greedy run of the same library code the CLI runs. */
function nodeGreedy(model: Model, prompt: number[], steps: number, policy = getPolicy('full')): number[] {
  const state = createState(model, { policy });
  let logits = prefill(model, state, prompt);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) { const t = argmax(logits); out.push(t); logits = step(model, state, t); }
  return out;
}

/** Runs `use` with a fresh temporary folder, removed afterwards even when `use` throws (a failed check). */
async function withTempDir(prefix: string, use: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    await use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The worker read no picked File whole (the loader reads byte sources: Blob slices, straight into
 * the model's memory), and each model file (name → size) in several slices, each smaller than the file.
 */
function assertReadInSlices(reads: FileReads, modelFiles: Record<string, number>): void {
  assert.equal(reads.whole, [], 'no picked file was read whole');
  for (const [name, size] of Object.entries(modelFiles)) {
    const lengths = reads.slices.filter(([n]) => n === name).map(([, len]) => len);
    assert.ok(lengths.length > 1 && Math.max(...lengths) < size, `${name}: ${lengths.length} slices, the largest ${Math.max(...lengths)} of ${size} bytes`);
  }
}

if (haveChromium('page') && haveShared('page', paths.model, paths.tokenizer, greedyPath, hfFolder)) {
  const greedy = JSON.parse(readFileSync(greedyPath, 'utf8'));
  const run0 = greedy.runs[0];
  const model = await loadModel(paths.model);
  const tokenizer = await loadTokenizer(paths.tokenizer, { vocabSize: model.config.vocabSize });
  const expected = nodeGreedy(model, run0.prompt_tokens, STEPS);
  const expectedTova = nodeGreedy(model, run0.prompt_tokens, STEPS, getPolicy('tova', { capacity: K }));
  /** `msrnn generate --json` greedy (in-process): what the page must reproduce. */
  const cli = async (...args: string[]) => JSON.parse((await msrnnOk('generate', '--prompt', run0.prompt, '--steps', String(STEPS), '--temperature', '0', '--json', ...args)).stdout);
  let h: Harness;
  const stories = { files: [paths.model, paths.tokenizer], source: 'stories260K.bin' };
  const base = { prompt: run0.prompt, temperature: 0, steps: STEPS };
  const open = (url: string, params: Record<string, string | number>, pick: Parameters<Harness['open']>[2] | null = stories) => h.open(url, { ...base, ...params }, pick ?? undefined);
  const generate = (page: Parameters<Harness['generate']>[0]) => h.generate(page);

  test.before(async () => { h = await startHarness(); });
  test.after(async () => { await h?.close(); });

  test('Node greedy (the reference here) equals the golden fixture', () => {
    assert.equal(expected, run0.generated_tokens.slice(0, STEPS));
    assert.equal(tokenizer.encode(run0.prompt), run0.prompt_tokens);
  });

  test('cross-origin isolated: 64 greedy tokens equal Node\'s on wasm × 1, 2, 3 threads, bit-identical logits', async () => {
    const hashes: string[] = [];
    for (const threads of [1, 2, 3]) {
      const page = await open(h.isolatedUrl, { threads, backend: 'wasm', policy: 'full' });
      const info = await page.evaluate(() => (window as any).msrnnPage.info);
      assert.ok(info.crossOriginIsolated, 'COOP/COEP make the page cross-origin isolated');
      assert.is(info.threads, threads);
      const r = await generate(page);
      assert.equal(r.tokens, expected, `wasm × ${threads}`);
      hashes.push(r.hash);
      await page.close();
    }
    assert.is(new Set(hashes).size, 1, `logits hashes ${hashes}`);
    // A GGUF file (its own tokenizer inside) opened the same way: the CLI's tokens, the file read in slices, never whole.
    const gguf = resolve(paths.fixtures, '../../models/gguf/stories260K-F32.gguf');
    const page = await open(h.isolatedUrl, { threads: 2, backend: 'wasm', policy: 'full' }, null);
    const reads = await h.spyReads(page);
    await h.pick(page, { files: [gguf], source: 'stories260K-F32.gguf' });
    assert.is(await page.evaluate(() => (window as any).msrnnPage.info.format), 'GGUF');
    const expectedGguf = (await cli('--model', gguf)).generated_tokens;
    assert.equal(expectedGguf, expected, 'the GGUF file and the .bin give the same greedy tokens in Node');
    assert.equal((await generate(page)).tokens, expectedGguf, 'GGUF');
    assertReadInSlices(await reads(), { 'stories260K-F32.gguf': statSync(gguf).size });
    await page.close();
    assert.equal(h.errors, []);
  });

  test('a Hugging Face folder picked with the folder input (stories260K as HF): the CLI\'s greedy tokens, a progress bar over the files read; a broken folder is an error in the page; its files dropped on the page load too', async () => {
    const page = await open(h.isolatedUrl, { threads: 2, backend: 'wasm', policy: 'full' }, null);
    const reads = await h.spyReads(page);
    await h.pick(page, { folder: hfFolder, source: 'stories260K' });
    const info = await page.evaluate(() => (window as any).msrnnPage.info);
    assert.is(info.format, 'Hugging Face folder');
    const expectedHf = await cli('--model', hfFolder);
    assert.equal(expectedHf.generated_tokens, expected, 'the HF folder and the .bin give the same greedy tokens in Node');
    assert.equal((await generate(page)).tokens, expectedHf.generated_tokens);
    const modelFiles = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
    const bytes = modelFiles.reduce((n, f) => n + statSync(join(hfFolder, f)).size, 0);
    const progress = await page.evaluate(() => (window as any).msrnnPage.progress);
    assert.equal([progress.loaded, progress.total], [bytes, bytes], 'the progress bar counted the bytes of the five model files, and reached the end');
    assert.ok(modelFiles.includes(progress.phase), progress.phase);
    assertReadInSlices(await reads(), { 'model.safetensors': statSync(join(hfFolder, 'model.safetensors')).size });
    // The same folder with its weights cut short: the page says which file is wrong, and keeps working.
    await withTempDir('msrnn-broken-hf-', async (broken) => {
      const dir = join(broken, 'stories260K-broken');
      mkdirSync(dir);
      for (const f of modelFiles) copyFileSync(join(hfFolder, f), join(dir, f));
      writeFileSync(join(dir, 'model.safetensors'), readFileSync(join(hfFolder, 'model.safetensors')).subarray(0, 4096));
      await page.setInputFiles('#folder', dir);
      await page.waitForFunction(() => (window as any).msrnnPage.error !== '', null, { timeout: 60_000 });
      assert.match(await page.textContent('#status') ?? '', /^Error: .*stories260K-broken\/model\.safetensors/);
    });
    await page.close();
    // The same folder's files dropped on the page (a synthetic drop of File objects): the same tokens.
    const dropped = await open(h.isolatedUrl, { threads: 1, backend: 'wasm', policy: 'full' }, null);
    const droppedReads = await h.spyReads(dropped);
    const files = modelFiles.map((f) => ({ name: f, base64: readFileSync(join(hfFolder, f)).toString('base64') }));
    await dropped.evaluate((fs) => {
      const data = new DataTransfer();
      for (const f of fs) data.items.add(new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name));
      document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    }, files);
    await dropped.waitForFunction(() => (window as any).msrnnPage.info?.format === 'Hugging Face folder' || (window as any).msrnnPage.error, null, { timeout: 60_000 });
    assert.is(await dropped.evaluate(() => (window as any).msrnnPage.error), '');
    assert.equal((await generate(dropped)).tokens, expectedHf.generated_tokens, 'dropped files');
    assertReadInSlices(await droppedReads(), { 'model.safetensors': statSync(join(hfFolder, 'model.safetensors')).size });
    await dropped.close();
    assert.equal(h.errors, []);
  });

  test('real folder drops (entries, as from a file manager): every shared tiny Hugging Face folder gives the CLI\'s greedy tokens, its weights read in slices; a folder\'s subfolders are left out; two folders, a folder with a file, or a folder of model folders are errors naming what was dropped', async () => {
    const page = await open(h.isolatedUrl, { threads: 1, backend: 'wasm', policy: 'full', steps: 16, prompt: 'Once upon a time' }, null);
    const drop = async (paths: string[]) => {
      await page.evaluate(() => { const p = (window as any).msrnnPage; p.info = null; p.error = ''; });
      await h.drop(page, paths);
      await page.waitForFunction(() => (window as any).msrnnPage.info !== null || (window as any).msrnnPage.error, null, { timeout: 60_000 });
      return page.evaluate(() => ({ info: (window as any).msrnnPage.info, error: (window as any).msrnnPage.error as string }));
    };
    for (const name of HF_TINY) {
      const folder = resolve(paths.hfModels, name);
      const reads = await h.spyReads(page);
      const { info, error } = await drop([folder]);
      assert.is(error, '', `${name}: page error`);
      assert.equal([info.source, info.format], [name, 'Hugging Face folder'], name);
      const weights = readdirSync(folder).filter((f) => f.endsWith('.safetensors'));
      assertReadInSlices(await reads(), Object.fromEntries(weights.map((f) => [f, statSync(join(folder, f)).size])));
      const cliRun = await msrnnOk('generate', '--model', folder, '--prompt', 'Once upon a time', '--steps', '16', '--temperature', '0', '--json');
      assert.equal((await generate(page)).tokens, JSON.parse(cliRun.stdout).generated_tokens, `${name}: the CLI's greedy tokens`);
    }
    // A folder as people keep them: extra subfolders (onnx/, .git/) beside the model's files.
    // The folders are removed even when a check fails (a failing run must not leave them behind).
    await withTempDir('msrnn-drop-', async (scratch) => {
      const withSub = join(scratch, 'stories260K-with-subfolders');
      mkdirSync(join(withSub, 'onnx'), { recursive: true });
      for (const f of readdirSync(hfFolder)) copyFileSync(join(hfFolder, f), join(withSub, f));
      writeFileSync(join(withSub, 'onnx', 'model.onnx'), 'not a model');
      const sub = await drop([withSub]);
      assert.is(sub.error, '');
      assert.is(sub.info.source, 'stories260K-with-subfolders');
      assert.equal((await generate(page)).tokens, JSON.parse((await msrnnOk('generate', '--model', hfFolder, '--prompt', 'Once upon a time', '--steps', '16', '--temperature', '0', '--json')).stdout).generated_tokens);
      // What cannot be one model: the error names what was dropped.
      const twoFolders = await drop([resolve(paths.hfModels, 'llama-tiny'), hfFolder]);
      assert.match(twoFolders.error, /drop one model folder.*2 folders/);
      const folderAndFile = await drop([hfFolder, paths.model]);
      assert.match(folderAndFile.error, /drop one model folder.*1 folder.*1 file/);
      const collection = join(scratch, 'my-models');
      for (const name of ['llama-tiny', 'gpt2-tiny']) {
        mkdirSync(join(collection, name), { recursive: true });
        copyFileSync(join(paths.hfModels, name, 'config.json'), join(collection, name, 'config.json'));
      }
      writeFileSync(join(collection, 'README.md'), 'my models\n');
      const folderOfFolders = await drop([collection]);
      assert.is(folderOfFolders.error, 'the folder my-models holds no model files (README.md), only folders (gpt2-tiny, llama-tiny): drop one model folder');
    });
    await page.close();
    assert.equal(h.errors, []);
  });

  test('not isolated: one thread (the page says why), js and wasm equal Node\'s tokens', async () => {
    for (const backend of ['wasm', 'js']) {
      const page = await open(h.plainUrl, { threads: backend === 'wasm' ? 2 : 1, backend: backend === 'wasm' ? 'auto' : 'js', policy: 'full' });
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
    const page = await open(h.isolatedUrl, { threads: 2, policy: 'tova', capacity: K });
    assert.equal((await generate(page)).tokens, expectedTova);
    const kept = await page.evaluate(() => (window as any).msrnnView.keptPerRow());
    assert.equal(kept, Array(model.config.nLayers).fill(K), 'kept entries per layer row');
    assert.match(await page.textContent('#kept-summary') ?? '', new RegExp(`^kept per layer: L0 ${K}, L1 ${K}`));
    // Hover an entry: its token and age (once the newest snapshot is drawn; then the text, waited for, not timed).
    await page.waitForFunction(() => (window as any).msrnnView.drawn);
    const box = (await page.locator('#state').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + 12);
    await page.waitForFunction(() => /layer 0 · position \d+ · token ".*" \(id \d+\) · age \d+/.test(document.getElementById('hover')!.textContent ?? ''), null, { timeout: 30_000 });
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
    // Generate again, then one more Step continues that full bounded run (the screenshot shows an eviction).
    assert.equal((await generate(page)).tokens, expectedTova);
    await page.click('#teach-step');
    await page.waitForFunction(() => (window as any).msrnnPage.teachSteps >= 4);
    assert.match(await page.textContent('#teach') ?? '', new RegExp(`step t = ${run0.prompt_tokens.length + STEPS}:`));

    // Compare TOVA vs window (k=16) from one read of the prompt: each side's text equals the CLI's
    // under that policy alone, and its log-probabilities of the reference equal Node's.
    await page.selectOption('#policy', 'tova');
    await page.selectOption('#policyB', 'window');
    await page.click('#compare');
    await page.waitForFunction(() => (window as any).msrnnPage.compare !== null || (window as any).msrnnPage.error, null, { timeout: 60_000 });
    const cmp = await page.evaluate(() => (window as any).msrnnPage.compare);
    assert.ok(cmp.b.shared, `window continued from TOVA's prompt state (${cmp.b.note})`);
    const reference = await page.inputValue('#reference');
    const ref = tokenizer.encode(reference, { bos: false });
    for (const [side, id] of [[cmp.a, 'a'], [cmp.b, 'b']] as const) {
      const expectedSide = await cli('--model', paths.model, '--tokenizer', paths.tokenizer, '--policy', side.policy, '--capacity', String(K));
      assert.equal(side.tokens, expectedSide.generated_tokens, `${side.policy}: the CLI's tokens`);
      assert.is(side.text, expectedSide.text, `${side.policy}: the CLI's text`);
      assert.is(await page.textContent(`#side-${id}`), expectedSide.text, `${side.policy}: the text shown`);
      const state = createState(model, { policy: getPolicy(side.policy, { capacity: K }) });
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
    assert.match(await page.textContent('#compare-summary') ?? '', /tova \(blue\) mean NLL [\d.]+ \(perplexity [\d.]+\), window \(red\)/);
    // A head-wise policy: one row per KV head, k entries each, and Node's tokens.
    const headPage = await open(h.isolatedUrl, { threads: 1, policy: 'tova_head', capacity: K });
    assert.equal((await generate(headPage)).tokens, nodeGreedy(model, run0.prompt_tokens, STEPS, getPolicy('tova_head', { capacity: K })));
    assert.equal(await headPage.evaluate(() => (window as any).msrnnView.keptPerRow()), Array(model.config.nLayers * model.config.nKvHeads).fill(K));
    await headPage.close();
    mkdirSync(outDir, { recursive: true });
    await page.screenshot({ path: resolve(outDir, 'web-page.png'), fullPage: true });
    await page.close();
    assert.equal(h.errors, []);
  });

  test('a tab without animation frames (a background tab gets none): the run goes on, sends no update until its last, ends, and loses no token (the same tokens as in front); frames back, the view draws', async () => {
    // The default model (books, no end-of-text token), greedy, bounded so it never reaches its context.
    const page = await open(h.isolatedUrl, { steps: 300, policy: 'window', capacity: K, temperature: 0, prompt: 'It was', threads: 2, backend: 'wasm' }, null);
    const inFront = await generate(page);
    assert.is(inFront.tokens.length, 300);
    // Headless Chromium keeps every tab visible, so the page's animation frames are held back instead
    // (queued, never run), which is what a background tab means to the page and its worker.
    const before = await page.evaluate(() => {
      const w = window as any;
      w.heldFrames = [];
      w.realFrame = requestAnimationFrame;
      w.requestAnimationFrame = (f: FrameRequestCallback) => w.heldFrames.push(f);
      return { updates: w.msrnnFrames.updates, done: w.msrnnPage.done };
    });
    await page.evaluate(() => (document.getElementById('generate') as HTMLButtonElement).click());
    await page.waitForFunction((done) => (window as any).msrnnPage.done > done, before.done, { polling: 50, timeout: 60_000 });
    const hidden = await page.evaluate(() => ({ generated: (window as any).msrnnPage.generated, updates: (window as any).msrnnFrames.updates, error: (window as any).msrnnPage.error, reason: (window as any).msrnnPage.lastReason, text: document.getElementById('output')!.textContent }));
    assert.is(hidden.error, '');
    assert.is(hidden.reason, 'steps done');
    assert.equal(hidden.generated, inFront.tokens, 'every token, the same as in front');
    assert.is(hidden.updates - before.updates, 2, 'the prompt and the run\'s last batch: the worker sent no update the page could not draw');
    assert.ok(hidden.text.length > 300, 'the run\'s text is on the page (put there at its end, without a frame)');
    // Frames again (the tab back in front): the view draws the run's last state.
    await page.evaluate(() => { const w = window as any; w.requestAnimationFrame = w.realFrame; for (const f of w.heldFrames.splice(0)) w.requestAnimationFrame(f); });
    await page.waitForFunction(() => (window as any).msrnnView.drawn && (window as any).msrnnPage.snapshot.seen === (window as any).msrnnPage.tokens.length, null, { timeout: 10_000 });
    await page.close();
    assert.equal(h.errors, []);
  });

  test('stop and continue: a long run stops when asked, then continues from its state; while it runs the page gets an update only once it has drawn the last', async () => {
    // The default model (books, no end-of-text token in its training data), sampled.
    const page = await open(h.plainUrl, { steps: 100_000, policy: 'window', capacity: K, temperature: 0.8, prompt: 'It was' }, null);
    await page.click('#generate');
    await page.waitForFunction(() => (window as any).msrnnPage.generated.length > 20 && (window as any).msrnnFrames.updates >= 6);
    // The worker waits for the frame that showed an update before it sends the next, so no frame has
    // more than one to show (two once the run ends: its last batch is sent without waiting).
    const frames = await page.evaluate(() => (window as any).msrnnFrames);
    assert.is(frames.maxUpdatesPerFrame, 1, `updates ${frames.updates}, shown in ${frames.shown} frames`);
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
}

test.run();
