// A state under sentinel compression saves and restores with its stream (format 3): the restored
// stream continues token for token (bitwise equal logits, the same entries, spans and counters) as
// one that never stopped, whether a span is open at the save or not, on both backends. Plain states
// stay format 2, version 1 files still restore, and what cannot be saved says why. The repo's own
// sentinel model (models/sentinel-0.5, <CL> 2048, <CR> 2049): no ../shared needed.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fnv1a, StateFileError, type Policy } from '@msrnn/msrnn';
import { getPolicy } from '@msrnn/policies';
import type { KvType } from '@msrnn/tensor';
import { createWasmBackend } from '@msrnn/tensor';
import { createState, listedSpans, modelFromBytes, periodicSpans, restoreState, SentinelStream, step, type Model } from '../src/index.js';
import { jsAndWasm } from './shared.js';

const modelBytes = readFileSync(new URL('../../../models/sentinel-0.5/model.bin', import.meta.url));
const ids = { cl: 2048, cr: 2049 };
const tokens = Array.from({ length: 48 }, (_, i) => (i * 37 + 11) % 2000 + 3);
const END = tokens.length;
// every=6, span=4: spans cover text indices 3..6, 9..12, ...; at 5 a span is open, after 7 one just closed.
const EVERY = 6, SPAN = 4;
const SAVE_POINTS = [5, 7, 20];

function stream(model: Model, policy: Policy | undefined, kv: KvType): SentinelStream {
  return new SentinelStream(model, { ids, spans: periodicSpans(EVERY, SPAN), ...(policy ? { policy } : {}), kv });
}

/** Logits of text tokens [from, to) through `s`, copied. */
function feed(s: SentinelStream, from: number, to: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = from; i < to; i++) out.push(s.text(tokens[i]!).slice());
  return out;
}

/** The header's JSON and format version of a state file, and a way to write them back (fresh checksum). */
function edit(bytes: Uint8Array, change: (header: Record<string, any>) => number): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), jsonLength = dv.getUint32(20, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(24, 24 + jsonLength)));
  const version = change(header);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const body = bytes.subarray(24 + jsonLength, bytes.length - 4);
  const out = new Uint8Array(24 + json.length + body.length + 4), odv = new DataView(out.buffer);
  out.set(bytes.subarray(0, 24)); odv.setUint32(8, version, true); odv.setUint32(20, json.length, true);
  out.set(json, 24); out.set(body, 24 + json.length);
  odv.setUint32(out.length - 4, fnv1a(out.subarray(0, out.length - 4)), true);
  return out;
}

const versionOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);

for (const [name, backend] of await jsAndWasm()) {
  test(`${name}: a restored sentinel stream continues token for token, with a span open at the save or not`, () => {
    const model = modelFromBytes(modelBytes, { backend, source: 'sentinel-0.5' });
    const cases: [string, () => Policy | undefined, KvType][] = [
      ['sentinel alone', () => undefined, 'f32'],
      ['window 10', () => getPolicy('window', { capacity: 10 }), 'f32'],
      ['h2o 10 (statistics before the stream index)', () => getPolicy('h2o', { capacity: 10 }), 'q8'],
    ];
    for (const [what, policy, kv] of cases) {
      const straight = stream(model, policy(), kv);
      const expected = feed(straight, 0, END);
      for (const at of SAVE_POINTS) {
        const first = stream(model, policy(), kv);
        feed(first, 0, at);
        const bytes = first.save({ note: 'mine' });
        assert.is(versionOf(bytes), 3);
        // Into a fresh model object, as another process would.
        const restored = restoreState(modelFromBytes(modelBytes, { backend, source: 'sentinel-0.5' }), bytes);
        const again = restored.sentinels;
        if (!again) return assert.unreachable(`${what}: no stream restored`);
        assert.is(restored.state, again.state);
        assert.equal(restored.meta, { note: 'mine' });
        assert.is(again.spanOpen, first.spanOpen, `${what} at ${at}: span open`);
        assert.is(again.spans.describe(), first.spans.describe());
        assert.equal(again.state.keptPositionsPerHead(), first.state.keptPositionsPerHead());
        const resumed = feed(again, at, END);
        resumed.forEach((logits, i) => {
          const want = expected[at + i]!;
          for (let j = 0; j < want.length; j++) {
            if (logits[j] !== want[j]) assert.unreachable(`${name} ${what} saved at ${at}: text token ${at + i} logit ${j}: ${logits[j]} resumed vs ${want[j]} uninterrupted`);
          }
        });
        assert.equal(again.state.keptPositionsPerHead(), straight.state.keptPositionsPerHead(), `${what} at ${at}: entries at the end`);
        assert.equal([again.textSeen, again.spansClosed, again.state.seen], [straight.textSeen, straight.spansClosed, straight.state.seen]);
        first.state.dispose(); again.state.dispose();
      }
      straight.state.dispose();
    }
  });
}

