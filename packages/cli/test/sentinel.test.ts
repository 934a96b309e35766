// Sentinel compression: the runtime, stepping the stream and evicting each span with its <CL> after
// <CR>, reproduces the PyTorch forward under the training mask (tools/train/sentinel_fixture.py)
// within 1e-4 — "mask at training = evict at inference" — and the span rule draws the same spans.
// Composed with a capacity bound it keeps exactly what a list-based reference keeps.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SentinelCompression, wrapPolicy, type MultiState } from '@msrnn/msrnn';
import { chooseSpans, getPolicy, uniform } from '@msrnn/policies';
import { CLOSE, createState, listedSpans, loadModel, OPEN, periodicSpans, SentinelStream, step, type SpanRule } from '@msrnn/transformer';
import { parseSentinelSpec, readSentinelIds } from '../src/sentinel/spec.js';
import { haveShared, sharedPath } from '../../../scripts/shared-data.js';
import { msrnn, msrnnOk } from './run-cli.js';

const root = resolve(import.meta.dirname, '../../..');
const fx = JSON.parse(readFileSync(resolve(import.meta.dirname, 'fixtures/sentinel-fidelity.json'), 'utf8'));
const tinyPath = resolve(import.meta.dirname, 'fixtures/sentinel-tiny.bin');
const tinyIds = { cl: 62, cr: 63 };

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
  test(`${m.model}: the sentinel stream with eviction reproduces the masked PyTorch forward (1e-4)`, async () => {
    const model = await loadModel(resolve(root, m.model));
    const ids = { cl: m.sentinels.CL, cr: m.sentinels.CR };
    for (const [si, seq] of m.sequences.entries()) {
      const spans = chooseSpans(seq.text.length, seq.ratio, seq.maxSpan, seq.seed, seq.stream);
      assert.equal(spans.map((s) => [s.start, s.length]), seq.spans);
      // The driver inserts the training stream's sentinels, at its positions.
      let element = -1;
      const stream = new SentinelStream(model, {
        ids, spans: listedSpans(spans),
        onElement(token, kind, position) {
          element++;
          assert.is(token, seq.tokens[element], `token of element ${element}`);
          assert.is(kind, seq.kinds[element], `kind of element ${element}`);
          assert.is(position, seq.positions[element], `position of element ${element}`);
        },
      });
      const logits = new Float32Array(model.config.vocabSize);
      let worst = 0;
      for (const token of seq.text) {
        stream.text(token, logits);
        // The logits returned are those of the last element stepped: compare with PyTorch's there.
        let sum = 0;
        for (const v of logits) sum += v;
        worst = Math.max(worst, Math.abs(logSumExp(logits) - seq.lse[element]), Math.abs(sum - seq.sum[element]) / model.config.vocabSize);
        seq.probes.forEach((p: number, j: number) => { worst = Math.max(worst, Math.abs(logits[p]! - seq.probeLogits[element][j])); });
        // The state holds what the mask lets the next query see: every element stepped but the
        // closed spans and their <CL>s.
        const evicted = spans.slice(0, stream.spansClosed).reduce((a, s) => a + s.length + 1, 0);
        for (const layer of stream.state.layers) for (const head of layer.heads) assert.is(head.count, element + 1 - evicted, `entries after text token ${stream.textSeen - 1}`);
      }
      assert.is(element, seq.tokens.length - 1, 'every element of the training stream');
      assert.ok(worst < 1e-4, `sequence ${si}: max |difference| ${worst}`);
    }
  });
}

/** Random text tokens below the sentinel ids, BOS (1) first. */
function randomText(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => (i === 0 ? 1 : 2 + Math.floor(uniform(seed, 3, i) * 60)));
}

/** Stream indices kept in every head of every layer (layer-wise policies: the same in all). */
function keptIds(compression: SentinelCompression, state: MultiState): number[][] {
  return state.layers.flatMap((l) => l.heads.map((h) => Array.from({ length: h.count }, (_, s) => compression.streamIndexOf(h, s)).sort((a, b) => a - b)));
}

/**
 * The reference: a plain list of (stream index, position) entries. Each element is appended; at <CR>
 * the span since <CL> (with <CL>) leaves; then the window keeps the k highest positions, never the
 * first `sinks` positions. (The token before a span and its <CL> share a position: capacities stay
 * above the longest span + 1, so the window never has to choose between the two.)
 */
