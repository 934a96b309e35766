// Every row of the policy table, automatically: a new policy is covered here the moment its row
// exists. Invariants for all (budget held after every step, bounded storage never reallocated,
// a large enough budget keeps everything, clones and reruns agree, bad capacities are errors),
// and, where test/reference.ts has its rule, exactly the kept positions of the list-based reference.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MultiState } from '@msrnn/msrnn';
import { getPolicy, policyTable, type PolicyEntry, type PolicyOptions } from '../src/index.js';
import { hasReference, reference } from './reference.js';
import { geometry, run, runFrom } from './synthetic.js';

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
/** A request every row accepts with budget k (a ratio as well for the rows that need one). */
const request = (e: PolicyEntry, k: number): PolicyOptions => (e.unbounded ? {} : e.needsRatio ? { ratio: 0.5, capacity: k } : { capacity: k });
const snapshot = (s: MultiState) => ({
  kept: s.keptPositionsPerHead(),
  stats: s.layers.map((l) => l.heads.map((h) => Array.from(h.stats.subarray(0, h.count * h.statsPerEntry)))),
});

for (const entry of policyTable) {
  const name = entry.name;

  test(`${name}: holds its capacity after every step; bounded storage is allocated once`, () => {
    const p = getPolicy(name, request(entry, 6));
    assert.is(typeof entry.description, 'string');
    assert.is(typeof (p.describe?.() ?? ''), 'string');
    if (entry.unbounded) assert.is(p.capacity, Infinity);
    let bytes = -1;
    const s = run(p, 40, (state, pos) => {
      if (bytes < 0) bytes = state.bytes();
      for (const layer of state.layers) {
        for (const head of layer.heads) {
          assert.ok(head.count <= layer.capacity, `${name}: layer ${layer.index} holds ${head.count} > ${layer.capacity} after step ${pos}`);
          assert.is(head.slotOf(-1), -1);
        }
      }
      if (state.bounded) assert.is(state.bytes(), bytes, 'bounded state never reallocates');
    });
    if (entry.unbounded) assert.equal(s.keptPositions()[0], range(0, 40));
  });

  test(`${name}: a budget at least the text length keeps everything`, () => {
    let p = getPolicy(name, entry.unbounded ? {} : entry.needsRatio ? { ratio: 1 } : { capacity: 30 });
    // A layer schedule gives some layers less than k: make the smallest share the text length.
    if (p.layerCapacity) {
      const smallest = Math.min(...range(0, geometry.nLayers).map((l) => p.layerCapacity!(l, geometry.nLayers)));
      p = getPolicy(name, { capacity: Math.ceil((30 * 30) / smallest) });
      assert.ok(p.layerCapacity!(geometry.nLayers - 1, geometry.nLayers) >= 30);
    }
    const everything = Array.from({ length: geometry.nLayers }, () => Array.from({ length: geometry.nKvHeads }, () => range(0, 30)));
    assert.equal(run(p, 30).keptPositionsPerHead(), everything);
  });

  test(`${name}: reruns agree, and a clone taken midway continues exactly like the original`, () => {
    const p = getPolicy(name, request(entry, 5));
    let clone: MultiState | undefined;
    const orig = run(p, 50, (s, pos) => { if (pos === 23) clone = s.clone(); });
    assert.equal(snapshot(run(getPolicy(name, request(entry, 5)), 50)), snapshot(orig), 'rerun');
    runFrom(clone!, 26);
    assert.equal(snapshot(clone!), snapshot(orig), 'clone');
  });

  test(`${name}: an invalid capacity is an error naming it`, () => {
    for (const bad of [0, -3, 2.5, NaN, '5' as any]) {
      const shown = typeof bad === 'string' ? `"${bad}"` : String(bad);
      assert.throws(() => getPolicy(name, { ...request(entry, 6), capacity: bad }), (e: Error) => e.message.includes(`policy "${name}"`) && e.message.includes('capacity') && e.message.includes(shown), `capacity ${shown}`);
    }
    assert.throws(() => getPolicy(name, { ...request(entry, 6), capacty: 6 } as any), new RegExp(`policy "${name}": unknown option "capacty"`));
    if (entry.unbounded) assert.throws(() => getPolicy(name, { capacity: 5 }), new RegExp(`policy "${name}" keeps every entry: it takes no capacity \\(got 5\\)`));
  });

  if (!entry.unbounded) {
    test(`${name}: fast prefill (evictFrom) evicts nothing before it, then holds the budget (or is refused)`, () => {
      let p;
      try {
        p = getPolicy(name, { ...request(entry, 7), evictFrom: 19 });
      } catch (err: any) {
        // A layer schedule sizes a bounded state, so it cannot postpone eviction: a clear refusal.
        assert.match(err.message, new RegExp(`policy "${name}": .*no evictFrom`));
        return;
      }
      assert.is(p.capacity, Infinity, 'the state grows until the cut');
      run(p, 30, (s, pos) => {
        for (const l of s.layers) for (const h of l.heads) {
          if (pos < 19) assert.is(h.count, pos + 1);
          else assert.ok(h.count <= 7, `${name}: ${h.count} entries after step ${pos}`);
        }
      });
    });
  }

  if (hasReference(name)) {
    test(`${name} keeps exactly what the list-based reference keeps (capacity, every n steps, ratio, fast prefill)`, () => {
      // Rows that need a ratio get ratio 1 on top (a budget of min(k, tokens seen) = k here).
      const needed = (o: PolicyOptions): PolicyOptions => (entry.needsRatio && o.ratio === undefined ? { ...o, ratio: 1 } : o);
      for (const [k, steps] of [[8, 40], [5, 23], [16, 16], [6, 7]] as const) {
        assert.equal(run(getPolicy(name, needed({ capacity: k })), steps).keptPositionsPerHead(), reference(name, k, steps), `k=${k} steps=${steps}`);
      }
      // Each of these budgets is either matched exactly or refused with a clear reason.
      const refuses = (opts: PolicyOptions, why: RegExp): boolean => {
        try { getPolicy(name, needed(opts)); return false; } catch (err: any) { assert.match(err.message, why); return true; }
      };
      if (!refuses({ capacity: 6, every: 3 }, /evicts every step/)) {
        assert.equal(run(getPolicy(name, needed({ capacity: 6, every: 3 })), 40).keptPositionsPerHead(), reference(name, 6, 40, { every: 3 }), 'every 3 steps');
      }
      const r = 0.3;
      if (!refuses({ ratio: r }, /layer schedule sizes a bounded state/)) {
        assert.equal(run(getPolicy(name, needed({ ratio: r })), 45).keptPositionsPerHead(), reference(name, (t) => Math.max(1, Math.ceil(r * (t + 1))), 45), 'ratio');
      }
      if (!refuses({ capacity: 7, evictFrom: 24 }, /layer schedule sizes a bounded state/)) {
        const fast = getPolicy(name, needed({ capacity: 7, evictFrom: 24 }));
        assert.equal(run(fast, 40).keptPositionsPerHead(), reference(name, (t) => (t < 24 ? Infinity : 7), 40), 'fast prefill');
        // The cut itself: right after position 24 every head is down to 7.
        assert.equal(run(fast, 25).keptPositionsPerHead(), reference(name, (t) => (t < 24 ? Infinity : 7), 25), 'at the cut');
      }
    });
  }
}

test('the table: unique names, and createState-ready policies (capacity k for a fixed budget, Infinity for a growing one)', () => {
  const names = policyTable.map((e) => e.name);
  assert.equal(names.length, new Set(names).size);
  assert.is(getPolicy('tova', { capacity: 8 }).capacity, 8);
  assert.is(getPolicy('tova', { ratio: 0.5 }).capacity, Infinity);
  assert.is(getPolicy('tova', { capacity: 8, evictFrom: 3 }).capacity, Infinity);
  assert.is(getPolicy('full').capacity, Infinity);
  assert.is(getPolicy('full', { capacity: Infinity }).capacity, Infinity);
  assert.throws(() => getPolicy('full', { ratio: 0.5 }), /takes no ratio/);
});

test.run();
