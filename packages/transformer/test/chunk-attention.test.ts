// A prompt chunk's queries attending at once (src/chunk-attention.ts) against the same model
// attending one token at a time (a backend without attendCausal): for every policy kind — none,
// bounded with room, attention statistics (H2O, SnapKV), a ratio budget that evicts inside the
// chunk, a model sliding window — the logits at every position and the state (entries, positions,
// statistics) are bit-identical, whatever the chunk size; and both stay within float rounding of
// step() token by token. The batched path must actually run (its kernel calls are counted).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MultiState, Policy } from '@msrnn/msrnn';
import { getPolicy } from '@msrnn/policies';
import { createWasmBackend, jsBackend, type WasmBackend } from '@msrnn/tensor';
import { createState, prefill, step, type Model } from '../src/index.js';
import { randomModel, rope, type Shape } from './random-model.js';
import { maxAbsDiff } from './shared.js';

const wasm = await createWasmBackend();
let batchedCalls = 0;
// Two views of the same backend: one counting the batched kernel's calls, one without it.
const batched = Object.create(wasm, {
  deferAttendCausal: { value: (...args: Parameters<WasmBackend['deferAttendCausal']>) => { batchedCalls++; return wasm.deferAttendCausal(...args); } },
}) as WasmBackend;
const perToken = Object.create(wasm, { attendCausal: { value: undefined } }) as WasmBackend;

const sizes = { dim: 32, nHeads: 4, nKvHeads: 2, hiddenDim: 40, nLayers: 2, vocabSize: 50, seqLen: 64 };
const tokens = Array.from({ length: 45 }, (_, i) => (i * 7 + 3) % 50);

interface Run { logits: Float32Array[]; state: MultiState }
function run(model: Model, policy: () => Policy, chunkSize: number): Run {
  const state = createState(model, { policy: policy() });
  const logits: Float32Array[] = [];
  prefill(model, state, tokens.slice(0, 20), { chunkSize, onLogits: (_, l) => logits.push(l.slice()) });
  prefill(model, state, tokens.slice(20), { chunkSize, onLogits: (_, l) => logits.push(l.slice()) }); // continues at position 20
  return { logits, state };
}

function assertSameState(a: MultiState, b: MultiState, what: string): void {
  assert.is(a.seen, b.seen);
  a.layers.forEach((la, l) => la.heads.forEach((x, h) => {
    const y = b.layers[l]!.heads[h]!, at = `${what}: layer ${l} head ${h}`;
    assert.is(x.count, y.count, `${at}: count`);
    assert.equal(Array.from(x.positions.subarray(0, x.count)), Array.from(y.positions.subarray(0, y.count)), `${at}: positions`);
    assert.equal(Array.from(x.stats.subarray(0, x.count * x.statsPerEntry)), Array.from(y.stats.subarray(0, y.count * y.statsPerEntry)), `${at}: stats`);
    const n = x.count * x.headDim;
    assert.equal(Array.from(x.keys.subarray(0, n)), Array.from(y.keys.subarray(0, n)), `${at}: keys`);
    assert.equal(Array.from(x.values.subarray(0, n)), Array.from(y.values.subarray(0, n)), `${at}: values`);
  }));
}

const policies: [string, () => Policy][] = [
  ['unbounded', () => getPolicy('full')],
  ['window k=30 (room for the first chunks)', () => getPolicy('window', { capacity: 30 })],
  ['h2o k=12 (statistics from every weight)', () => getPolicy('h2o', { capacity: 12 })],
  ['snapkv k=16', () => getPolicy('snapkv', { capacity: 16 })],
  ['local ratio=0.5 (evicts inside a chunk)', () => getPolicy('local', { ratio: 0.5 })],
];
const shapes: [string, Shape][] = [
  ['llama, GQA', { arch: {} }],
  ['half-layout RoPE, q/k/v biases', { arch: { positions: rope({ layout: 'half' }) }, biases: 'qkv' }],
  ['gpt2 (learned positions)', { arch: { norm: 'layernorm', activation: 'gelu_tanh', positions: { kind: 'learned' } }, biases: 'all', gated: false }],
  ['sliding window 9 on layer 0', { arch: { slidingWindow: [9, Infinity] } }],
];

for (const [shapeName, shape] of shapes) {
  const one = randomModel(shape, perToken, 3, sizes), many = randomModel(shape, batched, 3, sizes);
  for (const [policyName, policy] of policies) {
    test(`${shapeName}, ${policyName}: a chunk attending at once = one token at a time (bit for bit), and ≈ step()`, () => {
      const stepped = createState(one, { policy: policy() });
      const steps = tokens.map((t) => step(one, stepped, t).slice());
      for (const chunkSize of [7, 16, 64]) {
        const before = batchedCalls;
        const a = run(many, policy, chunkSize), b = run(one, policy, chunkSize);
        assert.ok(batchedCalls > before, `chunks of ${chunkSize}: the batched kernel ran`);
        a.logits.forEach((l, i) => assert.equal(Array.from(l), Array.from(b.logits[i]!), `chunks of ${chunkSize}: logits at ${i}`));
        assertSameState(a.state, b.state, `chunks of ${chunkSize}`);
        a.logits.forEach((l, i) => assert.ok(maxAbsDiff(l, steps[i]!) < 1e-4, `chunks of ${chunkSize}: position ${i} vs step`));
        a.state.dispose(); b.state.dispose();
      }
      stepped.dispose();
    });
  }
}

test('the chunk weights buffer holds about one batch: a long chunk then a long context do not multiply', () => {
  const model = randomModel({ arch: {} }, jsBackend, 3, sizes), s = model.scratch, heads = sizes.nHeads;
  // What attendBatches asks for in one long prefill: many tokens while the context is short, few once it is long.
  for (const [tokens, entries] of [[512, 512], [4, 8192], [512, 600]] as const) {
    const stride = s.chunkAttFor(tokens, entries);
    assert.ok(stride >= entries && s.chunkAttViews.length >= tokens, `${tokens} tokens × ${entries} entries fit`);
    assert.is(s.chunkAttViews[tokens - 1]!.length, s.chunkAtt.length - (tokens - 1) * heads * stride);
    assert.ok(s.chunkAtt.length <= 2 * tokens * heads * entries, `${tokens} tokens × ${entries} entries: ${s.chunkAtt.length} weights allocated`);
  }
  model.dispose();
});

test.after(async () => { await wasm.dispose(); });
test.run();