function referenceKept(text: number[], rule: SpanRule, k: number, sinks: number): number[][] {
  const entries: { id: number; position: number }[] = [];
  const history: number[][] = [];
  let id = 0, position = 0, openId = -1, closeAfter = -1;
  const add = (at: number) => {
    entries.push({ id: id++, position: at });
    while (entries.length > k) {
      let worst = -1;
      entries.forEach((e, i) => { if (e.position >= sinks && (worst < 0 || e.position < entries[worst]!.position)) worst = i; });
      entries.splice(worst, 1);
    }
    history.push(entries.map((e) => e.id).sort((a, b) => a - b));
  };
  text.forEach((_, i) => {
    add(position++);
    if (i === closeAfter) {
      const crId = id;
      entries.push({ id: id++, position: position - 1 });
      for (let j = entries.length - 1; j >= 0; j--) if (entries[j]!.id >= openId && entries[j]!.id < crId) entries.splice(j, 1);
      while (entries.length > k) entries.splice(entries.findIndex((e) => e.position >= sinks), 1);
      history.push(entries.map((e) => e.id).sort((a, b) => a - b));
      closeAfter = -1;
    }
    const length = rule.spanAt(i + 1);
    if (length > 0) { openId = id; add(position - 1); closeAfter = i + length; }
  });
  return history;
}

test('composition: sentinel eviction, then a window / sinks budget, keeps what the list reference keeps', async () => {
  const model = await loadModel(tinyPath);
  const cases: { rule: SpanRule; k: number; sinks: number; seed: number }[] = [
    { rule: periodicSpans(8, 5), k: 9, sinks: 0, seed: 1 },
    { rule: periodicSpans(3), k: 4, sinks: 0, seed: 2 },
    { rule: listedSpans(chooseSpans(200, 0.5, 6, 4, 0)), k: 12, sinks: 0, seed: 3 },
    { rule: listedSpans(chooseSpans(200, 0.7, 10, 5, 1)), k: 16, sinks: 2, seed: 4 },
    { rule: listedSpans(chooseSpans(200, 0.3, 25, 6, 2)), k: 40, sinks: 4, seed: 5 },
  ];
  for (const c of cases) {
    const text = randomText(200, c.seed);
    const policy = c.sinks > 0 ? getPolicy('sinks', { capacity: c.k, sinks: c.sinks }) : getPolicy('window', { capacity: c.k });
    const got: number[][] = [];
    const stream = new SentinelStream(model, {
      ids: tinyIds, spans: c.rule, policy,
      // Record after every element's last layer: what the next element will see.
      wrap: (compression) => wrapPolicy(compression, (layer, s) => {
        compression.afterAttention(layer, s);
        if (layer.index < model.config.nLayers - 1) return;
        const ids = keptIds(compression, stream.state);
        for (const other of ids) assert.equal(other, ids[0], 'layer-wise: every head of every layer keeps the same entries');
        got.push(ids[0]!);
      }),
    });
    for (const t of text) stream.text(t);
    const want = referenceKept(text, c.rule, c.k, c.sinks);
    assert.is(got.length, want.length, `${c.rule.describe()}, k=${c.k}: stream length`);
    got.forEach((ids, i) => assert.equal(ids, want[i], `${c.rule.describe()}, k=${c.k}, sinks=${c.sinks}: after element ${i}`));
    assert.ok(stream.spansClosed >= 2, `${c.rule.describe()}: spans were compressed`);
  }
});

test('composition with attention-scored policies: no span outlives its <CR>, the budget holds; no spans = the policy alone', async () => {
  const model = await loadModel(tinyPath);
  const text = randomText(160, 9);
  for (const [name, k] of [['tova', 12], ['h2o', 12], ['h2o_layer', 10], ['knorm', 14], ['snapkv', 16]] as const) {
    // Stream indices of closed spans and their <CL>s, noted as the elements arrive.
    const closed = new Set<number>();
    let element = -1, open = -1;
    const stream = new SentinelStream(model, {
      ids: tinyIds, spans: listedSpans(chooseSpans(text.length, 0.5, 8, 2, 0)), policy: getPolicy(name, { capacity: k }),
      onElement(_token, kind) {
        element++;
        if (kind === OPEN) open = element;
        if (kind === CLOSE) for (let e = open; e < element; e++) closed.add(e);
      },
    });
    for (const t of text) {
      stream.text(t);
      for (const layer of stream.state.layers) {
        for (const head of layer.heads) {
          assert.ok(head.count <= k, `${name}: ${head.count} entries over k = ${k}`);
          for (let s = 0; s < head.count; s++) assert.not.ok(closed.has(stream.compression.streamIndexOf(head, s)), `${name}: a closed span's entry is still kept`);
        }
      }
    }
    assert.ok(stream.spansClosed > 5 && closed.size > 50, 'spans were compressed');
    // Without spans the composite is the policy itself: same kept positions, same logits (its own
    // statistics sit after the policy's, which reads them with the state's stride).
    const alone = createState(model, { policy: getPolicy(name, { capacity: k }) });
    const composed = new SentinelStream(model, { ids: tinyIds, spans: listedSpans([]), policy: getPolicy(name, { capacity: k }) });
    for (const t of text) {
      const a = step(model, alone, t).slice();
      const b = composed.text(t);
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-6, `${name}: logits differ at token`);
    }
    assert.equal(composed.state.keptPositionsPerHead(), alone.keptPositionsPerHead(), `${name}: kept positions`);
  }
});

