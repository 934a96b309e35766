// The multi-state on its own (no model): entries, eviction, growth, bounded allocation, clone,
// capacity validation (the state's capacity is its policy's) and wrapPolicy, checked against
// plain list bookkeeping. The real policies live (and are tested) in @msrnn/policies.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { capacityForBytes, checkCapacity, entryBytes, HeadCache, keepAll, MultiState, stateBytes, wrapPolicy, type AttentionStep, type F32Alloc, type Policy } from '../src/index.js';

const geometry = { nLayers: 2, nKvHeads: 3, headDim: 4 };
const noStep: AttentionStep = { layer: 0, position: 0, att: new Float32Array(0), attStride: 0, nHeads: 3, groupSize: 1 };

/** A test policy: per head, drop the lowest position until the head fits its layer's capacity. */
function dropOldest(capacity: number): Policy {
  return {
    name: 'drop-oldest',
    capacity,
    afterAttention(layer) {
      for (const head of layer.heads) {
        while (head.count > layer.capacity) {
          let oldest = 0;
          for (let i = 1; i < head.count; i++) if (head.positions[i]! < head.positions[oldest]!) oldest = i;
          head.evict(oldest);
        }
      }
    },
  };
}

/** Appends an entry whose key/value encode its position, so moves can be checked. */
function pushTagged(head: HeadCache, position: number): void {
  const slot = head.push(position);
  head.keys.fill(position, slot * head.headDim, (slot + 1) * head.headDim);
  head.values.fill(-position, slot * head.headDim, (slot + 1) * head.headDim);
}

function assertConsistent(head: HeadCache): void {
  for (let i = 0; i < head.count; i++) {
    const p = head.positions[i]!;
    for (let d = 0; d < head.headDim; d++) {
      assert.is(head.keys[i * head.headDim + d], p, `key of slot ${i}`);
      assert.is(head.values[i * head.headDim + d], -p, `value of slot ${i}`);
    }
  }
}

test('HeadCache: push, swap-remove eviction, stats zeroed for new entries', () => {
  const head = new HeadCache(4, 2, 8, (n) => new Float32Array(n));
  for (let p = 0; p < 6; p++) pushTagged(head, p);
  head.stats.fill(7);
  head.evict(1); // last entry (5) moves into slot 1
  assert.is(head.count, 5);
  assert.equal(Array.from(head.positions.subarray(0, 5)), [0, 5, 2, 3, 4]);
  assert.equal(head.keptPositions(), [0, 2, 3, 4, 5]);
  assertConsistent(head);
  head.evict(head.count - 1); // evicting the last one moves nothing
  assert.equal(head.keptPositions(), [0, 2, 3, 5]);
  const slot = head.push(9);
  assert.equal(Array.from(head.stats.subarray(slot * 2, slot * 2 + 2)), [0, 0]);
  assert.is(head.slotOf(9), slot);
  assert.is(head.slotOf(1), -1);
  assert.throws(() => head.evict(5), /out of range/);
  assert.throws(() => head.evict(-1), /out of range/);
});

test('unbounded state grows by doubling and keeps every entry', () => {
  const sizes: number[] = [];
  const alloc: F32Alloc = (n) => { sizes.push(n); return new Float32Array(n); };
  const state = new MultiState(geometry, { initialSlots: 1, alloc });
  const head = state.layers[1]!.heads[2]!;
  const slotsSeen = new Set<number>();
  for (let p = 0; p < 100; p++) { pushTagged(head, p); slotsSeen.add(head.slots); }
  assert.equal([...slotsSeen], [1, 2, 4, 8, 16, 32, 64, 128]);
  assert.equal(head.keptPositions(), Array.from({ length: 100 }, (_, i) => i));
  assertConsistent(head);
  assert.ok(sizes.every((n) => n % geometry.headDim === 0), 'storage allocated through the given allocator');
});

