// The transformer as a multi-state RNN: prefill == step by step (state and logits), clone
// branches, bounded states never reallocate, the window keeps the last k, position modes.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MultiState, Policy } from '@msrnn/msrnn';
import { getPolicy } from '@msrnn/policies';
import { argmax, createState, loadModel, prefill, step, type Model } from '../src/index.js';
import { haveShared, maxAbsDiff, paths } from './shared.js';

const samplesPath = resolve(paths.fixtures, 'sampled_stories_tokens.json');

/** Steps tokens one by one; returns a copy of every position's logits. */
function stepAll(model: Model, state: MultiState, tokens: number[]): Float32Array[] {
  return tokens.map((t) => step(model, state, t).slice());
}

/** Asserts two states hold the same entries (same slots, positions, keys and values within tol). */
function assertSameState(a: MultiState, b: MultiState, tol: number): void {
  assert.is(a.seen, b.seen, 'seen');
  for (let l = 0; l < a.layers.length; l++) {
    for (let h = 0; h < a.layers[l]!.heads.length; h++) {
      const x = a.layers[l]!.heads[h]!, y = b.layers[l]!.heads[h]!;
      assert.is(x.count, y.count, `count l${l} h${h}`);
      assert.equal(Array.from(x.positions.subarray(0, x.count)), Array.from(y.positions.subarray(0, y.count)), `positions l${l} h${h}`);
      const n = x.count * x.headDim;
      assert.ok(maxAbsDiff(x.keys.subarray(0, n), y.keys.subarray(0, n)) <= tol, `keys l${l} h${h}`);
      assert.ok(maxAbsDiff(x.values.subarray(0, n), y.values.subarray(0, n)) <= tol, `values l${l} h${h}`);
    }
  }
}

/** Keeps position 0 and the most recent entries: a non-contiguous kept set (StreamingLLM-like). */
const keepFirstAndRecent: Policy = {
  name: 'first+recent',
  capacity: 12,
  afterAttention(layer) {
    for (const head of layer.heads) {
      while (head.count > layer.capacity) {
        let victim = -1;
        for (let i = 0; i < head.count; i++) {
          const p = head.positions[i]!;
          if (p !== 0 && (victim < 0 || p < head.positions[victim]!)) victim = i;
        }
        head.evict(victim);
      }
    }
  },
};

/**
 * A heavy-hitter policy using per-entry stats and the attention weights (H2O-like, per KV head):
 * exercises the att/stats plumbing that prefill must reproduce exactly.
 */
const accumulatedAttention: Policy = {
  name: 'accumulated',
  capacity: 10,
  statsPerEntry: 1,
  afterAttention(layer, s) {
    layer.heads.forEach((head, kvh) => {
      for (let g = 0; g < s.groupSize; g++) {
        const row = (kvh * s.groupSize + g) * s.attStride;
        for (let i = 0; i < head.count; i++) head.stats[i]! += s.att[row + i]!;
      }
      while (head.count > layer.capacity) {
        let victim = -1;
        for (let i = 0; i < head.count; i++) {
          if (head.positions[i] === s.position) continue; // the newest entry is protected
          if (victim < 0 || head.stats[i]! < head.stats[victim]!) victim = i;
        }
        head.evict(victim);
      }
    });
  },
};