test('bad input: no sentinel tokens, spans and ratios out of range, misuse', async () => {
  assert.throws(() => readSentinelIds(resolve(root, 'models/default/model.bin'), 2048), /has no sentinel tokens <CL>\/<CR>: no model\.json beside it/);
  assert.equal(readSentinelIds(resolve(root, 'models/sentinel-0.5/model.bin'), 2050), { cl: 2048, cr: 2049 });
  assert.throws(() => readSentinelIds(resolve(root, 'models/sentinel-0.5/model.bin'), 2048), /sentinel CL is 2048, not a token id below the model's vocabulary 2048/);
  assert.throws(() => chooseSpans(100, 0, 25, 0, 0), /compressed share must be in \(0, 1\)/);
  assert.throws(() => chooseSpans(100, 1, 25, 0, 0), /compressed share must be in \(0, 1\)/);
  assert.throws(() => chooseSpans(100, 0.5, 1, 0, 0), /maximum span length must be an integer in \[2, 1024\]/);
  assert.throws(() => periodicSpans(2), /every must be an integer in \[3, 1025\]/);
  assert.throws(() => periodicSpans(8, 8), /span length must be an integer in \[2, 7\]/);
  assert.throws(() => periodicSpans(8, 1), /span length must be an integer in \[2, 7\]/);
  assert.throws(() => listedSpans([{ start: 0, length: 2 }]), /after BOS/);
  assert.throws(() => listedSpans([{ start: 3, length: 4 }, { start: 5, length: 2 }]), /ordered, disjoint/);
  assert.throws(() => parseSentinelSpec('--sentinel', 'ratio=1'), /--sentinel: ratio \(the compressed share of the text\) must be in \(0, 1\), got "1"/);
  assert.throws(() => parseSentinelSpec('--sentinel', 'ratio=0'), /must be in \(0, 1\)/);
  assert.throws(() => parseSentinelSpec('--sentinel', 'ratio=0.5,max-span=1'), /--sentinel: max-span must be an integer in \[2, 1024\], got "1"/);
  assert.throws(() => parseSentinelSpec('--sentinel', 'ratio=0.5,max-span=5000'), /max-span must be an integer in \[2, 1024\]/);
  assert.throws(() => parseSentinelSpec('--sentinel', 'every=2'), /--sentinel: every must be an integer in \[3, 1025\], got "2"/);
  assert.throws(() => parseSentinelSpec('--sentinel', 'every=8,span=8'), /span must be an integer in \[2, 7\]/);
  assert.throws(() => parseSentinelSpec('--sentinel', 'every=8,seed=1'), /unknown key "seed" for the every rule; its keys: every, span/);
  assert.throws(() => parseSentinelSpec('--sentinel', 'often'), /"often" is not key=value/);
  assert.throws(() => parseSentinelSpec('--sentinel', 'span=4'), /give every=N or ratio=R/);
  assert.equal(parseSentinelSpec('--sentinel', 'ratio=0.25,seed=3'), { rule: 'ratio', ratio: 0.25, maxSpan: 25, seed: 3 });
  assert.equal(parseSentinelSpec('--sentinel', 'every=10'), { rule: 'every', every: 10, span: 9 });
  const model = await loadModel(tinyPath);
  const spans = periodicSpans(4);
  assert.throws(() => new SentinelStream(model, { ids: { cl: 64, cr: 63 }, spans }), /sentinel <CL> id 64 is outside the model's vocabulary \(64\)/);
  assert.throws(() => new SentinelStream(model, { ids: { cl: 63, cr: 63 }, spans }), /same id 63/);
  assert.throws(() => new SentinelStream(model, { ids: tinyIds, spans, positionMode: 'reindex' }), /needs position mode "absolute"/);
  assert.throws(() => new SentinelStream(model, { ids: tinyIds, spans, policy: getPolicy('streamingllm', { capacity: 8 }) }), /needs position mode "absolute"/);
  assert.throws(() => new SentinelStream(model, { ids: tinyIds, spans }).text(62), /token 62 is a sentinel/);
  const overlapping: SpanRule = { spanAt: (i) => (i === 1 || i === 2 ? 3 : 0), describe: () => 'overlapping' };
  const stream = new SentinelStream(model, { ids: tinyIds, spans: overlapping });
  stream.text(1);
  assert.throws(() => stream.text(5), /a span starts at text index 2 while the one before it is open/);
  assert.throws(() => new SentinelCompression(2, new SentinelCompression(2)), /already sentinel compression/);
});

const sentinelModel = resolve(root, 'models/sentinel-0.5/model.bin');

if (haveShared('msrnn ppl --sentinel', 'text/austen_3_persuasion.txt')) {
  test('msrnn ppl --sentinel: chunk 0 of Persuasion scores as tools/train/finetune.py scored it (same spans, same mask)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'msrnn-sentinel-ppl-'));
    let r, csv;
    try {
      r = await msrnnOk('ppl', '--model', sentinelModel, '--text', sharedPath('text/austen_3_persuasion.txt'), '--chunks', '1', '--chunk', '2048',
        '--policies', 'full', '--sentinel', 'ratio=0.5', '--threads', '1', '--no-progress', '--csv', join(dir, 'ppl.csv'));
      csv = readFileSync(join(dir, 'ppl.csv'), 'utf8');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const chunk0 = JSON.parse(readFileSync(resolve(root, 'models/sentinel-0.5/eval.json'), 'utf8')).per_chunk[0];
    const row = csv.split('\n').find((l) => l.startsWith('austen_3_persuasion.txt,full,'))!.split(',');
    assert.ok(Math.abs(Number(row[8]) - chunk0.nll / chunk0.predictions) < 1e-5, `${row[8]} vs ${chunk0.nll / chunk0.predictions}`);
    assert.is(row[9], '2047', 'every text token after BOS is scored, no sentinel');
    assert.match(r.stdout, /sentinel ratio=0\.5,max-span=25,seed=0/);
  });
}

test('msrnn generate --sentinel: spans compress the state, composes with --policy; the same run twice is the same', async () => {
  const base = ['generate', '--model', sentinelModel, '--prompt', 'It was', '--steps', '60', '--temperature', '0'];
  const r = await msrnnOk(...base, '--sentinel', 'ratio=0.5');
  assert.match(r.stdout, /^It was/);
  const kept = Number(/(\d+) entries kept per layer/.exec(r.stderr)![1]);
  const spans = Number(/sentinel: (\d+) spans? compressed/.exec(r.stderr)![1]);
  assert.ok(spans >= 1 && kept < 63 && kept > 63 / 2, `${kept} entries, ${spans} spans`);
  assert.equal((await msrnnOk(...base, '--sentinel', 'ratio=0.5')).stdout, r.stdout);
  const windowed = await msrnnOk(...base, '--sentinel', 'every=6,span=4', '--policy', 'window', '--capacity', '12', '--json');
  const out = JSON.parse(windowed.stdout);
  assert.is(out.policy, 'sentinel+window');
  assert.is(out.sentinel, 'sentinel every=6,span=4');
  // At most k; fewer right after a <CR> took its span out.
  assert.ok(out.state_entries_per_layer <= 12 && out.state_entries_per_layer > 12 - 4, `${out.state_entries_per_layer} entries`);
  assert.is(out.generated_tokens.length, 60);
});

test('msrnn generate --sentinel --save-state, then --resume: the same tokens as one run, with a span open at the save', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'msrnn-sentinel-resume-'));
  try {
    const file = join(dir, 'run.state');
    const sampled = ['--model', sentinelModel, '--json', '--temperature', '0.8', '--seed', '7'];
    const run = [...sampled, '--prompt', 'It was a', '--sentinel', 'every=6,span=4', '--policy', 'h2o', '--capacity', '12'];
    const whole = JSON.parse((await msrnnOk('generate', ...run, '--steps', '40')).stdout);
    const first = await msrnnOk('generate', ...run, '--steps', '13', '--save-state', file);
    assert.match(first.stderr, /sentinel: \d+ spans compressed, one still open/, 'the save point is inside a span');
    const rest = await msrnnOk('generate', ...sampled, '--resume', file, '--steps', '27');
    assert.match(rest.stderr, /its policy, kv type, sentinel stream and sampling settings are used/);
    const [a, b] = [JSON.parse(first.stdout), JSON.parse(rest.stdout)];
    assert.equal([...a.generated_tokens, ...b.generated_tokens], whole.generated_tokens);
    assert.equal([b.policy, b.sentinel, b.state_entries_per_layer], [whole.policy, whole.sentinel, whole.state_entries_per_layer]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('msrnn trace --sentinel: the stream, every span and its <CL> evicted at its <CR>, span bands in the heatmap', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'msrnn-sentinel-trace-'));
  try {
    writeFileSync(join(dir, 'ids.json'), JSON.stringify([randomText(90, 21)]));
    const r = await msrnnOk('trace', '--model', sentinelModel, '--text', join(dir, 'ids.json'), '--policy', 'full', '--sentinel', 'every=10,span=6',
      '--json', join(dir, 'trace.json'), '--svg', join(dir, 'trace.svg'), '--no-progress');
    assert.match(r.stdout, /^sentinel \(sentinel compression/);
    const trace = JSON.parse(readFileSync(join(dir, 'trace.json'), 'utf8'));
    // 90 text tokens; spans at text 5..10, 15..20, …, 85..90: 9 <CL>, the last span still open at the end.
    assert.is(trace.kinds.filter((k: number) => k === OPEN).length, 9);
    assert.is(trace.kinds.filter((k: number) => k === CLOSE).length, 8);
    assert.is(trace.tokens.length, 90 + 17);
    // The reference: a span's elements (its <CL> and text) leave at its <CR>; nothing else leaves.
    const want = new Array<number>(trace.tokens.length).fill(-1);
    let open = -1;
    trace.kinds.forEach((kind: number, e: number) => {
      if (kind === OPEN) open = e;
      if (kind === CLOSE) want.fill(e, open, e);
    });
    for (const layer of trace.evictedAt) for (const head of layer) assert.equal(head, want);
    const svg = readFileSync(join(dir, 'trace.svg'), 'utf8');
    assert.is((svg.match(/height="4" fill="#e08a00"\/>/g) ?? []).length, 8 * trace.nLayers, 'one band per closed span in each layer panel');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('msrnn generate / ppl / trace --sentinel: clear errors', async () => {
  const noSentinels = await msrnn('generate', '--model', resolve(root, 'models/default/model.bin'), '--steps', '4', '--sentinel', 'every=8');
  assert.is(noSentinels.status, 1);
  assert.match(noSentinels.stderr, /has no sentinel tokens <CL>\/<CR>/);
  assert.match((await msrnn('generate', '--model', sentinelModel, '--sentinel', 'ratio=1')).stderr, /--sentinel: ratio \(the compressed share of the text\) must be in \(0, 1\)/);
  assert.match((await msrnn('generate', '--model', sentinelModel, '--sentinel', 'ratio=0.5,max-span=1')).stderr, /--sentinel: max-span must be an integer in \[2, 1024\]/);
  assert.match((await msrnn('generate', '--model', sentinelModel, '--sentinel', 'ratio=0.5', '--save-state', 'x.state')).stderr, /--save-state: --sentinel ratio=R draws its spans for this run's length, so the run could not continue past it; use --sentinel every=N/);
  assert.match((await msrnn('generate', '--model', sentinelModel, '--sentinel', 'every=4', '--resume', 'x.state')).stderr, /--resume continues the saved run with its own sentinel stream, if it had one: give no --sentinel/);
  assert.match((await msrnn('generate', '--model', sentinelModel, '--sentinel', 'every=4', '--position-mode', 'reindex')).stderr, /needs position mode "absolute"/);
  assert.match((await msrnn('ppl', '--model', sentinelModel, '--text', 'x.txt', '--sentinel', 'every=4', '--prefill', 'fast', '--prompt', '8')).stderr, /--prefill fast does not apply/);
  assert.match((await msrnn('ppl', '--model', resolve(root, 'models/default/model.bin'), '--text', resolve(root, 'README.md'), '--sentinel', 'every=4', '--chunks', '1', '--chunk', '16')).stderr, /has no sentinel tokens <CL>\/<CR>/);
  assert.match((await msrnn('trace', '--model', sentinelModel, '--text', resolve(root, 'README.md'), '--sentinel', 'ratio=2', '--tokens', '8')).stderr, /--sentinel: ratio .* must be in \(0, 1\), got "2"/);
});

test.run();
