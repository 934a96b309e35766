// Sentinel compression: the runtime, stepping token by token and evicting each span with its <CL>
// after <CR>, reproduces the PyTorch forward under the training mask (tools/train/sentinel_fixture.py)
// within 1e-4 — "mask at training = evict at inference" — and the span rule draws the same spans.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chooseSpans } from '@msrnn/policies';
import { loadModel } from '@msrnn/transformer';
import { readSentinelIds, runWithSpans, SentinelRun } from '../src/sentinel/driver.js';
import { haveShared, sharedPath } from '../../../scripts/shared-data.js';
import { msrnn, msrnnOk } from './run-cli.js';

const root = resolve(import.meta.dirname, '../../..');
const fx = JSON.parse(readFileSync(resolve(import.meta.dirname, 'fixtures/sentinel-fidelity.json'), 'utf8'));

test('span rule: the same spans as tools/train/masks.py for the same seed and stream', () => {
  for (const c of fx.spanCases) {
    const spans = chooseSpans(c.n, c.ratio, c.maxSpan, c.seed, c.stream).map((s) => [s.start, s.length]);
    assert.equal(spans, c.spans, `n=${c.n} r=${c.ratio}`);
  }
});

function logSumExp(x: Float32Array): number {
  let m = -Infinity;
  for (const v of x) if (v > m) m = v;
  let z = 0;
  for (const v of x) z += Math.exp(v - m);
  return m + Math.log(z);
}

for (const m of fx.models) {
  test(`${m.model}: stepping with eviction reproduces the masked PyTorch forward (1e-4)`, async () => {
    const model = await loadModel(resolve(root, m.model));
    const ids = { cl: m.sentinels.CL, cr: m.sentinels.CR };
    for (const [si, seq] of m.sequences.entries()) {
      const run = new SentinelRun(model, ids);
      const logits = new Float32Array(model.config.vocabSize);
      let worst = 0;
      for (let i = 0; i < seq.tokens.length; i++) {
        const kind = seq.kinds[i];
        if (kind === 1) run.open(logits);
        else if (kind === 2) run.close(logits);
        else run.text(seq.tokens[i], logits);
        let sum = 0;
        for (const v of logits) sum += v;
        worst = Math.max(worst, Math.abs(logSumExp(logits) - seq.lse[i]), Math.abs(sum - seq.sum[i]) / model.config.vocabSize);
        seq.probes.forEach((p: number, j: number) => { worst = Math.max(worst, Math.abs(logits[p]! - seq.probeLogits[i][j])); });
        // The state holds what the mask lets the next query see: after <CR>, no span entry and no <CL>.
        if (kind === 2) {
          const kept = run.state.layers[0]!.heads[0]!.count;
          const closed = seq.spans.filter(([s, l]: number[]) => s! + l! - 1 <= seq.positions[i]).reduce((a: number, [, l]: number[]) => a + l!, 0);
          const textSeen = seq.positions[i] + 1;
          const spansClosed = seq.spans.filter(([s, l]: number[]) => s! + l! - 1 <= seq.positions[i]).length;
          assert.is(kept, textSeen - closed + spansClosed, `entries after <CR> at stream index ${i}`);
        }
      }
      assert.ok(worst < 1e-4, `sequence ${si}: max |difference| ${worst}`);
      // The same stream from the span rule and the driver's own insertion.
      const spans = chooseSpans(seq.text.length, seq.ratio, seq.maxSpan, seq.seed, seq.stream);
      assert.equal(spans.map((s) => [s.start, s.length]), seq.spans);
      const again = new SentinelRun(model, ids);
      const predicted: number[] = [];
      runWithSpans(again, seq.text, spans, (index, l) => {
        predicted.push(index);
        if (index === seq.text.length - 1) assert.ok(Math.abs(logSumExp(l) - seq.lse[seq.tokens.length - 2 - (seq.kinds.at(-1) === 2 ? 1 : 0)]) < 1e-4);
      });
      assert.equal(predicted, Array.from({ length: seq.text.length - 1 }, (_, j) => j + 1));
      assert.is(again.state.layers[2]!.heads[1]!.count, run.state.layers[2]!.heads[1]!.count);
    }
  });
}

