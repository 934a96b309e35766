import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MultiState, type AttentionStep } from '@msrnn/msrnn';
import { getPolicy, uniform } from '../src/index.js';
import { geometry, keyValue, run, runFrom } from './synthetic.js';

const kept = (state: ReturnType<typeof run>) => state.keptPositionsPerHead();
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

test('window keeps the k most recent; sinks keeps the first 4 plus the k-4 most recent', () => {
  const w = getPolicy('window', { capacity: 8 });
  assert.equal(run(w, 50).keptPositions()[0], range(42, 50));
  const s = getPolicy('sinks', { capacity: 8 });
  assert.equal(run(s, 50).keptPositions()[1], [0, 1, 2, 3, 46, 47, 48, 49]);
  const s2 = getPolicy('sinks', { capacity: 8, sinks: 1 });
  assert.equal(run(s2, 50).keptPositions()[1], [0, ...range(43, 50)]);
});

test('a capacity at least the sequence length is the full transformer', () => {
  for (const name of ['window', 'sinks', 'h2o', 'tova', 'tova_head', 'random', 'knorm']) {
    const p = getPolicy(name, { capacity: 20 });
    assert.equal(run(p, 20).keptPositions()[0], range(0, 20), name);
  }
});

test('local: a window of ceil(ratio * tokens seen) on an unbounded state', () => {
  const p = getPolicy('local', { ratio: 0.25 });
  assert.is(p.capacity, Infinity);
  run(p, 41, (s, pos) => {
    const w = Math.ceil(0.25 * (pos + 1));
    assert.equal(s.keptPositions()[0], range(pos + 1 - w, pos + 1));
  });
});

test('scattered keeps exactly the positions of its seeded mask, about ratio of them', () => {
  const p = getPolicy('scattered', { ratio: 0.3, seed: 5 });
  const s = run(p, 400);
  for (let l = 0; l < geometry.nLayers; l++) {
    const expected = range(0, 400).filter((q) => uniform(5, l, q) < 0.3);
    assert.equal(s.keptPositions()[l], expected);
    assert.ok(Math.abs(expected.length / 400 - 0.3) < 0.06, `${expected.length}`);
  }
  // Fast prefill: nothing is masked before position 200, then every position is, the early ones included.
  const fast = getPolicy('scattered', { ratio: 0.3, seed: 5, evictFrom: 200 });
  assert.is(fast.capacity, Infinity);
  assert.equal(run(fast, 200).keptPositions()[0], range(0, 200), 'nothing masked before position 200');
  assert.equal(run(fast, 400).keptPositions(), s.keptPositions(), 'from position 200 on: the same mask as without the delay');
  // Another seed gives another mask.
  const other = run(getPolicy('scattered', { ratio: 0.3, seed: 6 }), 400);
  assert.not.equal(other.keptPositions()[0], s.keptPositions()[0]);
});

test('random is reproducible from its seed, clone-consistent, and evicts ages uniformly', () => {
  const p = getPolicy('random', { capacity: 8, seed: 3 });
  const a = run(p, 60), b = run(getPolicy('random', { capacity: 8, seed: 3 }), 60);
  assert.equal(a.keptPositionsPerHead(), b.keptPositionsPerHead());
  assert.not.equal(run(getPolicy('random', { capacity: 8, seed: 4 }), 60).keptPositions(), a.keptPositions());
  // A clone taken midway continues exactly like the original.
  let clone: ReturnType<typeof run> | undefined;
  const orig = run(p, 60, (s, pos) => { if (pos === 29) clone = s.clone(); });
  clone!.seen = 30;
  runFrom(clone!, 30);
  assert.equal(clone!.keptPositions(), orig.keptPositions());
  // Uniform choice among k+1 entries: the newest entry is evicted about 1/(k+1) of the time.
  let newestEvicted = 0, n = 0;
  run(getPolicy('random', { capacity: 8, seed: 9 }), 3000, (s, pos) => {
    if (pos >= 8) { n++; if (s.layers[0]!.heads[0]!.slotOf(pos) < 0) newestEvicted++; }
  });
  assert.ok(Math.abs(newestEvicted / n - 1 / 9) < 0.02, `${newestEvicted / n}`);
});