test('bounded state: k+1 slots allocated once; bytes constant; dropping the oldest keeps the last k', () => {
  let allocations = 0;
  const state = new MultiState(geometry, { policy: dropOldest(5), alloc: (n) => { allocations++; return new Float32Array(n); } });
  const after = allocations;
  const bytes = state.bytes();
  // keys + values (float32) + positions (int32) per slot, no stats, 6 slots, 3 heads, 2 layers.
  assert.is(bytes, 2 * 3 * 6 * (2 * 4 * 4 + 4));
  for (let p = 0; p < 50; p++) {
    for (const layer of state.layers) {
      for (const head of layer.heads) pushTagged(head, p);
      state.policy.afterAttention(layer, { ...noStep, layer: layer.index, position: p });
    }
    state.seen++;
    assert.is(state.bytes(), bytes);
  }
  assert.is(allocations, after, 'no allocation after construction');
  for (const layer of state.keptPositionsPerHead()) for (const head of layer) assert.equal(head, [45, 46, 47, 48, 49]);
  for (const layer of state.layers) for (const head of layer.heads) assertConsistent(head);
  assert.ok(state.bounded);
});

test('clone is deep: branches diverge without affecting each other; options carry over', () => {
  const allocs: number[] = [];
  const alloc: F32Alloc = (n) => { allocs.push(n); return new Float32Array(n); };
  const policy = dropOldest(4);
  const state = new MultiState(geometry, { policy, alloc, positionMode: 'reindex' });
  for (let p = 0; p < 3; p++) for (const l of state.layers) for (const h of l.heads) pushTagged(h, p);
  state.seen = 3;
  const before = allocs.length;
  const copy = state.clone();
  assert.ok(allocs.length > before, 'clone allocates through the same allocator');
  assert.is(copy.positionMode, 'reindex');
  assert.is(copy.capacity, 4);
  assert.is(copy.policy, policy);
  assert.is(copy.seen, 3);
  assert.is(copy.bytes(), state.bytes());
  pushTagged(copy.layers[0]!.heads[0]!, 10);
  copy.layers[1]!.heads[1]!.evict(0);
  assert.equal(state.keptPositionsPerHead()[0]![0], [0, 1, 2]);
  assert.equal(state.keptPositionsPerHead()[1]![1], [0, 1, 2]);
  assert.equal(copy.keptPositionsPerHead()[0]![0], [0, 1, 2, 10]);
  assert.equal(copy.keptPositionsPerHead()[1]![1], [1, 2]);
  for (const l of copy.layers) for (const h of l.heads) assertConsistent(h);
});

test('cloneWithPolicy: the entries read so far continue under another policy, only while nothing was evicted', () => {
  const fill = (state: MultiState, n: number) => {
    for (let p = 0; p < n; p++) for (const l of state.layers) for (const h of l.heads) pushTagged(h, p);
    state.seen = n;
  };
  const read = new MultiState(geometry);
  fill(read, 3);
  const bounded = read.cloneWithPolicy(dropOldest(4));
  assert.is(bounded.capacity, 4);
  assert.is(bounded.seen, 3);
  assert.equal(bounded.keptPositionsPerHead(), read.keptPositionsPerHead());
  for (const l of bounded.layers) for (const h of l.heads) assertConsistent(h);
  // A bounded state allocates its k + 1 slots once, whatever the source had.
  assert.is(bounded.bytes(), new MultiState(geometry, { policy: dropOldest(4) }).bytes());
  pushTagged(bounded.layers[0]!.heads[0]!, 7);
  assert.equal(read.keptPositionsPerHead()[0]![0], [0, 1, 2], 'the source is untouched');
  // Refused: more entries than the new capacity, entries already evicted, a policy with statistics.
  assert.throws(() => read.cloneWithPolicy(dropOldest(2)), /layer 0 holds 3 entries, more than its capacity 2/);
  const evicted = new MultiState(geometry, { policy: dropOldest(2) });
  fill(evicted, 3);
  for (const l of evicted.layers) evicted.policy.afterAttention(l, noStep);
  assert.throws(() => evicted.cloneWithPolicy(keepAll), /layer 0 KV head 0 has already evicted entries \(it keeps 2 of 3\)/);
  assert.throws(() => read.cloneWithPolicy({ ...dropOldest(4), name: 'stats', statsPerEntry: 1 }), /policy "stats": it keeps per-entry statistics/);
});

