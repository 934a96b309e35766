// Fuzzing the GGUF reader (fast-check, fixed seeds): mutated bytes, absurd values written into
// every count/length/dimension/offset field, truncations and random tails after a valid header.
// Every outcome is either a parsed file whose contents fit in the bytes given, or a GgufError;
// never another exception, never an allocation beyond the file's size, never a hang.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { GgufError, parseGguf, type GgufArray, type GgufFile, type GgufValue } from '../src/gguf/index.js';
import { describeGgufLlama } from '../src/gguf/llama.js';
import { inspectModelBytes } from '../src/inspect.js';
import { sampleFile, tensorFieldOffsets, tinyLlamaGguf } from './gguf/build.js';
import { modelFromBytes } from '../src/model.js';
import { ModelFileError } from '../src/file-errors.js';
import { absurdU64, applyEdits, byteEdits, expectOwnError, sameStreamedOutcome, streamedSource } from './fuzz.js';
import { readGgufIndex } from '../src/gguf/read-index.js';
import { createWasmBackend } from '@msrnn/tensor';

const valid = sampleFile();
const validV2 = sampleFile(2);

/** Bytes the parsed result holds beyond views (strings as UTF-16, arrays at their element size). */
function footprint(g: GgufFile): number {
  let n = 0;
  const value = (v: GgufValue): void => {
    if (typeof v === 'string') n += v.length;
    else if (typeof v === 'object') {
      const a = v as GgufArray;
      if (ArrayBuffer.isView(a.values)) n += a.values.byteLength;
      else for (const x of a.values as GgufValue[]) { n += 1; value(x); }
    }
  };
  for (const key of g.metadata.keys()) { n += key.length; value(g.metadata.get(key)!.value); }
  for (const t of g.tensors) n += t.name.length + t.dims.length * 8;
  return n;
}

/** Parses `bytes`: a GgufError, or a result within the file's bounds; anything else fails. */
function check(bytes: Uint8Array): void {
  const g = expectOwnError(() => parseGguf(bytes, 'fuzz'), [GgufError], {
    onError: (err) => { const at = (err as GgufError).offset; assert.ok(at >= 0 && at <= bytes.length + 64, `error offset ${at} in a ${bytes.length}-byte file`); },
  });
  if (g === undefined) return;
  assert.ok(footprint(g) <= 2 * bytes.length, `parsed contents (${footprint(g)} units) exceed the file (${bytes.length} bytes)`);
  for (const t of g.tensors) {
    assert.ok(t.data.buffer === bytes.buffer, `${t.name} is not a view of the file`);
    assert.ok(t.data.byteOffset + t.data.byteLength <= bytes.byteOffset + bytes.byteLength, `${t.name} runs past the file`);
  }
  // What reads a parsed file (typed accessors, the llama mapping, inspect) answers or names the
  // problem with the source; a value of the wrong type never surfaces as a crash.
  const named = (what: string, fn: () => unknown): void => {
    try { fn(); } catch (err) {
      assert.ok(err instanceof Error && err.message.startsWith('fuzz: '), `${what}: ${(err as Error)?.stack ?? err}`);
    }
  };
  for (const key of g.metadata.keys()) {
    const m = g.metadata;
    for (const read of [m.strings, m.numbers, m.integer, m.number, m.string, m.bool] as ((k: string) => unknown)[]) named(key, () => read.call(m, key));
  }
  named('describeGgufLlama', () => describeGgufLlama(g));
  named('inspectModelBytes', () => inspectModelBytes(bytes, 'fuzz'));
}

/** Offsets of every u64 field (counts, lengths, dims, offsets) in the sample file. */
function u64Fields(file: Uint8Array): number[] {
  const out = [8, 16, 24]; // tensor count, metadata count, first key length
  const g = parseGguf(file);
  for (const key of g.metadata.keys()) {
    const e = g.metadata.get(key)!;
    if (typeof e.value === 'string') out.push(e.offset);
    if (typeof e.value === 'object') out.push(e.offset + 4); // array count after the element type
  }
  g.tensors.forEach((t, i) => {
    const f = tensorFieldOffsets(file, i);
    out.push(f.name, f.offset, ...t.dims.map((_, d) => f.dims + 8 * d));
  });
  return out;
}

/** Offsets of every u32 type/count field: value types, array element types, version, n_dims, tensor types. */
function u32Fields(file: Uint8Array): number[] {
  const out = [4];
  const g = parseGguf(file);
  for (const key of g.metadata.keys()) {
    const e = g.metadata.get(key)!;
    out.push(e.offset - 4); // the value's type
    if (typeof e.value === 'object') out.push(e.offset); // an array's element type
  }
  g.tensors.forEach((_, i) => { const f = tensorFieldOffsets(file, i); out.push(f.nDims, f.type); });
  return out;
}

test('absurd values in every count, length, dimension and offset field', () => {
  for (const file of [valid, validV2]) {
    const fields = u64Fields(file);
    fc.assert(fc.property(fc.constantFrom(...fields), absurdU64, (at, v) => {
      const f = file.slice();
      new DataView(f.buffer).setBigUint64(at, v, true);
      check(f);
    }), { seed: 1010, numRuns: 600 });
  }
});

test('wrong or absurd value types, array element types, dimension counts and tensor types', () => {
  const fields = u32Fields(valid);
  fc.assert(fc.property(fc.constantFrom(...fields), fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(2 ** 31, 2 ** 32 - 1)), (at, v) => {
    const f = valid.slice();
    new DataView(f.buffer).setUint32(at, v, true);
    check(f);
  }), { seed: 1015, numRuns: 800 });
});

