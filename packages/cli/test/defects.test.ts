// The defects a hostile test of the CLI found (issue 14), each with its test: NaN is an error
// naming chunk and position, long traces report progress and stay drawable, and the rest below.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadModel } from '@msrnn/transformer';
import { getPolicy } from '@msrnn/policies';
import { recordTrace, summarize, type Trace } from '../src/trace/record.js';
import { traceSvg, MAX_COLUMNS } from '../src/trace/svg.js';
import { haveShared, sharedPath } from '../../../scripts/shared-data.js';
import { msrnn } from './run-cli.js';

const modelPath = sharedPath('models/stories260K.bin');
const tokPath = sharedPath('models/tok512.bin');
const textPath = sharedPath('text/austen_4_pride_and_prejudice.txt');
const tmp = mkdtempSync(join(tmpdir(), 'msrnn-defects-'));

/** stories260K (llama2.c v0) with its final RMSNorm weights set to 3e38: every logit overflows. */
function overflowingModel(): string {
  const bytes = new Uint8Array(readFileSync(modelPath));
  const dv = new DataView(bytes.buffer);
  const [dim, hidden, layers, heads, kvHeads, vocab] = [0, 1, 2, 3, 4, 5].map((i) => dv.getInt32(4 * i, true)) as [number, number, number, number, number, number];
  const kvDim = (dim / heads) * kvHeads;
  const perLayer = 2 * dim + 2 * dim * dim + 2 * kvDim * dim + 3 * hidden * dim;
  const finalNorm = 28 + 4 * (Math.abs(vocab) * dim + layers * perLayer);
  for (let i = 0; i < dim; i++) dv.setFloat32(finalNorm + 4 * i, 3e38, true);
  const path = join(tmp, 'overflow.bin');
  writeFileSync(path, bytes);
  return path;
}

/** The summary as first written: every (step, position) pair visited (the reference for the fast one). */
function bruteShares(trace: Trace, l: number): { mean: number; final: number } {
  const n = trace.tokens.length, k = trace.capacity ?? n;
  let sum = 0, steps = 0, final = 0;
  for (let h = 0; h < trace.nKvHeads; h++) {
    const ev = trace.evictedAt[l]![h]!;
    for (let t = Math.min(k, n - 1); t < n; t++) {
      let kept = 0, recent = 0;
      for (let p = 0; p <= t; p++) {
        const e = ev[p]!;
        if (e >= 0 && e <= t) continue;
        kept++;
        if (p > t - k) recent++;
      }
      const share = kept > 0 ? recent / kept : 0;
      sum += share;
      steps++;
      if (t === n - 1) final += share / trace.nKvHeads;
    }
  }
  return { mean: sum / steps, final };
}

/** A synthetic trace of n tokens under window k (entry p leaves at step p + k), 2 layers × 2 heads. */
function windowTrace(n: number, k: number): Trace {
  const head = Array.from({ length: n }, (_, p) => (p + k < n ? p + k : -1));
  return {
    policy: 'window', describe: '', capacity: k, tokens: new Array(n).fill(5), nLayers: 2, nKvHeads: 2,
    evictedAt: [[head, head], [head, head]],
    firstTokenAttention: [{ mean: 0, uniform: 0, steps: 0 }, { mean: 0, uniform: 0, steps: 0 }],
  };
}

if (haveShared('cli defects', modelPath, tokPath, textPath)) {
  test('1. NaN is an error: ppl and trace on a model whose logits overflow stop, naming chunk and position', async () => {
    const bad = overflowingModel();
    const ppl = await msrnn('ppl', '--model', bad, '--tokenizer', tokPath, '--text', textPath, '--chunk', '32', '--chunks', '2', '--policies', 'full', '--threads', '1', '--no-progress');
    assert.is(ppl.status, 1, ppl.stderr);
    assert.match(ppl.stderr, /^msrnn: the NLL is NaN at chunk 0, position 0 \(policy full\): the model produced non-finite logits/m);
    assert.not.match(ppl.stdout, /NaN/);
    const threaded = await msrnn('ppl', '--model', bad, '--tokenizer', tokPath, '--text', textPath, '--chunk', '32', '--chunks', '2', '--policies', 'window', '--capacities', '8', '--threads', '2', '--no-progress');
    assert.is(threaded.status, 1);
    assert.match(threaded.stderr, /the NLL is NaN at chunk \d, position 0 \(policy window at capacity 8\)/);
    const trace = await msrnn('trace', '--model', bad, '--tokenizer', tokPath, '--text', textPath, '--tokens', '40');
    assert.is(trace.status, 1);
    assert.match(trace.stderr, /^msrnn: logit 0 is (NaN|-?Infinity) at chunk 0, position 0: the model produced non-finite logits/m);
    assert.is(trace.stdout, '');
  });

  test('2. trace: a progress bar on a terminal; the fast summary equals the exhaustive one', async () => {
    let err = '';
    const r = await msrnn('trace', '--model', modelPath, '--tokenizer', tokPath, '--text', textPath, '--tokens', '200', '--capacity', '16');
    assert.is(r.status, 0, r.stderr);
    const { runCli } = await import('../src/cli.js');
    const status = await runCli(['trace', '--model', modelPath, '--tokenizer', tokPath, '--text', textPath, '--tokens', '200', '--capacity', '16'],
      { stdout: { write: () => {} }, stderr: { write: (s: string) => { err += s; }, isTTY: true } });
    assert.is(status, 0, err);
    assert.match(err, /trace \[[^\]]*\] 200\/200 tokens/);
    const model = await loadModel(modelPath);
    const tokens = Array.from({ length: 300 }, (_, i) => (i * 37) % 500 + 3);
    for (const [name, opts] of [['tova', { capacity: 24 }], ['tova_head', { capacity: 24 }], ['local', { ratio: 0.3 }], ['full', {}]] as const) {
      const t = recordTrace(model, getPolicy(name, opts), tokens);
      const fast = summarize(t);
      for (let l = 0; l < t.nLayers; l++) {
        const ref = bruteShares(t, l);
        assert.ok(Math.abs(fast[l]!.recentShareMean - ref.mean) < 1e-12, `${name} layer ${l}: ${fast[l]!.recentShareMean} vs ${ref.mean}`);
        assert.ok(Math.abs(fast[l]!.recentShareFinal - ref.final) < 1e-12, `${name} layer ${l} final`);
      }
    }
  });
}

test('2. a 100,000-token trace: summarized in well under a second, heatmap thinned to a screen (not 24 MB)', () => {
  const n = 100_000, k = 128;
  const trace = windowTrace(n, k);
  const t0 = performance.now();
  const summary = summarize(trace);
  const ms = performance.now() - t0;
  assert.ok(ms < 3000, `summarize took ${ms.toFixed(0)} ms`);
  for (const s of summary) { assert.is(s.recentShareMean, 1); assert.is(s.recentShareFinal, 1); }
  const svg = traceSvg(trace, summary, 'window, 100000 tokens');
  assert.ok(svg.length < 2_000_000, `${svg.length} bytes`);
  assert.match(svg, /columns of 228 positions, shade = share kept/);
  // Exact below the limit: one bar per (head group, position).
  const small = windowTrace(MAX_COLUMNS, 16);
  const exact = traceSvg(small, summarize(small), 'small');
  assert.is((exact.match(/<rect x="\d+" y="\d+" width="1"/g) ?? []).length, 2 * MAX_COLUMNS);
});

test.run();
