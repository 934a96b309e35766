// Byte sources and read plans (what streaming loads are built from): chunked reads land every
// byte where it belongs, reads outside a source are refused by name, and a plan run synchronously
// or asynchronously, from memory or from a source that only reads, fills and converts the same.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { blobSource, bytesSource, readBytes, readChunked, readChunkedSync, type ByteSource } from '../src/byte-source.js';
import { ReadPlan } from '../src/read-plan.js';
import { streamedSource } from './fuzz.js';

const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 131 + 7) % 251);

/** A source that records each read's [offset, length). */
function recording(inner: ByteSource, reads: [number, number][]): ByteSource {
  return { name: inner.name, size: inner.size, read: (o, into) => { reads.push([o, into.length]); return inner.read(o, into); } };
}

test('chunked reads: every byte in place, no read longer than the chunk', async () => {
  for (const chunk of [1, 7, 64, 999, 4096]) {
    const reads: [number, number][] = [];
    const into = new Uint8Array(555);
    await readChunked(recording(bytesSource(data), reads), 123, into, 'bytes', chunk);
    assert.equal(into, data.subarray(123, 678));
    assert.ok(reads.every(([, n]) => n <= chunk), `chunk ${chunk}`);
    assert.is(reads.reduce((a, [, n]) => a + n, 0), 555);
    const sync = new Uint8Array(555);
    readChunkedSync(bytesSource(data), 123, sync, 'bytes', chunk);
    assert.equal(sync, into);
  }
});

test('reads outside a source, or sync reads of an async-only source, are refused by name', async () => {
  for (const [o, n] of [[-1, 4], [998, 3], [0, 1001], [1.5, 2]] as const) {
    try { await readBytes(bytesSource(data, 'x.gguf'), o, n, 'bytes'); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /^x\.gguf: cannot read bytes/); }
  }
  try { readChunkedSync(streamedSource(data, 'y.bin'), 0, new Uint8Array(4), 'bytes'); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /^y\.bin: this source reads only asynchronously/); }
});

test('a Blob as a source reads slices', async () => {
  const src = blobSource(new Blob([data]), 'picked.gguf');
  assert.is(src.size, 1000);
  assert.equal(await readBytes(src, 900, 100, 'bytes'), data.subarray(900));
});

test('a read plan fills, places and converts the same from memory (sync) and from a source that only reads (async)', async () => {
  const run = async (src: ByteSource, sync: boolean) => {
    const plan = new ReadPlan();
    const copied = new Uint8Array(300);
    plan.copy(src, 700, copied, 'a');
    const placed = plan.place(src, 10, 40, 'b', undefined, 4);
    const sums: number[] = [];
    plan.convert(src, 500, 20, 'c', (b) => sums.push(b.reduce((a, x) => a + x, 0)));
    plan.convert(src, 0, 5, 'd', (b) => sums.push(b.reduce((a, x) => a + x, 0)));
    if (sync) plan.runSync(); else await plan.run();
    assert.equal(copied, data.subarray(700));
    assert.equal(placed, data.subarray(10, 50));
    assert.is(placed.byteOffset % 4, 0);
    return sums;
  };
  const sum = (a: number, n: number) => data.subarray(a, a + n).reduce((s, x) => s + x, 0);
  const want = [sum(0, 5), sum(500, 20)]; // file order
  assert.equal(await run(bytesSource(data), true), want);
  assert.equal(await run(streamedSource(data, 'z'), false), want);
  // In memory, placing without an allocator is a view (nothing copied) unless misaligned.
  const plan = new ReadPlan();
  const view = plan.place(bytesSource(data), 8, 16, 'e', undefined, 4);
  assert.is(view.buffer, data.buffer);
  assert.is.not(plan.place(bytesSource(data), 9, 16, 'f', undefined, 4).buffer, data.buffer);
});

test('a checked placement is read in pieces of whole check units, each checked right after its read; a view is checked once', async () => {
  const big = Uint8Array.from({ length: 3_000_000 }, (_, i) => (i * 131 + 7) % 251);
  const reads: [number, number][] = [];
  const pieces: [number, number, boolean][] = [];
  const src = recording(streamedSource(big, 'big'), reads);
  const plan = new ReadPlan();
  const unit = 34, offset = 1000, n = 80_000 * unit;
  const into = plan.place(src, offset, n, 'tensor w', undefined, 1, {
    unit,
    // (whether the piece's bytes had arrived when it was checked)
    run: (bytes, at) => pieces.push([at, bytes.length, bytes.every((x, i) => x === big[offset + at + i])]),
  });
  await plan.run();
  assert.equal(into, big.subarray(offset, offset + n));
  assert.ok(pieces.length > 1, `${pieces.length} pieces`);
  let next = 0;
  for (const [at, len, arrived] of pieces) {
    assert.is(at, next, 'pieces in order, back to back');
    assert.ok(len % unit === 0 || at + len === n, `piece [${at}, ${at + len}) holds whole units`);
    assert.ok(arrived, `piece at ${at} was checked after its read`);
    next = at + len;
  }
  assert.is(next, n);
  assert.ok(reads.every(([, len]) => len <= Math.max(...pieces.map((p) => p[1]))), 'no read longer than a piece');
  // In memory: a view, checked once as a whole.
  const viewPlan = new ReadPlan(), whole: number[] = [];
  viewPlan.place(bytesSource(big), offset, n, 'tensor w', undefined, 1, { unit, run: (bytes, at) => whole.push(at, bytes.length) });
  viewPlan.runSync();
  assert.equal(whole, [0, n]);
});

test('a read that fails (an OS error, a Blob that cannot be read) names the source, what was read and its bytes', async () => {
  const eio = () => { throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }); };
  const failing: ByteSource = { name: 'disk.gguf', size: 1000, read: async () => eio(), readSync: eio };
  const want = /^disk\.gguf: cannot read tensor w \(bytes \[100, 150\)\): EIO \(EIO: i\/o error, read\)$/;
  try { await readChunked(failing, 100, new Uint8Array(50), 'tensor w'); assert.unreachable(); } catch (e) { assert.match((e as Error).message, want); }
  try { readChunkedSync(failing, 100, new Uint8Array(50), 'tensor w'); assert.unreachable(); } catch (e) { assert.match((e as Error).message, want); }
  const plan = new ReadPlan();
  plan.copy(failing, 100, new Uint8Array(50), 'tensor w');
  try { await plan.run(); assert.unreachable(); } catch (e) { assert.match((e as Error).message, want); }
  const unreadable = new Blob([data]);
  unreadable.slice = () => ({ arrayBuffer: () => Promise.reject(new DOMException('The file could not be read', 'NotReadableError')) }) as unknown as Blob;
  try { await readBytes(blobSource(unreadable, 'picked.gguf'), 0, 10, 'the header'); assert.unreachable(); } catch (e) {
    assert.match((e as Error).message, /^picked\.gguf: cannot read the header \(bytes \[0, 10\)\): NotReadableError \(The file could not be read\)$/);
  }
});

test.run();