test('random byte mutations of a valid file', () => {
  fc.assert(fc.property(byteEdits(valid.length, 8), (edits) => check(applyEdits(valid, edits))), { seed: 1011, numRuns: 1500 });
});

test('mutations confined to the header and metadata (where the structure is)', () => {
  const metaEnd = parseGguf(valid).tensors[0]!.infoOffset;
  fc.assert(fc.property(byteEdits(metaEnd, 4), (edits) => check(applyEdits(valid, edits))), { seed: 1012, numRuns: 1500 });
});

test('a mutated llama model file loads or fails with a GgufError or ModelFileError naming the file', () => {
  const model = tinyLlamaGguf({ dim: 32, hidden: 64, heads: 4, kvHeads: 2, vocab: 300, tied: false });
  const structureEnd = parseGguf(model).dataOffset;
  const fields = [...u64Fields(model), ...u32Fields(model)];
  const load = (f: Uint8Array): void => {
    expectOwnError(() => modelFromBytes(f, { source: 'fuzz' }), [GgufError, ModelFileError], {
      onError: (err) => assert.ok(err.message.startsWith('fuzz: '), err.message),
    });
  };
  fc.assert(fc.property(byteEdits(structureEnd, 4), (edits) => load(applyEdits(model, edits))), { seed: 1016, numRuns: 400 });
  fc.assert(fc.property(fc.constantFrom(...fields), fc.bigInt({ min: 0n, max: 2n ** 40n }), (at, v) => {
    const f = model.slice();
    if (fields.indexOf(at) < u64Fields(model).length) new DataView(f.buffer).setBigUint64(at, v, true);
    else new DataView(f.buffer).setUint32(at, Number(v % 2n ** 32n), true);
    load(f);
  }), { seed: 1017, numRuns: 400 });
});

test('truncated files and random tails after a valid GGUF header', () => {
  fc.assert(fc.property(fc.nat(valid.length), (n) => check(valid.subarray(0, n))), { seed: 1013, numRuns: 300 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (tail) => {
    const f = new Uint8Array(8 + tail.length);
    f.set(valid.subarray(0, 8));
    f.set(tail, 8);
    check(f);
  }), { seed: 1014, numRuns: 1500 });
});

test('streamed loads (header from a prefix, tensors read into place) fail or load exactly as loads from memory', async () => {
  const model = tinyLlamaGguf({ dim: 32, hidden: 64, heads: 4, kvHeads: 2, vocab: 300, tied: false });
  const structureEnd = parseGguf(model).dataOffset;
  const wasm = await createWasmBackend();
  try {
    await sameStreamedOutcome(model, 'fuzz', wasm); // loads, into the wasm heap
    await fc.assert(fc.asyncProperty(byteEdits(structureEnd, 4), (edits) => sameStreamedOutcome(applyEdits(model, edits), 'fuzz')), { seed: 1018, numRuns: 200 });
    // Edits in the tensor data: NaN norms, and the bytes each tensor gets.
    await fc.assert(fc.asyncProperty(byteEdits(model.length, 8), (edits) => sameStreamedOutcome(applyEdits(model, edits), 'fuzz')), { seed: 1019, numRuns: 150 });
    await fc.assert(fc.asyncProperty(fc.nat(model.length), (n) => sameStreamedOutcome(model.subarray(0, n), 'fuzz')), { seed: 1020, numRuns: 150 });
  } finally {
    await wasm.dispose();
  }
});

test('a header read from a prefix that is too short is read again, longer, and parses as the whole file does', async () => {
  for (const file of [valid, validV2, tinyLlamaGguf({ vocab: 300 })]) {
    const whole = parseGguf(file, 'fuzz');
    for (const first of [1, 7, 64, 300]) {
      const { index } = await readGgufIndex(streamedSource(file, 'fuzz'), first);
      assert.equal(index.tensors.map((t) => [t.name, t.fileOffset, t.byteLength]), whole.tensors.map((t) => [t.name, t.fileOffset, t.byteLength]));
      assert.equal([...index.metadata.keys()], [...whole.metadata.keys()]);
    }
  }
  // A metadata string claiming 300 MiB in a 400 MiB source: refused, not read.
  const f = valid.slice();
  const meta = parseGguf(valid).metadata;
  const stringKey = [...meta.keys()].find((k) => typeof meta.get(k)!.value === 'string')!;
  new DataView(f.buffer).setBigUint64(meta.get(stringKey)!.offset, 300n << 20n, true); // its length field
  let longest = 0;
  const big = { name: 'big.gguf', size: 400 << 20, read: async (o: number, into: Uint8Array) => { longest = Math.max(longest, into.length); into.set(f.subarray(o, o + into.length)); } };
  try { await readGgufIndex(big); assert.unreachable(); } catch (e) { assert.instance(e, GgufError); assert.match((e as Error).message, /^big\.gguf: bad GGUF file: header at byte 0: the metadata and tensor infos run past 256 MiB/); }
  assert.ok(longest <= 16 << 20, `read ${longest} bytes at once`);
  // Truncated within the header: the same GgufError as the whole (truncated) file gives.
  await fc.assert(fc.asyncProperty(fc.nat(parseGguf(valid).dataOffset), fc.integer({ min: 1, max: 64 }), async (n, first) => {
    const cut = valid.subarray(0, n);
    let want = 'parsed', got = 'parsed';
    try { parseGguf(cut, 'fuzz'); } catch (e) { want = (e as Error).message; }
    try { await readGgufIndex(streamedSource(cut, 'fuzz'), first); } catch (e) { got = (e as Error).message; }
    assert.is(got, want);
  }), { seed: 1021, numRuns: 200 });
});

test.run();