test('knorm keeps the k smallest key norms per head', () => {
  const p = getPolicy('knorm', { capacity: 6 });
  const s = run(p, 30);
  for (const layer of s.layers) {
    for (const head of layer.heads) {
      // Greedy "drop the largest" over a stream keeps the k smallest seen so far.
      const norms = range(0, 30).map((pos) => {
        let q = 0;
        for (let d = 0; d < 4; d++) { const v = Math.fround(keyValue(layer.index, layer.heads.indexOf(head), pos, d)); q += v * v; }
        return [q, pos] as const;
      });
      const expected = [...norms].sort((x, y) => x[0] - y[0]).slice(0, 6).map((x) => x[1]).sort((a, b) => a - b);
      assert.equal(head.keptPositions(), expected);
    }
  }
});

test('evictFrom (fast prefill): no eviction before it, then one cut to k by that step, then k per step', () => {
  const p = getPolicy('tova', { capacity: 8, evictFrom: 19 });
  assert.is(p.capacity, Infinity);
  run(p, 30, (s, pos) => {
    assert.is(s.layers[0]!.heads[0]!.count, pos < 19 ? pos + 1 : 8);
  });
});

/**
 * Drives a policy with hand-made attention: KV head h (one query head each) puts all its weight on
 * its newest entry when sharp[h], else spreads it uniformly. Returns the per-head counts after each step.
 */
function driveSharpAndFlat(policyName: string, capacity: number, sharp: boolean[], steps: number): number[][] {
  const policy = getPolicy(policyName, { capacity, window: 1, kernel: 1 });
  const state = new MultiState({ nLayers: 1, nKvHeads: sharp.length, headDim: 2 }, { policy });
  const stride = 4 * capacity + 8, att = new Float32Array(sharp.length * stride), counts: number[][] = [];
  for (let pos = 0; pos < steps; pos++) {
    const layer = state.layers[0]!;
    layer.heads.forEach((head, h) => {
      const slot = head.push(pos);
      att.fill(0, h * stride, (h + 1) * stride);
      for (let i = 0; i < head.count; i++) att[h * stride + i] = sharp[h] ? (i === slot ? 1 : 0) : 1 / head.count;
    });
    const step: AttentionStep = { layer: 0, position: pos, att, attStride: stride, nHeads: sharp.length, groupSize: 1 };
    policy.afterAttention(layer, step);
    counts.push(layer.heads.map((h) => h.count));
  }
  return counts;
}

test('ada_snapkv shares a layer budget by score: a sharp head shrinks to its floor (0.2k), a spread one grows to its cap (2k)', () => {
  // Two heads, k = 10: the layer keeps 20; the sharp head's old entries score 0 and go first, down to ⌊0.2·10⌋ = 2.
  const two = driveSharpAndFlat('ada_snapkv', 10, [true, false], 60);
  assert.equal(two.at(-1), [2, 18]);
  // Four heads, three sharp: the spread head stops at its cap 2k = 20, the sharp ones share the rest.
  const four = driveSharpAndFlat('ada_snapkv', 10, [true, true, true, false], 80);
  assert.is(four.at(-1)![3], 20);
  assert.is(four.at(-1)!.reduce((a, b) => a + b), 40);
  for (const c of four) assert.ok(Math.max(...c) <= 20 && c.reduce((a, b) => a + b) <= 40, String(c));
  // Per-head SnapKV on the same input keeps k in every head.
  assert.equal(driveSharpAndFlat('snapkv', 10, [true, false], 60).at(-1), [10, 10]);
  assert.is(getPolicy('ada_snapkv', { capacity: 10 }).capacity, 20, 'storage per head: 2k');
});

test('pyramidkv: layer budgets fall from bottom to top and keep the total; the state is sized per layer', () => {
  const p = getPolicy('pyramidkv', { capacity: 32 });
  const caps = [0, 1, 2, 3, 4].map((l) => p.layerCapacity!(l, 5));
  assert.equal(caps, [62, 47, 32, 17, 2]); // 62.4, 47.2, 32, 16.8, 1.6 rounded by largest remainder
  assert.is(caps.reduce((a, b) => a + b), 160);
  const state = new MultiState({ nLayers: 5, nKvHeads: 1, headDim: 2 }, { policy: p });
  assert.equal(state.layers.map((l) => l.capacity), caps);
  assert.equal(state.layers.map((l) => l.heads[0]!.slots), caps.map((c) => c + 1));
  assert.equal(p.layerCapacity!(0, 1), 32);
  assert.throws(() => getPolicy('pyramidkv', { ratio: 0.5 }), /layer schedule sizes a bounded state/);
});

