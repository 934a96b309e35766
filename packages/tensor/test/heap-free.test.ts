// The wasm heap gives memory back: freed allocations are zeroed and reused (best fit, neighbours
// merged, the top of the heap lowered), misuse (a double free, a subarray, a foreign array) is a
// clear error, and random alloc/free sequences keep live allocations disjoint and accounted for.
// Checked against a plain model of the address space (a byte-ownership array).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { WasmHeap } from '../src/wasm/heap.js';
import { FreeList } from '../src/wasm/free-list.js';
import { Allocations } from '../src/allocations.js';
import { jsBackend } from '../src/js-backend.js';
import { createWasmBackend } from '../src/wasm/backend.js';

const heap = (): WasmHeap => new WasmHeap({ initialBytes: 1 << 20, shared: false });

test('a freed allocation is zeroed and reused by the next one of its size', () => {
  const h = heap();
  const a = h.f32(100), b = h.f32(100);
  a.fill(7);
  h.free(a);
  const c = h.f32(100);
  assert.is(c.byteOffset, a.byteOffset, 'same place');
  assert.ok(c.every((v) => v === 0), 'zeroed');
  assert.ok(b.byteOffset > c.byteOffset);
});

test('freeing the top allocation lowers the top, merging free ranges below it', () => {
  const h = heap();
  const start = h.highWaterBytes;
  const a = h.u8(1000), b = h.u8(3000), c = h.u8(50);
  h.free(b);
  assert.is(h.highWaterBytes, c.byteOffset + 64, 'b freed in the middle: top unchanged');
  h.free(c);
  assert.is(h.highWaterBytes, a.byteOffset + 1008, 'c and the free b below it give the top back');
  h.free(a);
  assert.is(h.highWaterBytes, start);
  assert.is(h.usedBytes, 0);
});

test('best fit: a small request takes the smallest hole that fits', () => {
  const h = heap();
  const big = h.u8(4096), sep1 = h.u8(16), small = h.u8(256), sep2 = h.u8(16);
  h.free(big); h.free(small);
  const x = h.u8(200);
  assert.is(x.byteOffset, small.byteOffset);
  assert.ok(sep1.byteOffset < sep2.byteOffset);
});

test('misuse is a clear error: freed twice, a subarray, another heap\'s array, a plain array', () => {
  const h = heap(), other = heap();
  const a = h.f32(64);
  assert.throws(() => h.free(a.subarray(4)), /no live allocation starts at byte/);
  h.free(a);
  assert.throws(() => h.free(a), /freed twice/);
  assert.throws(() => h.free(other.f32(4)), /not in this heap/);
  assert.throws(() => h.free(new Float32Array(4)), /not in this heap/);
});

test('aligned requests (the thread pool asks for 64) leave the gap free for later', () => {
  const h = heap();
  h.u8(16);
  const at = h.allocBytes(256, 64);
  assert.is(at % 64, 0);
  const small = h.u8(16);
  assert.ok(small.byteOffset < at, 'the alignment gap was reused');
});

test('random alloc/free sequences: live allocations stay disjoint, accounted for and zeroed', () => {
  fc.assert(fc.property(
    fc.array(fc.oneof(fc.record({ alloc: fc.integer({ min: 0, max: 5000 }), align: fc.constantFrom(16, 64) }), fc.record({ free: fc.nat() })), { maxLength: 60 }),
    (ops) => {
      const h = heap(), start = h.highWaterBytes;
      const live: Uint8Array[] = [];
      for (const op of ops) {
        if ('alloc' in op) {
          const at = h.allocBytes(op.alloc, op.align);
          assert.is(at % op.align, 0);
          const v = new Uint8Array(h.buffer, at, op.alloc);
          assert.ok(v.every((x) => x === 0), 'new memory is zeroed');
          for (const o of live) assert.ok(at + op.alloc <= o.byteOffset || o.byteOffset + o.length <= at || op.alloc === 0 || o.length === 0, 'overlap');
          v.fill(0xab);
          live.push(v);
        } else if (live.length > 0) {
          const [v] = live.splice(op.free % live.length, 1);
          h.freeBytes(v!.byteOffset);
        }
      }
      const expected = live.reduce((n, v) => n + Math.max(16, Math.ceil(v.length / 16) * 16), 0);
      assert.is(h.usedBytes, expected);
      for (const v of live) h.freeBytes(v.byteOffset);
      assert.is(h.usedBytes, 0);
      assert.is(h.highWaterBytes, start, 'everything freed: the top is back where it began');
    },
  ), { seed: 1400, numRuns: 200 });
});

test('FreeList refuses a range that overlaps a free one', () => {
  const f = new FreeList();
  f.add(100, 200);
  assert.throws(() => f.add(150, 160), /overlaps/);
  f.add(200, 300);
  assert.is(f.size, 1, 'adjacent ranges merge');
  assert.is(f.bytes, 200);
});

test('Allocations gives back everything it handed out (wasm) and only forgets on js', async () => {
  const wasm = await createWasmBackend({ initialBytes: 1 << 20, shared: false });
  const before = wasm.heap.usedBytes;
  const mine = new Allocations(wasm);
  const a = mine.alloc(10), b = mine.allocU8!(33), c = mine.allocI8!(5), d = mine.allocU16!(7);
  assert.ok([a, b, c, d].every((v) => wasm.heap.owns(v)));
  assert.is(mine.count, 4);
  mine.release(b);
  assert.throws(() => mine.release(b), /not one of this owner's allocations/);
  mine.releaseAll();
  assert.is(mine.count, 0);
  assert.is(wasm.heap.usedBytes, before);
  const js = new Allocations(jsBackend);
  assert.is(js.allocU8, undefined, 'js has no byte allocator: loaders then use views of the file');
  js.alloc(4);
  js.releaseAll();
  assert.is(js.count, 0);
});

test.run();
