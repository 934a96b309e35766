// Memory that is given back: models (llama2.c, GGUF, Hugging Face) and states disposed in a loop
// leave the wasm heap exactly where it was, and the reused memory computes the same logits bit
// for bit; a quantized model holds no float32 originals; a disposed model or state refuses every
// use with a DisposedError instead of computing with memory that now belongs to someone else.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DisposedError } from '@msrnn/msrnn';
import { getPolicy } from '@msrnn/policies';
import { KV_TYPES, createWasmBackend, jsBackend, type Backend, type WasmBackend } from '@msrnn/tensor';
import {
  createState, modelFingerprint, modelFromBytes, modelFromFiles, prefill, quantizeModel, readHfFolder, restoreState, step, type Model,
} from '../src/index.js';
import { weightArrays } from '../src/state-io.js';
import { haveShared, paths, shared } from './shared.js';

const q8Gguf = resolve(shared, 'models/gguf/stories260K-Q8_0.gguf');
const hfFolder = resolve(shared, 'models/hf/stories260K');
const PROMPT = [1, 403, 407, 261, 378, 285, 365, 259, 10, 260, 300, 301];

/** What one use of a model computes: prefill (chunk buffers), then steps (attention scratch growing). */
function use(model: Model, policy = getPolicy('tova', { capacity: 8 })): Float32Array {
  const state = createState(model, { policy });
  prefill(model, state, PROMPT, { chunkSize: 4 });
  let logits: Float32Array = new Float32Array(0);
  for (let t = 0; t < 20; t++) logits = step(model, state, (t * 31 + 7) % 500 + 2);
  const out = logits.slice();
  state.dispose();
  return out;
}

/** The heap's footprint: live bytes, the top of the used part, and the memory's size. */
const footprint = (wasm: WasmBackend) => ({ used: wasm.heap.usedBytes, top: wasm.heap.highWaterBytes, capacity: wasm.heap.capacityBytes });

/** Size the heap reserves for an allocation of `bytes` (16-byte granules, at least one). */
const reserved = (bytes: number): number => Math.max(16, Math.ceil(bytes / 16) * 16);

/** A test body run on a fresh wasm backend, disposed after it whatever happens. */
const onWasm = (body: (wasm: WasmBackend) => void | Promise<void>) => async () => {
  const wasm = await createWasmBackend();
  try {
    await body(wasm);
  } finally {
    await wasm.dispose();
  }
};