test("the state's capacity is its policy's, validated; geometry checked", () => {
  assert.is(checkCapacity(Infinity), Infinity);
  assert.is(checkCapacity(1), 1);
  for (const bad of [0, -1, 1.5, NaN, -Infinity]) {
    assert.throws(() => checkCapacity(bad, '--capacity'), (e: Error) => e.message.includes('--capacity') && e.message.includes(String(bad)));
    assert.throws(() => new MultiState(geometry, { policy: dropOldest(bad) }), (e: Error) => e.message.includes('policy "drop-oldest": capacity') && e.message.includes(String(bad)));
  }
  assert.throws(() => new MultiState(geometry, { policy: dropOldest('5' as any) }), /got "5"/);
  assert.throws(() => new MultiState(geometry, { policy: { ...dropOldest(5), capacity: undefined as any } }), /capacity must be a positive integer or Infinity, got undefined/);
  assert.throws(() => new MultiState(geometry, { capacity: 3 } as any), /capacity comes from the policy/);
  assert.throws(() => new MultiState(geometry, { policy: { ...dropOldest(5), statsPerEntry: -1 } }), /statsPerEntry must be a non-negative integer, got -1/);
  assert.is(new MultiState(geometry, { policy: dropOldest(7) }).capacity, 7);
  // A per-layer schedule sizes each layer; the state's capacity stays the policy's.
  const schedule = new MultiState(geometry, { policy: { ...dropOldest(5), layerCapacity: (l: number, n: number) => (n - l) * 3 } });
  assert.equal(schedule.layers.map((l) => [l.capacity, l.heads[0]!.slots]), [[6, 7], [3, 4]]);
  assert.is(schedule.capacity, 5);
  assert.throws(() => new MultiState(geometry, { policy: { ...dropOldest(5), layerCapacity: () => 0 } }), /capacity of layer 0 must be a positive integer or Infinity, got 0/);
  // A policy that stores keys its own way fixes the position mode; a conflicting request is an error.
  const reindexing: Policy = { ...dropOldest(5), positionMode: 'reindex' };
  assert.is(new MultiState(geometry, { policy: reindexing }).positionMode, 'reindex');
  assert.throws(() => new MultiState(geometry, { policy: reindexing, positionMode: 'absolute' }), /stores keys with positionMode 'reindex', not 'absolute'/);
  assert.throws(() => new MultiState({ ...geometry, headDim: 0 }), /headDim/);
  assert.throws(() => new MultiState(geometry, { positionMode: 'bogus' as any }), /positionMode/);
  for (const bad of [0, -1, 2.5, NaN, Infinity]) {
    assert.throws(() => new MultiState(geometry, { initialSlots: bad }), /initialSlots must be a positive integer/, String(bad));
  }
  assert.is(new MultiState(geometry, { initialSlots: 1 }).layers[0]!.heads[0]!.slots, 1);
  const unbounded = new MultiState(geometry);
  assert.not.ok(unbounded.bounded);
  assert.is(unbounded.policy, keepAll);
  assert.is(unbounded.positionMode, 'absolute');
});

test('wrapPolicy replaces afterAttention and keeps every other field, getters included', () => {
  class Counted implements Policy {
    readonly name = 'counted';
    readonly statsPerEntry = 2;
    readonly positionMode = 'reindex' as const;
    calls = 0;
    get capacity(): number { return 3; }
    afterAttention(): void { this.calls++; }
    describe(): string { return `k=${this.capacity}`; }
  }
  const inner = new Counted();
  let seen = 0;
  const wrapped = wrapPolicy(inner, (layer, step) => { seen++; inner.afterAttention(); void layer; void step; });
  assert.is(wrapped.name, 'counted');
  assert.is(wrapped.capacity, 3);
  assert.is(wrapped.statsPerEntry, 2);
  assert.is(wrapped.positionMode, 'reindex');
  assert.is(wrapped.describe(), 'k=3');
  const state = new MultiState(geometry, { policy: wrapped });
  assert.is(state.capacity, 3);
  assert.is(state.layers[0]!.heads[0]!.stats.length, 4 * 2, 'stats sized from the inner policy');
  state.policy.afterAttention(state.layers[0]!, noStep);
  assert.is(seen, 1);
  assert.is(inner.calls, 1);
});