test('a plain state stays format 2; a version 1 file (f32, no kv field) still restores', () => {
  const model = modelFromBytes(modelBytes);
  const s = createState(model, { policy: getPolicy('tova', { capacity: 8 }) });
  for (const t of tokens.slice(0, 12)) step(model, s, t);
  const bytes = s.save();
  assert.is(versionOf(bytes), 2);
  assert.is(restoreState(model, bytes).sentinels, undefined);
  const v1 = restoreState(model, edit(bytes, (h) => { delete h.kv; return 1; })).state;
  assert.is(v1.kv, 'f32');
  assert.equal(v1.keptPositionsPerHead(), s.keptPositionsPerHead());
  const next = tokens[12]!;
  assert.equal(step(model, v1, next).slice(), step(model, s, next).slice());
});

test('what cannot be saved or restored says why', () => {
  const model = modelFromBytes(modelBytes);
  const s = stream(model, getPolicy('window', { capacity: 10 }), 'f32');
  feed(s, 0, 10);
  assert.throws(() => s.state.save(), /under sentinel compression; save it with the stream that drives it \(SentinelStream\.save\)/);
  const listed = new SentinelStream(model, { ids, spans: listedSpans([{ start: 2, length: 3 }]) });
  assert.throws(() => listed.save(), /its spans \(1 listed spans\) were chosen for a text of known length/);
  const bytes = s.save();
  const refused = (file: Uint8Array, pattern: RegExp) => {
    try { restoreState(model, file); } catch (e) {
      assert.instance(e, StateFileError);
      return assert.match((e as Error).message, pattern);
    }
    assert.unreachable(`expected an error matching ${pattern}`);
  };
  refused(edit(bytes, (h) => { h.sentinel.appended.pop(); return 3; }), /header field sentinel must hold appended for \d+ layers/);
  refused(edit(bytes, (h) => { h.sentinel.stream.cl = 5000; return 3; }), /cannot make its state again: sentinel <CL> id 5000 is outside the model's vocabulary/);
  refused(edit(bytes, (h) => { h.sentinel.stream.closeAfter = 2; return 3; }), /sentinel stream: textSeen 10, spansClosed \d+, closeAfter 2 are not a stream's counters/);
  refused(edit(bytes, (h) => { h.sentinel.openIndex = -1; h.sentinel.closeIndex = 4; return 3; }), /a span cannot close \(4\) before it opens \(-1\)/);
  // A version 2 reader knew no sentinel field: a file claiming version 2 is read as the plain state it says it is.
  refused(edit(bytes, () => 2), /policy "window" keeps 0 statistics per entry, the file 1/);
});

test('a sentinel state file refused after its state was made gives the wasm heap back', async () => {
  const wasm = await createWasmBackend({ threads: 1 });
  try {
    const model = modelFromBytes(modelBytes, { backend: wasm });
    const s = stream(model, getPolicy('window', { capacity: 10 }), 'f32');
    feed(s, 0, 10);
    const bytes = s.save();
    const before = wasm.heap.usedBytes;
    const bad = [
      edit(bytes, (h) => { h.sentinel.stream.closeAfter = 2; return 3; }),
      edit(bytes, (h) => { h.sentinel.openIndex = -1; h.sentinel.closeIndex = 4; return 3; }),
    ];
    for (const file of bad) {
      assert.throws(() => restoreState(model, file), (e: unknown) => e instanceof StateFileError);
      assert.is(wasm.heap.usedBytes, before, 'heap bytes in use after a refused restore');
    }
    s.state.dispose();
    model.dispose();
  } finally {
    await wasm.dispose();
  }
});

test.run();