if (haveShared('rnn', paths.model, samplesPath)) {
  const model = await loadModel(paths.model);
  const sample: number[] = JSON.parse(readFileSync(samplesPath, 'utf8')).chunks[0].slice(0, 100);
  assert.is(sample.length, 100);

  test('prefill (chunked matmuls) == step by step: unbounded state and every logit', () => {
    const stepped = createState(model);
    const reference = stepAll(model, stepped, sample);
    for (const chunkSize of [1, 7, 64, 200]) {
      const state = createState(model, { initialSlots: 3 });
      const seen: Float32Array[] = [];
      const last = prefill(model, state, sample, { chunkSize, onLogits: (pos, l) => { seen[pos] = l.slice(); } });
      assert.ok(maxAbsDiff(last, reference[99]!) < 1e-5, `last logits, chunk ${chunkSize}`);
      for (let i = 0; i < sample.length; i++) assert.ok(maxAbsDiff(seen[i]!, reference[i]!) < 1e-5, `logits at ${i}, chunk ${chunkSize}`);
      assertSameState(state, stepped, 1e-5);
    }
  });

  test('prefill == step by step for a bounded state, chunks spanning evictions', () => {
    const stepped = createState(model, { policy: getPolicy('window', { capacity: 8 }) });
    const reference = stepAll(model, stepped, sample);
    const state = createState(model, { policy: getPolicy('window', { capacity: 8 }) });
    prefill(model, state, sample.slice(0, 5), { chunkSize: 16 });
    const last = prefill(model, state, sample.slice(5), { chunkSize: 16 }); // continues at position 5
    assert.ok(maxAbsDiff(last, reference[99]!) < 1e-5);
    assertSameState(state, stepped, 1e-5);
  });

  test('prefill == step by step with a policy that keeps attention statistics', () => {
    const stepped = createState(model, { policy: accumulatedAttention });
    const reference = stepAll(model, stepped, sample);
    const state = createState(model, { policy: accumulatedAttention });
    const last = prefill(model, state, sample, { chunkSize: 32 });
    assert.ok(maxAbsDiff(last, reference[99]!) < 1e-5);
    assertSameState(state, stepped, 1e-5);
    assert.not.equal(state.keptPositionsPerHead()[0]![0], Array.from({ length: 10 }, (_, i) => 90 + i), 'not just a window');
  });

  test('clone branches: each branch evolves independently of the other', () => {
    const base = createState(model);
    prefill(model, base, sample.slice(0, 20));
    const branch = base.clone();
    const a = stepAll(model, base, [300, 301, 302]);
    const b = stepAll(model, branch, [400, 401]);
    const fresh = createState(model);
    prefill(model, fresh, sample.slice(0, 20));
    assert.equal(stepAll(model, fresh, [400, 401]).at(-1), b.at(-1), 'branch == fresh run of its own tokens');
    assert.is(base.seen, 23);
    assert.is(branch.seen, 22);
    assert.ok(maxAbsDiff(a[0]!, b[0]!) > 1e-3, 'different inputs give different logits');
  });

  test('bounded state: allocated once, bytes constant while the text grows', () => {
    const state = createState(model, { policy: getPolicy('window', { capacity: 16 }) });
    const bytes = state.bytes();
    const keyBuffers = state.layers.map((l) => l.heads.map((h) => h.keys));
    let token = 1;
    for (let i = 0; i < 600; i++) { // past the model's seq_len (512): an RNN has no length limit
      token = argmax(step(model, state, token));
      assert.is(state.bytes(), bytes);
    }
    assert.is(state.seen, 600);
    state.layers.forEach((l, li) => l.heads.forEach((h, hi) => assert.ok(h.keys === keyBuffers[li]![hi], 'no reallocation')));
    // Unbounded for contrast: grows with the text.
    const full = createState(model);
    const small = full.bytes();
    prefill(model, full, sample);
    assert.ok(full.bytes() > small);
  });

  test('window policy keeps exactly the last k positions in every layer and head', () => {
    const state = createState(model, { policy: getPolicy('window', { capacity: 10 }) });
    prefill(model, state, sample.slice(0, 37));
    const expected = Array.from({ length: 10 }, (_, i) => 27 + i);
    for (const layer of state.keptPositionsPerHead()) for (const head of layer) assert.equal(head, expected);
  });

  test('window with capacity >= length is identical to the unbounded model', () => {
    const full = stepAll(model, createState(model), sample);
    const windowed = stepAll(model, createState(model, { policy: getPolicy('window', { capacity: 100 }) }), sample);
    assert.equal(windowed, full);
  });

  test("positionMode 'reindex' == 'absolute' when nothing is evicted", () => {
    const abs = stepAll(model, createState(model), sample.slice(0, 40));
    const re = stepAll(model, createState(model, { positionMode: 'reindex' }), sample.slice(0, 40));
    for (let i = 0; i < 40; i++) assert.ok(maxAbsDiff(abs[i]!, re[i]!) < 1e-4, `position ${i}`);
    const viaPrefill = prefill(model, createState(model, { positionMode: 'reindex' }), sample.slice(0, 40), { chunkSize: 9 });
    assert.ok(maxAbsDiff(viaPrefill, abs[39]!) < 1e-4);
  });

  test("'reindex': a contiguous window equals 'absolute' (RoPE sees only offsets); gaps make them differ", () => {
    // Window keeps positions p-k..p: ranks 0..k differ from positions by a constant shift, which RoPE cancels.
    const abs = stepAll(model, createState(model, { policy: getPolicy('window', { capacity: 12 }) }), sample.slice(0, 60));
    const re = stepAll(model, createState(model, { policy: getPolicy('window', { capacity: 12 }), positionMode: 'reindex' }), sample.slice(0, 60));
    for (let i = 0; i < 60; i++) assert.ok(maxAbsDiff(abs[i]!, re[i]!) < 1e-3, `window, position ${i}`);
    // Keeping position 0 plus recent ones: re-indexing closes the gap, so the logits change once entries drop.
    const absGap = stepAll(model, createState(model, { policy: keepFirstAndRecent }), sample.slice(0, 60));
    const reGap = stepAll(model, createState(model, { policy: keepFirstAndRecent, positionMode: 'reindex' }), sample.slice(0, 60));
    for (let i = 0; i < 12; i++) assert.ok(maxAbsDiff(absGap[i]!, reGap[i]!) < 1e-4, `no eviction yet at ${i}`);
    assert.ok(maxAbsDiff(absGap[59]!, reGap[59]!) > 1e-3, 're-indexed positions change the result');
  });

  test('bad state options and misbehaving policies are clear errors', () => {
    for (const capacity of [0, -1, 1.5, NaN]) {
      assert.throws(() => createState(model, { policy: { ...keepFirstAndRecent, capacity } }), /policy "first\+recent": capacity must be a positive integer or Infinity/);
    }
    assert.throws(() => createState(model, { capacity: 8 } as any), /capacity comes from the policy/);
    assert.throws(() => createState(model, { positionMode: 'relative' as any }), /positionMode/);
    const lazy: Policy = { name: 'lazy', capacity: 2, afterAttention() {} };
    const state = createState(model, { policy: lazy });
    step(model, state, 1);
    step(model, state, 2);
    assert.throws(() => step(model, state, 3), /policy "lazy" left 3 entries in layer 0, over capacity 2/);
  });
}

test.run();
