// Fuzzing restoreState (fast-check, fixed seeds): byte mutations (caught by the checksum), the
// same with the checksum recomputed (so they reach the header and entry parsing), truncations,
// and header JSON whose fields are replaced by hostile values, re-encoded as a well-formed file.
// Every outcome is a restored state or a StateFileError, within a time limit; the state never
// allocates more than restoreState's limit for the file (16 × its size + 64 MiB), and a refused
// file leaves the wasm heap exactly as it was.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { fnv1a, StateFileError } from '@msrnn/msrnn';
import { getPolicy } from '@msrnn/policies';
import { createWasmBackend, jsBackend, type Backend, type WasmBackend } from '@msrnn/tensor';
import { createState, modelFromBytes, restoreState, step, type Model } from '../src/index.js';
import { defaultMaxStateBytes } from '../src/state-io.js';
import { applyEdits, byteEdits, expectOwnError, hostileJson } from './fuzz.js';
import { randomTensors, tiny, writeV0 } from './llama2c/build.js';

const modelFile = writeV0(tiny, randomTensors(tiny, 5), true);
/** Before the JSON header: magic (8), version (4), tokens seen (8), header length (4). */
const JSON_AT = 24;

function savedState(model: Model, policyName: string, options: Record<string, number>): Uint8Array {
  const state = createState(model, { policy: getPolicy(policyName, options) });
  for (let t = 0; t < 14; t++) step(model, state, (t * 7 + 3) % 290 + 2);
  return state.save({ note: 'fuzz' });
}

/** The file with its checksum recomputed (so an edit reaches the parser behind the checksum). */
function resealed(file: Uint8Array): Uint8Array {
  const f = file.slice();
  if (f.length >= 4) new DataView(f.buffer).setUint32(f.length - 4, fnv1a(f.subarray(0, f.length - 4)), true);
  return f;
}

/** A well-formed file with `header` (an object) in place of the JSON header. */
function withHeader(file: Uint8Array, header: unknown): Uint8Array {
  const dv = new DataView(file.buffer, file.byteOffset);
  const oldLength = dv.getUint32(20, true);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(file.length - oldLength + json.length);
  out.set(file.subarray(0, JSON_AT));
  new DataView(out.buffer).setUint32(20, json.length, true);
  out.set(json, JSON_AT);
  out.set(file.subarray(JSON_AT + oldLength), JSON_AT + json.length);
  return resealed(out);
}

const headerOf = (file: Uint8Array): Record<string, any> =>
  JSON.parse(new TextDecoder().decode(file.subarray(JSON_AT, JSON_AT + new DataView(file.buffer, file.byteOffset).getUint32(20, true))));

let wasm: WasmBackend;
test.before(async () => { wasm = await createWasmBackend(); });
test.after(async () => { await wasm.dispose(); });

/** Restores on a counting js backend and on wasm: a state or a StateFileError, allocation within the limit, nothing left behind. */
function check(models: { js: Model; wasm: Model; counted: () => number }, bytes: Uint8Array): void {
  const before = models.counted();
  const r = expectOwnError(() => restoreState(models.js, bytes, { source: 'fuzz.state' }), [StateFileError]);
  const allocated = models.counted() - before;
  assert.ok(allocated <= defaultMaxStateBytes(bytes.length), `a ${bytes.length}-byte file allocated ${allocated} bytes`);
  if (r) assert.ok(step(models.js, r.state, 3).length > 0);
  const used = wasm.heap.usedBytes;
  const w = expectOwnError(() => restoreState(models.wasm, bytes, { source: 'fuzz.state' }), [StateFileError]);
  if (w) w.state.dispose();
  assert.is(wasm.heap.usedBytes, used, 'the wasm heap is back where it was');
}

function setup() {
  let allocated = 0;
  const counting: Backend = { ...jsBackend, alloc: (n) => { allocated += 4 * n; return new Float32Array(n); } };
  return { js: modelFromBytes(modelFile, { backend: counting }), wasm: modelFromBytes(modelFile, { backend: wasm }), counted: () => allocated };
}

const policies: [string, Record<string, number>][] = [['h2o', { capacity: 6 }], ['window', { capacity: 5 }], ['full', {}]];

test('byte mutations: the checksum refuses them; resealed, the parser behind it does', () => {
  const models = setup();
  for (const [name, options] of policies) {
    const file = savedState(models.js, name, options);
    fc.assert(fc.property(byteEdits(file.length, 4), (edits) => check(models, applyEdits(file, edits))), { seed: 1410, numRuns: 60 });
    fc.assert(fc.property(byteEdits(file.length, 4), (edits) => check(models, resealed(applyEdits(file, edits)))), { seed: 1411, numRuns: 150 });
    fc.assert(fc.property(byteEdits(JSON_AT + 40, 3), (edits) => check(models, resealed(applyEdits(file, edits)))), { seed: 1412, numRuns: 150 });
  }
  models.wasm.dispose();
});

test('truncations, resealed or not', () => {
  const models = setup();
  const file = savedState(models.js, 'h2o', { capacity: 6 });
  fc.assert(fc.property(fc.nat(file.length), fc.boolean(), (n, seal) => {
    const cut = file.slice(0, n);
    check(models, seal ? resealed(cut) : cut);
  }), { seed: 1413, numRuns: 200 });
  models.wasm.dispose();
});

test('hostile values in every header field, and absurd policy capacities, in well-formed files', () => {
  const models = setup();
  for (const [name, options] of policies) {
    const file = savedState(models.js, name, options);
    const header = headerOf(file);
    const fields = [...Object.keys(header), 'policy.name', 'policy.options', 'policy.options.capacity', 'model.headDim', 'layerCapacities.0', 'windows.0'];
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom(...fields), hostileJson), { minLength: 1, maxLength: 3 }), (edits) => {
      const h = structuredClone(header);
      for (const [path, value] of edits) {
        const keys = path.split('.');
        let at: any = h;
        for (const k of keys.slice(0, -1)) at = at?.[k];
        if (at && typeof at === 'object') at[keys.at(-1)!] = value;
      }
      check(models, withHeader(file, h));
    }), { seed: 1414, numRuns: 300 });
  }
  // A capacity the file cannot justify: refused by the limit, named, before allocating.
  const file = savedState(models.js, 'h2o', { capacity: 6 });
  for (const capacity of [1e5, 1e7, 2 ** 31, 1e15]) {
    const h = headerOf(file);
    h.policy.options.capacity = capacity;
    h.capacity = capacity;
    h.layerCapacities = h.layerCapacities.map(() => capacity);
    const bytes = withHeader(file, h);
    check(models, bytes);
    // 1e5 entries of this tiny model is 17 MiB, within the limit: it restores.
    if (capacity === 1e5) { assert.is(restoreState(models.js, bytes).state.capacity, 1e5); continue; }
    assert.throws(() => restoreState(models.js, bytes, { source: 'big.state' }), (e: Error) => e instanceof StateFileError && /big\.state: .*needs a .* state, more than maxStateBytes/.test(e.message));
  }
  models.wasm.dispose();
});

test.run();
