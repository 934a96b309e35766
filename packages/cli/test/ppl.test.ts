// msrnn ppl end to end on stories260K: the harness reproduces the fixture's NLLs, a capacity at
// least the sequence length equals full, workers agree with inline runs, and bad input fails clearly.
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Policy } from '@msrnn/msrnn';
import { createState, loadModel, loadTokenizer, step } from '@msrnn/transformer';
import { chunkIds, loadCorpus } from '../src/ppl/corpus.js';
import { tokenNll } from '../src/ppl/evaluate.js';
import { type RunSpec } from '../src/ppl/runs.js';
import { runSweep } from '../src/ppl/sweep.js';
import { haveShared, sharedPath } from '../../../scripts/shared-data.js';
import { msrnnOk } from './run-cli.js';

const modelPath = sharedPath('models/stories260K.bin');
const tokPath = sharedPath('models/tok512.bin');
const fixturePath = sharedPath('fixtures/stories260K/policies.json');
const tmp = mkdtempSync(join(tmpdir(), 'msrnn-ppl-'));

/** Runs `msrnn ppl ARGS` in process; returns what it printed to stdout and stderr (throws its error line). */
async function ppl(args: string[]): Promise<{ out: string; err: string }> {
  const r = await msrnnOk('ppl', '--model', modelPath, '--tokenizer', tokPath, '--no-progress', ...args);
  return { out: r.stdout, err: r.stderr };
}

const spec = (policy: string, capacity: number | null): RunSpec => ({ policy, capacity, ratio: null, sinks: 4, seed: 0, prefill: 'exact', prompt: 0 });