test('kv types: bytes per entry follow the formula (2 rows + 4-byte position + 8 bytes per statistic); clone keeps the type', () => {
  const g = { nLayers: 2, nKvHeads: 3, headDim: 64 };
  // f32: 2·64·4 + 4; f16: 2·64·2 + 4; q8: 2·(64 + 2 scales·4) + 4.
  assert.equal((['f32', 'f16', 'q8'] as const).map((kv) => entryBytes(64, kv)), [516, 260, 148]);
  for (const kv of ['f32', 'f16', 'q8'] as const) {
    const policy = { ...dropOldest(5), statsPerEntry: 2 };
    const s = new MultiState(g, { policy, kv });
    assert.is(s.kv, kv);
    // Bounded at 5: 6 slots per head, every layer and head.
    assert.is(s.bytes(), 2 * 3 * 6 * entryBytes(64, kv, 2), `${kv}: allocated bytes`);
    assert.is(stateBytes(g, policy, 64, kv), s.bytes(), `${kv}: stateBytes agrees before allocating`);
    const key = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * 3);
    const head = s.layers[1]!.heads[2]!;
    head.writeEntry(head.push(7), key, 0, key, 0);
    const back = new Float32Array(64);
    s.clone().layers[1]!.heads[2]!.readKey(0, back, 0);
    const err = Math.max(...Array.from(back, (v, i) => Math.abs(v - key[i]!)));
    assert.ok(err <= (kv === 'f32' ? 0 : kv === 'f16' ? 3 / 1024 : 3 / 254 + 1e-7), `${kv}: clone reads the key back within the type's rounding (${err})`);
    assert.is(s.clone().kv, kv);
    const read = new MultiState(g, { kv });
    for (const l of read.layers) for (const h of l.heads) h.writeEntry(h.push(0), key, 0, key, 0);
    read.seen = 1;
    const branched = read.cloneWithPolicy(dropOldest(3)), got = new Float32Array(64), want = new Float32Array(64);
    assert.is(branched.kv, kv, `${kv}: cloneWithPolicy keeps the type`);
    branched.layers[1]!.heads[2]!.readKey(0, got, 0);
    read.layers[1]!.heads[2]!.readKey(0, want, 0);
    assert.equal(got, want, `${kv}: cloneWithPolicy copies the entries as stored`);
    if (kv !== 'f32') assert.throws(() => head.keys, new RegExp(`stores ${kv} entries, not float32; read one entry with readKey`));
  }
  assert.throws(() => new MultiState(g, { kv: 'int4' as never }), /state option kv must be one of f32, f16, q8, got "int4"/);
});

test('capacityForBytes: the largest k whose k + 1 slots fit the budget; too small a budget names what one entry costs', () => {
  const g = { nLayers: 2, nKvHeads: 3, headDim: 64 };
  for (const kv of ['f32', 'f16', 'q8'] as const) {
    for (const budget of [10_000, 100_000, 4_000_000]) {
      const k = capacityForBytes(g, budget, kv, 1);
      const policy = { ...dropOldest(k), statsPerEntry: 1 };
      assert.ok(stateBytes(g, policy, 64, kv) <= budget, `${kv} ${budget}: k ${k} fits`);
      assert.ok(stateBytes(g, { ...dropOldest(k + 1), statsPerEntry: 1 }, 64, kv) > budget, `${kv} ${budget}: k + 1 does not`);
    }
  }
  assert.throws(() => capacityForBytes(g, 1000, 'f32', 0, '--kv-bytes'), /--kv-bytes 1000: too small for a bounded state: capacity 1 needs 6192 bytes/);
  assert.throws(() => capacityForBytes(g, Number.NaN, 'f32', 0, '--kv-bytes'), /--kv-bytes must be a positive number of bytes, got NaN/);
});

test.run();
