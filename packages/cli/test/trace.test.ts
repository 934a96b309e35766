// msrnn trace on stories260K: the recorded eviction steps reproduce the state the policy leaves,
// and the summaries say what window/sinks/TOVA must by construction.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getPolicy } from '@msrnn/policies';
import { createState, loadModel, prefill } from '@msrnn/transformer';
import { keptAfter, pieceLifetimes, recordTrace, summarize } from '../src/trace/record.js';
import { haveShared, sharedPath } from '../../../scripts/shared-data.js';
import { msrnnOk } from './run-cli.js';

const modelPath = sharedPath('models/stories260K.bin');
const tokPath = sharedPath('models/tok512.bin');
const fixturePath = sharedPath('fixtures/stories260K/policies.json');

if (haveShared('cli trace', modelPath, tokPath, fixturePath)) {
  const fx = JSON.parse(readFileSync(fixturePath, 'utf8'));
  const tokens: number[] = fx.tokens;
  const model = await loadModel(modelPath);

  test('window: entry p leaves at step p+k; everything kept is recent; the first token goes at step k', () => {
    const t = recordTrace(model, getPolicy('window', { capacity: 16 }), tokens.slice(0, 100));
    for (let p = 0; p < 100; p++) assert.is(t.evictedAt[2]![1]![p], p < 84 ? p + 16 : -1);
    // Position 0 is attended at steps 1..16 (at step 16 before it is evicted), out of 17 entries at most.
    for (const a of t.firstTokenAttention) {
      assert.is(a.steps, 16);
      let u = 0;
      for (let s = 1; s <= 16; s++) u += 1 / Math.min(s + 1, 17);
      assert.ok(Math.abs(a.uniform - u / 16) < 1e-12);
      assert.ok(a.mean > 0 && a.mean < 1);
    }
    // Every entry lives exactly k steps under window, whatever its piece.
    const lt = pieceLifetimes(t, t.tokens.map(String), 1);
    assert.is(lt.overall, 16);
    assert.ok(lt.pieces.length > 5 && lt.pieces.every((l) => l.meanSteps === 16));
    for (const s of summarize(t)) {
      assert.equal(s.firstTokenEvictedAt, [16, 16, 16, 16]);
      assert.is(s.recentShareMean, 1);
      assert.is(s.recentShareFinal, 1);
    }
  });

  test('tova_head and h2o: the trace replays to exactly the per-head states the policy leaves (fixture positions)', () => {
    for (const name of ['tova_head', 'h2o', 'tova', 'sinks']) {
      const t = recordTrace(model, getPolicy(name, { capacity: 32 }), tokens);
      const expected = fx.policies[name].kept_positions_per_layer_per_kv_head ?? fx.policies[name].kept_positions_per_layer.map((l: number[]) => [l, l, l, l]);
      const replay = t.evictedAt.map((l, li) => l.map((_, h) => tokens.map((_, p) => p).filter((p) => keptAfter(t, li, h, p, 255))));
      assert.equal(replay, expected, name);
      // At a middle step too: rerun to step 150 and compare with the trace.
      const policy = getPolicy(name, { capacity: 32 });
      const state = createState(model, { policy });
      prefill(model, state, tokens.slice(0, 151));
      const mid = t.evictedAt.map((l, li) => l.map((_, h) => tokens.map((_, p) => p).filter((p) => keptAfter(t, li, h, p, 150))));
      assert.equal(mid, state.keptPositionsPerHead(), `${name} at step 150`);
    }
  });

  test('sinks keep the first token; TOVA on stories260K keeps fewer recent entries than window', () => {
    const sinks = summarize(recordTrace(model, getPolicy('sinks', { capacity: 32 }), tokens));
    for (const s of sinks) assert.equal(s.firstTokenEvictedAt, [-1, -1, -1, -1]);
    const tova = summarize(recordTrace(model, getPolicy('tova', { capacity: 32 }), tokens));
    for (const s of tova) assert.ok(s.recentShareMean < 1 && s.recentShareMean > 0, String(s.recentShareMean));
  });

  test('msrnn trace writes JSON and an SVG heatmap and prints the per-layer summary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msrnn-trace-'));
    const json = join(dir, 't.json'), svg = join(dir, 't.svg'), text = join(dir, 'tokens.json');
    writeFileSync(text, JSON.stringify([tokens]));
    const out = (await msrnnOk('trace', '--model', modelPath, '--tokenizer', tokPath, '--text', text, '--tokens', '128', '--policy', 'sinks', '--capacity', '16', '--json', json, '--svg', svg)).stdout;
    assert.match(out, /\| 0 \| kept \| 0\.\d+ \(0\.\d+\) \| /);
    const t = JSON.parse(readFileSync(json, 'utf8'));
    assert.is(t.tokens.length, 128);
    assert.is(t.pieces.length, 128);
    assert.is(t.evictedAt.length, 5);
    assert.is(t.summary[0].keptFinal.length, 16);
    assert.match(readFileSync(svg, 'utf8'), /^<svg[^]*layer 4[^]*<\/svg>\n$/);
  });

  test('trace options: capacity as generate takes it (Infinity allowed), one --ratio, output paths checked before running', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msrnn-trace-'));
    const text = join(dir, 'tokens.json');
    writeFileSync(text, JSON.stringify([tokens.slice(0, 40)]));
    const run = async (...args: string[]): Promise<string> =>
      (await msrnnOk('trace', '--model', modelPath, '--tokenizer', tokPath, '--text', text, ...args)).stdout;
    const fails = async (re: RegExp, ...args: string[]) => {
      try { await run(...args); } catch (err: any) { assert.match(err.message, re); return; }
      assert.unreachable(`expected ${re}`);
    };
    assert.match(await run('--policy', 'tova', '--capacity', 'inf'), /^tova on tokens\.json, 40 tokens$/m);
    await fails(/--capacity must be a positive integer or Infinity, got 0/, '--capacity', '0');
    // One trace takes one ratio; a list (ppl's --ratios) is an error, not its smallest item.
    await fails(/--ratio must be in \(0, 1\], got "0\.1,0\.2"/, '--policy', 'local', '--ratio', '0.1,0.2');
    await fails(/--svg .*: folder .*nowhere does not exist/, '--svg', join(dir, 'nowhere', 'a.svg'));
    await fails(/--json .*: is a folder, not a file/, '--json', dir);
  });
}

test.run();
