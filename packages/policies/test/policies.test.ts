import { test } from 'uvu';
import * as assert from 'uvu/assert';
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
  assert.not.throws(() => getPolicy('window', { ratio: 1 }));
});

test.run();
