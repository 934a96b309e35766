// Save / restore of the multi-state: a restored state continues token for token (bitwise equal
// logits) for every policy of the registry, on both backends; bad files each give one clear error.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StateFileError, STATE_FORMAT_VERSION, fnv1a } from '@msrnn/msrnn';
import { getPolicy, policyTable, type PolicyOptions } from '@msrnn/policies';
import { KV_TYPES, createWasmBackend, type Backend, type KvType, jsBackend } from '@msrnn/tensor';
import { Sampler, createState, generate, loadTokenizer, modelFromBytes, restoreState, step, type Model } from '../src/index.js';
import { haveShared, paths } from './shared.js';

/** A budget every registry row accepts, small enough that eviction runs long before the save point. */
function optionsFor(name: string, needsRatio: boolean | undefined, unbounded: boolean | undefined): PolicyOptions {
  if (unbounded) return {};
  if (needsRatio) return { ratio: 0.6, seed: 3 };
  if (name === 'snapkv') return { capacity: 10, window: 4, kernel: 3 };
  return { capacity: name === 'pyramidkv' ? 20 : 10, seed: 5 };
}

const tokens = Array.from({ length: 160 }, (_, i) => (i * 37 + 11) % 500 + 3);
const SAVE_AT = 35;
const END = 60;

function run(model: Model, state: ReturnType<typeof createState>, from: number, to: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let t = from; t < to; t++) out.push(step(model, state, tokens[t]!).slice());
  return out;
}

function continuationHolds(model: Model, backendName: string, kv: KvType): void {
  for (const row of policyTable) {
    const policy = getPolicy(row.name, optionsFor(row.name, row.needsRatio, row.unbounded));
    const straight = createState(model, { policy, kv });
    const expected = run(model, straight, 0, END);
    const first = createState(model, { policy: getPolicy(row.name, optionsFor(row.name, row.needsRatio, row.unbounded)), kv });
    run(model, first, 0, SAVE_AT);
    const bytes = first.save();
    // As read from a file: a Node Buffer whose slice() is a view into a shared pool, at an odd offset.
    const fromFile = Buffer.concat([Buffer.from([1]), Buffer.from(bytes)]).subarray(1);
    const { state } = restoreState(model, fromFile);
    assert.is(state.kv, kv, `${backendName} ${row.name}: the restored state keeps the kv type`);
    assert.equal(state.keptPositionsPerHead(), first.keptPositionsPerHead(), `${backendName} ${row.name} ${kv}: kept positions`);
    assert.is(state.seen, SAVE_AT);
    const resumed = run(model, state, SAVE_AT, END);
    for (let i = 0; i < resumed.length; i++) {
      const a = resumed[i]!, b = expected[SAVE_AT + i]!;
      for (let j = 0; j < a.length; j++) {
        if (a[j] !== b[j]) assert.unreachable(`${backendName} ${row.name} kv ${kv}: token ${SAVE_AT + i} logit ${j}: resumed ${a[j]} vs uninterrupted ${b[j]}`);
      }
    }
    assert.equal(straight.keptPositionsPerHead(), state.keptPositionsPerHead(), `${backendName} ${row.name}: final kept positions`);
  }
}