if (haveShared('dispose', paths.model, q8Gguf, hfFolder)) {
  test('200 llama2.c + GGUF models loaded, run and disposed: the wasm heap does not grow, logits stay bitwise equal', onWasm((wasm) => {
    const files = [readFileSync(paths.model), readFileSync(q8Gguf)];
    const empty = footprint(wasm);
    let held = 0; // bytes the models of one cycle hold while loaded
    const first = files.map((bytes) => {
      const m = modelFromBytes(bytes, { backend: wasm }), before = wasm.heap.usedBytes;
      const l = use(m);
      held += m.allocations.count > 0 ? before - empty.used : 0;
      m.dispose();
      return l;
    });
    const after1 = footprint(wasm);
    assert.ok(held > 1e6, `a cycle's models hold ${held} bytes: without freeing, 200 cycles would take 200 times that`);
    for (let i = 1; i < 200; i++) {
      files.forEach((bytes, f) => {
        const model = modelFromBytes(bytes, { backend: wasm });
        // The full use (a few ms) every 50th cycle keeps the suite fast; a state and a step every cycle.
        if (i % 50 === 0) assert.equal(use(model), first[f], `cycle ${i}, file ${f}: reused memory computes the same logits`);
        else { const state = createState(model); step(model, state, 2); state.dispose(); }
        model.dispose();
      });
    }
    assert.equal(footprint(wasm), after1, 'heap after 200 cycles = heap after 1');
    assert.is(wasm.heap.usedBytes - empty.used, after1.used - empty.used);
  }));

  test('Hugging Face folders loaded and disposed 20 times: the heap does not grow', onWasm(async (wasm) => {
    const files = await readHfFolder(hfFolder);
    const cycle = (): Float32Array => { const m = modelFromFiles(files, { backend: wasm }); const l = use(m); m.dispose(); return l; };
    const first = cycle(), after1 = footprint(wasm);
    for (let i = 1; i < 20; i++) cycle();
    assert.equal(footprint(wasm), after1);
    assert.equal(cycle(), first);
  }));

  test('states created, grown and disposed 100 times (unbounded and bounded, f32/f16/q8 entries): the heap does not grow', onWasm((wasm) => {
    const model = modelFromBytes(readFileSync(paths.model), { backend: wasm });
    const cycle = (i: number): void => {
      // keep-all with 4 initial slots doubles 3 times over 40 tokens; the old storage must go back too.
      const kv = KV_TYPES[i % 3]!;
      const state = createState(model, i % 2 ? { initialSlots: 4, kv } : { policy: getPolicy('h2o', { capacity: 16 }), kv });
      prefill(model, state, Array.from({ length: 40 }, (_, t) => (t * 13 + i) % 500 + 2));
      const copy = state.clone();
      state.dispose();
      copy.dispose();
    };
    for (let i = 0; i < 6; i++) cycle(i); // every kv type, bounded and unbounded
    const after = footprint(wasm);
    for (let i = 6; i < 100; i++) cycle(i);
    assert.equal(footprint(wasm), after);
    model.dispose();
  }));

  test('a q8 model gives its float32 projection matrices back (only the embedding stays f32)', onWasm((wasm) => {
    const f32 = modelFromBytes(readFileSync(paths.model), { backend: wasm });
    const before = wasm.heap.usedBytes;
    const projections = new Set(weightArrays(f32.weights.layers.map((L) => [L.q, L.k, L.v, L.o, L.gate, L.up, L.down].map((x) => x?.weight))));
    const q8 = quantizeModel(f32, 'q8');
    for (const a of projections) assert.not.ok(q8.allocations.has(a), 'a float32 original is still held');
    const added = weightArrays(q8.weights).filter((a) => !weightArrays(f32.weights).includes(a));
    const freed = [...projections].reduce((n, a) => n + reserved(a.byteLength), 0);
    assert.is(wasm.heap.usedBytes, before - freed + added.reduce((n, a) => n + reserved(a.byteLength), 0));
    assert.ok(wasm.heap.usedBytes < 0.55 * before, `q8 model holds ${wasm.heap.usedBytes} bytes, the f32 one held ${before}`);
    assert.ok(use(q8).every(Number.isFinite));
    assert.throws(() => use(f32), (e: Error) => e instanceof DisposedError && /quantized to q8 by quantizeModel/.test(e.message));
    q8.dispose();
  }));

  test('a quantizeModel refused part-way (a weight too large for f16) gives back what it had quantized, and the model still runs', onWasm((wasm) => {
    const f32 = modelFromBytes(readFileSync(paths.model), { backend: wasm });
    const reference = use(f32);
    const before = wasm.heap.usedBytes;
    const down = f32.weights.layers.at(-1)!.down.weight; // quantized last: the earlier matrices are done by then
    if (down.type !== 'f32') throw new Error(`stories260K's down matrix is ${down.type}`);
    const saved = down.data[down.offset]!;
    down.data[down.offset] = 1e6;
    assert.throws(() => quantizeModel(f32, 'f16'), /does not fit an f16/);
    down.data[down.offset] = saved;
    assert.is(wasm.heap.usedBytes, before, 'the f16 matrices made before the refusal are still held');
    assert.equal(use(f32), reference);
    f32.dispose();
  }));

  for (const backendName of ['js', 'wasm'] as const) {
    test(`${backendName}: a disposed model or state refuses every use with a DisposedError`, async () => {
      const wasm = backendName === 'wasm' ? await createWasmBackend() : null;
      const backend: Backend = wasm ?? jsBackend;
      try {
        const model = modelFromBytes(readFileSync(paths.model), { backend, source: paths.model });
        const state = createState(model);
        step(model, state, 5);
        const saved = state.save();
        const other = createState(model);
        state.dispose();
        state.dispose(); // idempotent
        assert.ok(state.disposed);
        const disposedUse = (what: RegExp) => (e: Error) => e instanceof DisposedError && what.test(e.message);
        assert.throws(() => step(model, state, 5), disposedUse(/^step: the state was disposed/));
        assert.throws(() => prefill(model, state, [5, 6]), disposedUse(/^prefill: the state was disposed/));
        assert.throws(() => state.save(), disposedUse(/state\.save/));
        assert.throws(() => state.clone(), disposedUse(/state\.clone/));
        assert.ok(step(model, other, 5).every(Number.isFinite), 'the model and its other states are unaffected');
        model.dispose();
        model.dispose();
        assert.ok(model.disposed);
        const disposedModel = (what: string) => disposedUse(new RegExp(`^${what}: model .*stories260K\\.bin was disposed`));
        assert.throws(() => step(model, other, 5), disposedModel('step'));
        assert.throws(() => prefill(model, other, [5]), disposedModel('prefill'));
        assert.throws(() => createState(model), disposedModel('createState'));
        assert.throws(() => restoreState(model, saved), disposedModel('restoreState'));
        assert.throws(() => quantizeModel(model, 'q8'), disposedModel('quantizeModel'));
        // The fingerprint was computed by save() while the model lived; a fresh model never hashed fails.
        assert.ok(modelFingerprint(model));
        const unhashed = modelFromBytes(readFileSync(paths.model), { backend, source: paths.model });
        unhashed.dispose();
        assert.throws(() => modelFingerprint(unhashed), disposedModel('modelFingerprint'));
        other.dispose();
      } finally {
        await wasm?.dispose();
      }
    });
  }

  test('a file refused by a loader leaves nothing allocated behind', onWasm((wasm) => {
    const bytes = readFileSync(paths.model);
    const nan = new Uint8Array(bytes);
    new DataView(nan.buffer, nan.byteOffset).setFloat32(28 + 4 * 1000, NaN, true); // a token embedding weight (after the 28-byte v0 header)
    const before = footprint(wasm);
    assert.throws(() => modelFromBytes(nan, { backend: wasm, source: 'nan.bin' }), /nan\.bin: tensor token embedding \(F32\) value 1000 .* is NaN/);
    assert.is(wasm.heap.usedBytes, before.used);
  }));
}

test.run();