test('bad input: no sentinel tokens, shares and span lengths out of range, misuse', async () => {
  assert.throws(() => readSentinelIds(resolve(root, 'models/default/model.bin'), 2048), /has no sentinel tokens <CL>\/<CR>: no model\.json beside it/);
  assert.equal(readSentinelIds(resolve(root, 'models/sentinel-0.5/model.bin'), 2050), { cl: 2048, cr: 2049 });
  assert.throws(() => readSentinelIds(resolve(root, 'models/sentinel-0.5/model.bin'), 2048), /sentinel CL is 2048, not a token id below the model's vocabulary 2048/);
  assert.throws(() => chooseSpans(100, 0, 25, 0, 0), /compressed share must be in \(0, 1\)/);
  assert.throws(() => chooseSpans(100, 1, 25, 0, 0), /compressed share must be in \(0, 1\)/);
  assert.throws(() => chooseSpans(100, 0.5, 1, 0, 0), /maximum span length must be an integer in \[2, 1024\]/);
  const model = await loadModel(resolve(root, fx.models[0].model));
  assert.throws(() => new SentinelRun(model, { cl: 64, cr: 63 }), /outside the model's vocabulary/);
  const run = new SentinelRun(model, { cl: 62, cr: 63 });
  assert.throws(() => run.open(), /cannot open before the first token/);
  run.text(1);
  assert.throws(() => run.close(), /no open span/);
  run.open();
  assert.throws(() => run.open(), /already open/);
  assert.throws(() => run.close(), /empty span/);
  assert.throws(() => run.text(62), /is a sentinel/);
  assert.throws(() => runWithSpans(new SentinelRun(model, { cl: 62, cr: 63 }), [1, 5, 6], [{ start: 0, length: 2 }]), /after BOS/);
});

if (haveShared('msrnn sentinel ppl', 'text/austen_3_persuasion.txt')) {
  test('msrnn sentinel ppl: chunk 0 of Persuasion scores as tools/train/finetune.py scored it (same spans, same mask)', async () => {
    const r = await msrnnOk('sentinel', 'ppl', '--model', resolve(root, 'models/sentinel-0.5/model.bin'), '--text', sharedPath('text/austen_3_persuasion.txt'), '--chunks', '1', '--ratio', '0.5');
    const chunk0 = JSON.parse(readFileSync(resolve(root, 'models/sentinel-0.5/eval.json'), 'utf8')).per_chunk[0];
    const meanNll = Number(/mean_nll ([\d.]+)/.exec(r.stdout)![1]);
    assert.ok(Math.abs(meanNll - chunk0.nll / chunk0.predictions) < 1e-5, `${meanNll} vs ${chunk0.nll / chunk0.predictions}`);
    assert.match(r.stdout, /predictions 2047 /);
  });
}

test('msrnn sentinel generate: spans marked, the state ends smaller than the text; clear errors', async () => {
  const model = resolve(root, 'models/sentinel-0.5/model.bin');
  const r = await msrnnOk('sentinel', 'generate', '--model', model, '--prompt', 'It was', '--steps', '60', '--temperature', '0', '--ratio', '0.5');
  assert.match(r.stdout, /^It was/);
  assert.match(r.stdout, /«[^«»]+»/);
  const kept = Number(/(\d+) entries kept per layer/.exec(r.stderr)![1]);
  const spans = Number(/(\d+) spans/.exec(r.stderr)![1]);
  assert.ok(spans >= 1 && kept < 63 && kept > 63 / 2, `${kept} entries, ${spans} spans`);
  assert.equal((await msrnnOk('sentinel', 'generate', '--model', model, '--prompt', 'It was', '--steps', '60', '--temperature', '0', '--ratio', '0.5')).stdout, r.stdout);
  const noSentinels = await msrnn('sentinel', 'generate', '--model', resolve(root, 'models/default/model.bin'), '--steps', '4');
  assert.is(noSentinels.status, 1);
  assert.match(noSentinels.stderr, /has no sentinel tokens <CL>\/<CR>/);
  assert.match((await msrnn('sentinel', 'generate', '--model', model, '--ratio', '1')).stderr, /--ratio must be a compressed share in \(0, 1\)/);
  assert.match((await msrnn('sentinel', 'generate', '--model', model, '--max-span', '1')).stderr, /--max-span must be an integer in \[2, 1024\]/);
});

test.run();