test('streamingllm is sinks with re-indexed positions; snapkv every n grows to k+n-1 between cuts', () => {
  const s = getPolicy('streamingllm', { capacity: 8, sinks: 2 });
  assert.is(s.positionMode, 'reindex');
  assert.is(new MultiState(geometry, { policy: s }).positionMode, 'reindex');
  assert.throws(() => new MultiState(geometry, { policy: s, positionMode: 'absolute' }), /stores keys with positionMode 'reindex'/);
  assert.equal(run(s, 30).keptPositions()[0], [0, 1, 24, 25, 26, 27, 28, 29]);
  assert.is(getPolicy('sinks', { capacity: 8 }).positionMode, undefined);
  const every = getPolicy('snapkv', { capacity: 6, every: 4 });
  assert.is(every.capacity, 9);
  run(every, 40, (st, pos) => assert.is(st.layers[0]!.heads[0]!.count, pos < 8 ? pos + 1 : pos % 4 === 0 ? 6 : 6 + (pos % 4)));
  // SnapKV as in the paper: one cut after a prompt of 20 tokens (evictFrom 19), then every 4 steps.
  const prompt = getPolicy('snapkv', { capacity: 6, evictFrom: 19, every: 4 });
  assert.is(prompt.capacity, Infinity);
  run(prompt, 40, (st, pos) => assert.is(st.layers[1]!.heads[1]!.count, pos < 19 ? pos + 1 : 6 + ((pos - 19) % 4)));
});

test('bad requests give clear errors', () => {
  assert.throws(() => getPolicy('tovaa', { capacity: 8 }), /unknown policy "tovaa"; valid policies: full, window/);
  assert.throws(() => getPolicy('tova', {}), /give a capacity/);
  assert.throws(() => getPolicy('sinks', { capacity: 4 }), /sink count 4 must be less than the capacity 4/);
  assert.throws(() => getPolicy('sinks', { capacity: 8, sinks: -1 }), /policy "sinks": sink count must be an integer >= 0, got -1/);
  assert.throws(() => getPolicy('window', { ratio: 0 }), /ratio must be in \(0, 1\], got 0/);
  assert.throws(() => getPolicy('window', { ratio: 1.5 }), /ratio/);
  assert.throws(() => getPolicy('window', { ratio: '0.5' as any }), /ratio must be in \(0, 1\], got "0.5"/);
  assert.throws(() => getPolicy('scattered', { ratio: -1 }), /ratio/);
  assert.throws(() => getPolicy('local', { capacity: 8 }), /needs a ratio/);
  assert.throws(() => getPolicy('random', { capacity: 8, seed: 1.5 }), /seed must be an integer, got 1.5/);
  assert.throws(() => getPolicy('h2o', { capacity: 8, recentFraction: 1 }), /recent fraction must be in \[0, 1\), got 1/);
  assert.throws(() => getPolicy('tova', { capacity: 8, evictFrom: -1 }), /evictFrom must be a non-negative integer, got -1/);
  assert.throws(() => getPolicy('snapkv', { capacity: 8, kernel: 4 }), /policy "snapkv": pooling kernel must be odd, got 4/);
  assert.throws(() => getPolicy('snapkv', { capacity: 8, window: 0 }), /observation window must be an integer >= 1, got 0/);
  assert.throws(() => getPolicy('snapkv', { capacity: 8, every: 0 }), /every must be a positive integer/);
  assert.throws(() => getPolicy('ada_snapkv', { capacity: 8, every: 2 }), /evicts every step/);
  assert.throws(() => getPolicy('streamingllm', { capacity: 4, sinks: 4 }), /sink count 4 must be less than the capacity 4/);
  assert.not.throws(() => getPolicy('window', { ratio: 1 }));
});

test.run();