if (haveShared('cli ppl', modelPath, tokPath, fixturePath)) {
  const fx = JSON.parse(readFileSync(fixturePath, 'utf8'));
  const fixtureChunk = Int32Array.from(fx.tokens as number[]);

  test('the sweep reproduces policies.json mean NLLs, inline and on 2 worker threads alike', async () => {
    const runs = ['window', 'sinks', 'h2o', 'tova', 'tova_head'].map((p) => spec(p, fx.capacity)).concat(spec('full', null));
    const input = { modelPath, chunks: [fixtureChunk], runs, positionMode: 'absolute' as const };
    const inline = await runSweep(input, { threads: 1 });
    for (const r of inline) {
      assert.ok(Math.abs(r.meanNll - fx.policies[r.run.policy].mean_nll) < 1e-4, `${r.run.policy}: ${r.meanNll}`);
      assert.is(r.predictions, 255);
    }
    const threaded = await runSweep(input, { threads: 2 });
    assert.equal(threaded.map((r) => r.meanNll), inline.map((r) => r.meanNll));
  });

  test('a worker that cannot start fails the sweep with its error instead of hanging', async () => {
    const input = { modelPath: join(tmp, 'no-model.bin'), chunks: [fixtureChunk.subarray(0, 16)], runs: [spec('full', null), spec('window', 8)], positionMode: 'absolute' as const };
    try {
      await runSweep(input, { threads: 2 });
      assert.unreachable('expected a failure');
    } catch (err: any) {
      assert.match(err.message, /cannot read model file .*no-model\.bin/);
    }
  });

  test('a capacity at least the chunk length is the full model; pooling is over predictions, not chunks', async () => {
    const chunks = [fixtureChunk.subarray(0, 100), fixtureChunk.subarray(100, 256)];
    const runs = [spec('full', null), spec('tova', 256), spec('window', 200), spec('h2o', 156)];
    const res = await runSweep({ modelPath, chunks, runs, positionMode: 'absolute' }, { threads: 1 });
    for (const r of res.slice(1)) assert.is(r.meanNll, res[0]!.meanNll, r.run.policy);
    const full = res[0]!;
    const pooled = (full.chunkMeanNll[0]! * 99 + full.chunkMeanNll[1]! * 155) / 254;
    assert.ok(Math.abs(full.meanNll - pooled) < 1e-12);
    assert.is(full.predictions, 254);
    assert.ok(Math.abs(full.ppl - Math.exp(full.meanNll)) < 1e-12);
  });

  test('chunking follows the protocol: [BOS] + ids[i*(N-1) : (i+1)*(N-1)], leading BOS dropped', async () => {
    const tokenizer = await loadTokenizer(tokPath);
    const path = join(tmp, 'story.txt');
    const text = 'Once upon a time there was a little dog. '.repeat(40);
    writeFileSync(path, text);
    const ids = tokenizer.encode(text, { bos: false });
    const corpus = loadCorpus(path, tokenizer, 64, 3);
    assert.is(corpus.chunks.length, 3);
    for (let i = 0; i < 3; i++) assert.equal(Array.from(corpus.chunks[i]!), [1, ...ids.slice(i * 63, (i + 1) * 63)]);
    const warnings: string[] = [];
    assert.is(chunkIds(ids, 64, 1000, 'x', warnings).length, Math.floor(ids.length / 63));
    assert.match(warnings[0]!, /give only/);
    // A tokenizer without BOS (Qwen2's): chunks are N text ids, nothing prepended.
    assert.equal(Array.from(chunkIds(ids, 64, 2, 'x', [], null)[1]!), ids.slice(64, 128));
  });

  test("corpus chunks start with the tokenizer's own BOS, or none (gpt2-tiny: <|endoftext|>; qwen2-tiny: none)", async () => {
    const { loadAnyTokenizer } = await import('@msrnn/transformer/tokenizers');
    const path = join(tmp, 'plain.txt');
    writeFileSync(path, 'The quick brown fox jumps over the lazy dog. '.repeat(30));
    for (const [name, first] of [['gpt2-tiny', 1023], ['qwen2-tiny', undefined]] as const) {
      const tok = await loadAnyTokenizer(sharedPath(`models/hf/${name}`));
      assert.is(tok.bosId, first, `${name} bosId`);
      const ids = tok.encode(readFileSync(path, 'utf8'), { bos: false });
      const corpus = loadCorpus(path, tok, 32, 2);
      const want = first === undefined ? ids.slice(32, 64) : [first, ...ids.slice(31, 62)];
      assert.equal(Array.from(corpus.chunks[1]!), want, name);
    }
  });

  test('msrnn ppl writes CSV, markdown and SVG', async () => {
    const csv = join(tmp, 'o.csv'), md = join(tmp, 'o.md'), svg = join(tmp, 'o.svg');
    const json = join(tmp, 'tokens.json');
    writeFileSync(json, JSON.stringify({ chunks: [fx.tokens.slice(0, 128), fx.tokens.slice(128)] }));
    const { out } = await ppl(['--text', json, '--chunk', '128', '--policies', 'full,window,tova,local', '--capacities', '16,32', '--ratios', '0.25', '--threads', '1', '--csv', csv, '--md', md, '--svg', svg]);
    const rows = readFileSync(csv, 'utf8').trim().split('\n');
    assert.ok(rows[0]!.startsWith('text,policy,capacity,ratio,budget'));
    assert.is(rows.length, 1 + 1 + 3 + 3 + 1);
    assert.match(rows[1]!, /^tokens\.json,full,full,,full,exact,0,/);
    assert.is(readFileSync(md, 'utf8'), out);
    assert.match(out, /\| tova \| [\d.]+ \| [\d.]+ \| [\d.]+ \|/);
    const s = readFileSync(svg, 'utf8');
    assert.match(s, /^<svg/);
    assert.is((s.match(/<polyline/g) ?? []).length, 2);
  });

  test('several texts: evaluated one by one, one CSV, one table each, one SVG each', async () => {
    const a = join(tmp, 'a.json'), b = join(tmp, 'b.json'), csv = join(tmp, 'ab.csv'), svg = join(tmp, 'ab.svg');
    writeFileSync(a, JSON.stringify([fx.tokens.slice(0, 64)]));
    writeFileSync(b, JSON.stringify([fx.tokens.slice(64, 128)]));
    const { out } = await ppl(['--text', a, b, '--chunk', '64', '--policies', 'full,window', '--capacities', '16', '--threads', '1', '--csv', csv, '--svg', svg, '--title', 'T']);
    const rows = readFileSync(csv, 'utf8').trim().split('\n');
    assert.equal(rows.map((r) => r.split(',').slice(0, 3).join(',')), ['text,policy,capacity', 'a.json,full,full', 'a.json,window,16', 'b.json,full,full', 'b.json,window,16']);
    assert.match(out, /^\| T, a\.json \|[^]*\n\n\| T, b\.json \|/);
    assert.ok(existsSync(join(tmp, 'ab-a.svg')) && existsSync(join(tmp, 'ab-b.svg')));
  });

  test('bad input: clear errors (and a warning, not an error, past the context for bounded states)', async () => {
    const txt = join(tmp, 'short.txt'), empty = join(tmp, 'empty.txt');
    writeFileSync(txt, 'Lily and Ben went to the park. '.repeat(80));
    writeFileSync(empty, '');
    const fails = async (args: string[], re: RegExp) => {
      try {
        await ppl(args);
      } catch (err: any) {
        assert.match(err.message, re);
        return;
      }
      assert.unreachable(`expected ${re} for ${args.join(' ')}`);
    };
    await fails(['--text', txt, '--policies', 'tovaa'], /unknown policy "tovaa"; valid policies: full, window/);
    await fails(['--text', txt, '--capacities', '0,16'], /--capacities: capacity must be > 0, got 0/);
    await fails(['--text', txt, '--capacities', 'x'], /--capacities: "x" is not a positive integer/);
    await fails(['--text', txt, '--policies', 'sinks', '--capacities', '4'], /--policies sinks at budget 4: policy "sinks": sink count 4 must be less than the capacity 4/);
    await fails(['--text', txt, '--policies', 'local', '--ratios', '1.5'], /--ratios must be in \(0, 1\], got 1\.5/);
    await fails(['--text', txt, '--policies', 'local'], /"local" needs --ratios/);
    await fails(['--text', empty], /text file .*empty\.txt is empty/);
    await fails(['--text', join(tmp, 'missing.txt')], /cannot read text file .*missing\.txt: ENOENT/);
    const huge = join(tmp, 'huge.txt');
    writeFileSync(huge, '');
    truncateSync(huge, 300 * 2 ** 20); // sparse: refused from its size, never read
    await fails(['--text', huge], /cannot read text file .*huge\.txt: is 300 MiB; at most 256 MiB is read/);
    rmSync(huge);
    await fails(['--text', txt, '--prefill', 'fast'], /--prefill fast needs --prompt N/);
    await fails(['--text', txt, '--prefill', 'slow'], /--prefill must be exact or fast, got "slow"/);
    await fails(['--text', txt, '--prompt', '512'], /--prompt 512 leaves nothing to score/);
    await fails(['--text', txt, '--chunks', '0'], /--chunks: "0" is not a positive integer/);
    await fails(['--text', txt, '--position-mode', 'rel'], /--position-mode must be one of absolute, reindex, got "rel"/);
    // Checked before anything runs, so a long sweep never ends in an unwritable output or a bad backend.
    await fails(['--text', txt, '--threads', '1000'], /--threads must be an integer from 1 to 64, got 1000/);
    await fails(['--text', txt, '--backend', 'gpu'], /--backend must be one of js, wasm, auto, got "gpu"/);
    await fails(['--text', txt, '--csv', join(tmp, 'no-such-folder', 'out.csv')], /--csv .*out\.csv: folder .*no-such-folder does not exist/);
    await fails(['--text', txt, '--md', tmp], /--md .*: is a folder, not a file/);
    const badJson = join(tmp, 'bad.json');
    writeFileSync(badJson, JSON.stringify({ chunks: [[1, 2, 600]] }));
    await fails(['--text', badJson], /bad\.json: sequence 0, item 2 is 600, not a token id below 512/);
    writeFileSync(badJson, '{"chunks": ');
    await fails(['--text', badJson], /bad\.json: not valid JSON/);
    await fails(['--text', txt, '--chunk', '600'], /--chunk 600 exceeds the context .* \(512 tokens\); full keeps a growing cache and cannot run past it/);
    const png = join(tmp, 'image.png');
    writeFileSync(png, Uint8Array.from({ length: 2000 }, (_, i) => (i * 7919) % 256));
    const binary = await ppl(['--text', png, '--chunk', '64', '--chunks', '1', '--policies', 'window', '--capacities', '16', '--threads', '1']);
    assert.match(binary.err, /image\.png: does not look like UTF-8 text \(NUL bytes or invalid UTF-8\); evaluating it anyway/);
    const plain = await ppl(['--text', txt, '--chunk', '64', '--chunks', '1', '--policies', 'window', '--capacities', '16', '--threads', '1']);
    assert.not.match(plain.err, /does not look like/);
    const { err } = await ppl(['--text', txt, '--chunk', '600', '--chunks', '1', '--policies', 'window', '--capacities', '16', '--threads', '1']);
    assert.match(err, /warning: --chunk 600 runs past the trained context \(512\)/);
  });

  test('fast prefill: the prompt is attended in full, cut to k at its last token, then bounded per token', async () => {
    const json = join(tmp, 'one.json');
    writeFileSync(json, JSON.stringify([fx.tokens]));
    const csv = (name: string) => join(tmp, `${name}.csv`);
    const nll = (name: string) => readFileSync(csv(name), 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[8]));
    const common = ['--text', json, '--chunk', '256', '--prompt', '128', '--threads', '1'];
    await ppl([...common, '--policies', 'window,tova', '--capacities', '32', '--prefill', 'fast', '--csv', csv('fast')]);
    await ppl([...common, '--policies', 'window,tova', '--capacities', '32', '--prefill', 'exact', '--csv', csv('exact')]);
    await ppl([...common, '--policies', 'full,tova', '--capacities', '256', '--prefill', 'fast', '--csv', csv('big')]);
    // Capacity >= chunk: nothing is ever cut, so fast == full over the same 128 scored tokens.
    const [full, tovaBig] = nll('big');
    assert.is(tovaBig, full);
    // Independent reference for window: a hand-written policy that keeps everything until position
    // 127 and from then on drops the oldest entry while a layer holds more than 32.
    const model = await loadModel(modelPath);
    const cutAt127: Policy = {
      name: 'ref', capacity: Infinity,
      afterAttention(layer, step) {
        if (step.position < 127) return;
        const head = layer.heads[0]!;
        while (head.count > 32) {
          let oldest = 0;
          for (let i = 1; i < head.count; i++) if (head.positions[i]! < head.positions[oldest]!) oldest = i;
          layer.evictSlotAllHeads(oldest);
        }
      },
    };
    const state = createState(model, { policy: cutAt127 });
    let sum = 0;
    for (let i = 0; i < 255; i++) {
      const logits = step(model, state, fx.tokens[i]);
      if (i >= 127) sum += tokenNll(logits, fx.tokens[i + 1], model.config.vocabSize);
    }
    const [windowFast, tovaFast] = nll('fast'), [windowExact, tovaExact] = nll('exact');
    assert.ok(Math.abs(windowFast! - sum / 128) < 1e-6, `${windowFast} vs ${sum / 128}`);
    // Per-token eviction during the prompt changes the prompt's own hidden states: a different number.
    assert.is.not(windowFast, windowExact);
    assert.is.not(tovaFast, tovaExact);
  });
}

test.run();