if (haveShared('state-save', paths.model)) {
  const modelBytes = readFileSync(paths.model);
  const model = modelFromBytes(modelBytes, { source: 'stories260K.bin' });

  for (const kv of KV_TYPES) {
    test(`js, kv ${kv}: every registry policy continues token for token after save/restore`, () => continuationHolds(model, 'js', kv));
  }

  test('wasm: save copies out of wasm memory, restore copies in; continuation holds', async () => {
    const backend: Backend = await createWasmBackend();
    const wasmModel = modelFromBytes(modelBytes, { backend, source: 'stories260K.bin' });
    for (const kv of KV_TYPES) continuationHolds(wasmModel, 'wasm', kv);
    // A state saved on one backend restores on the other (same weights, same fingerprint).
    const s = createState(wasmModel, { policy: getPolicy('tova', { capacity: 8 }) });
    run(wasmModel, s, 0, 20);
    const { state } = restoreState(model, s.save());
    assert.equal(state.keptPositionsPerHead(), s.keptPositionsPerHead());
    assert.ok(jsBackend !== backend);
  });

  test('seeded sampling resumes token for token: state, last logits and the RNG state saved together', async () => {
    const tokenizer = await loadTokenizer(paths.tokenizer);
    const prompt = tokenizer.encode('Once upon a time');
    const opts = { temperature: 0.9, topP: 0.9, seed: 42, stopAtEnd: false };
    const straight: number[] = [];
    for await (const p of generate(model, tokenizer, createState(model, { policy: getPolicy('tova', { capacity: 16 }) }), prompt, { ...opts, maxNewTokens: 60 })) straight.push(p.token);
    // First half, then save state + logits + RNG.
    const state = createState(model, { policy: getPolicy('tova', { capacity: 16 }) });
    const sampler = new Sampler(model.config.vocabSize, opts);
    const logits = model.backend.alloc(model.config.vocabSize);
    const first: number[] = [];
    for await (const p of generate(model, tokenizer, state, prompt, { ...opts, maxNewTokens: 25, sampler, logitsOut: logits })) first.push(p.token);
    const bytes = state.save({ rng: sampler.rng.getState(), logits: Array.from(logits) });
    // Resume in a fresh model object, as another process would.
    const again = modelFromBytes(modelBytes);
    const { state: restored, meta } = restoreState(again, bytes);
    const sampler2 = new Sampler(again.config.vocabSize, opts);
    sampler2.rng.setState(meta.rng as string);
    const rest: number[] = [];
    for await (const p of generate(again, tokenizer, restored, [], { ...opts, maxNewTokens: 35, sampler: sampler2, startLogits: Float32Array.from(meta.logits as number[]) })) rest.push(p.token);
    assert.equal([...first, ...rest], straight);
  });

  test('a bounded state file has a constant size once past its capacity', () => {
    const s = createState(model, { policy: getPolicy('tova', { capacity: 8 }) });
    run(model, s, 0, 10);
    const size = s.save().length;
    run(model, s, 10, 160); // tokens seen went from 2 to 3 digits: still the same size
    assert.is(s.save().length, size);
  });

  test('meta travels with the state', () => {
    const s = createState(model);
    run(model, s, 0, 3);
    assert.equal(restoreState(model, s.save({ rng: 'abc' })).meta, { rng: 'abc' });
  });

  const saved = (() => {
    const s = createState(model, { policy: getPolicy('h2o', { capacity: 8 }) });
    run(model, s, 0, 12);
    return s.save();
  })();
  const throwsState = (fn: () => unknown, pattern: RegExp) => {
    try { fn(); } catch (e) {
      assert.instance(e, StateFileError);
      assert.match((e as Error).message, pattern);
      return;
    }
    assert.unreachable(`expected an error matching ${pattern}`);
  };

  test('restoring into a model with other weights names the weights hash', () => {
    const other = new Uint8Array(modelBytes);
    const f = new Float32Array(other.buffer, other.byteOffset + 28, 4);
    f[3] = f[3]! + 0.5; // one embedding weight
    throwsState(() => restoreState(modelFromBytes(other), saved), /different model: weights hash/);
  });

  test('restoring into a model of another shape names the field', () => {
    const defaultModel = 'models/default/model.bin';
    const other = modelFromBytes(readFileSync(new URL(`../../../${defaultModel}`, import.meta.url)));
    throwsState(() => restoreState(other, saved), /different model: (nLayers|nKvHeads|headDim|dim)/);
  });

  test('corrupt, truncated, newer-version and non-state files: one clear error each', () => {
    const corrupt = saved.slice(); corrupt[saved.length - 40]! ^= 0x10;
    throwsState(() => restoreState(model, corrupt), /checksum mismatch/);
    throwsState(() => restoreState(model, saved.subarray(0, saved.length - 17)), /checksum mismatch|truncated/);
    throwsState(() => restoreState(model, saved.subarray(0, 10)), /truncated/);
    const newer = saved.slice(); new DataView(newer.buffer).setUint32(8, STATE_FORMAT_VERSION + 1, true);
    throwsState(() => restoreState(model, newer), new RegExp(`format version ${STATE_FORMAT_VERSION + 1} is newer`));
    throwsState(() => restoreState(model, modelBytes.subarray(0, 100)), /bad magic/);
    // A well-formed checksum over a cut body: the reader names the truncation, not a wild read.
    const cut = saved.slice(0, saved.length - 4 - 64);
    const fixed = new Uint8Array(cut.length + 4); fixed.set(cut);
    new DataView(fixed.buffer).setUint32(cut.length, fnv1a(cut), true);
    throwsState(() => restoreState(model, fixed), /truncated/);
  });

  test('a policy not made by getPolicy cannot be saved (clear error)', () => {
    const p = getPolicy('window', { capacity: 4 });
    const handMade = { name: 'mine', capacity: 4, afterAttention: p.afterAttention.bind(p) };
    const s = createState(model, { policy: handMade });
    assert.throws(() => s.save(), /policy "mine" was not made by getPolicy/);
  });
}

test.run();
