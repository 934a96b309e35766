// The GGUF reader: every shared file written by ggml parses to the layout its fixture records;
// every value type round-trips; each kind of defect is one GgufError naming the field and the byte.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GgufError, GgufValueType as T, parseGguf, writeGguf, type GgufArray } from '../src/gguf/index.js';
import { haveShared, shared } from './shared.js';
import { sampleFile, sampleMetadata, sampleTensors, setU32, setU64, tensorFieldOffsets } from './gguf/build.js';

const ggufNames = [
  'stories260K-F32', 'stories260K-F16', 'stories260K-Q8_0', 'stories260K-Q4_0', 'stories260K-Q4_K',
  'random256-F32', 'random256-F16', 'random256-BF16', 'random256-Q8_0', 'random256-Q4_0', 'random256-Q4_1',
  'random256-Q5_0', 'random256-Q5_1', 'random256-Q4_K', 'random256-Q5_K', 'random256-Q6_K',
];
const ggufPath = (n: string) => resolve(shared, 'models/gguf', `${n}.gguf`);
const fixturePath = (n: string) => resolve(shared, 'fixtures/gguf', `${n}.json`);
const tinyRandom = resolve(shared, 'models/llama-2-tiny-random.gguf');

if (haveShared('gguf reader', ...ggufNames.map(ggufPath), ...ggufNames.map(fixturePath), tinyRandom)) {
  test('every shared GGUF file: header, metadata count, tensor infos and offsets as ggml wrote them', () => {
    for (const n of ggufNames) {
      const fx = JSON.parse(readFileSync(fixturePath(n), 'utf8'));
      const bytes = readFileSync(ggufPath(n));
      const g = parseGguf(bytes, n);
      assert.is(g.version, fx.gguf_version, n);
      assert.is(g.alignment, fx.alignment, n);
      assert.is(g.dataOffset, fx.data_offset, n);
      assert.is([...g.metadata.keys()].length, fx.n_kv, n);
      assert.is(g.metadata.integer('general.file_type'), fx.file_type, n);
      assert.is(g.metadata.integer('llama.embedding_length'), fx.config.dim, n);
      assert.is(g.metadata.strings('tokenizer.ggml.tokens').length, fx.config.vocab_size, n);
      assert.equal(g.tensors.map((t) => t.name), fx.tensors.map((t: any) => t.name), n);
      for (const [i, t] of g.tensors.entries()) {
        const want = fx.tensors[i];
        assert.is(t.type.name, want.type, `${n} ${t.name} type`);
        assert.equal(t.dims, want.ne, `${n} ${t.name} dims`);
        assert.is(t.offset, want.offset, `${n} ${t.name} offset`);
        assert.is(t.byteLength, want.nbytes, `${n} ${t.name} bytes`);
        // A view into the caller's bytes, not a copy.
        assert.ok(t.data.buffer === bytes.buffer && t.data.byteOffset === bytes.byteOffset + fx.data_offset + want.offset, `${n} ${t.name} view`);
        if (t.type.name === 'F32') {
          const values = new Float32Array(new Uint8Array(t.data).buffer); // (a copy: Buffer.slice would not copy)
          assert.equal(Array.from(values.subarray(0, 32)), want.dequant_first32.map(Math.fround), `${n} ${t.name} first values`);
          assert.equal(Array.from(values.subarray(values.length - 32)), want.dequant_last32.map(Math.fround), `${n} ${t.name} last values`);
        }
      }
    }
  });

  test('llama-2-tiny-random.gguf (written by llama.cpp): no alignment key, 32000-token vocabulary', () => {
    const g = parseGguf(readFileSync(tinyRandom), 'tiny');
    assert.is(g.alignment, 32);
    assert.is(g.metadata.string('general.architecture'), 'llama');
    assert.is(g.metadata.strings('tokenizer.ggml.tokens').length, 32000);
    assert.is(g.metadata.numbers('tokenizer.ggml.token_type')[1], 3);
    assert.is(g.tensorsByName.get('output.weight')!.type.name, 'F16');
  });
}

test('every metadata value type round-trips, in GGUF v2 and v3', () => {
  for (const version of [2, 3] as const) {
    const g = parseGguf(sampleFile(version), 'sample');
    assert.is(g.version, version);
    for (const [key, type, value] of sampleMetadata) {
      const e = g.metadata.get(key)!;
      assert.is(e.type, type, key);
      assert.equal(normalize(e.value), normalize(value), key);
    }
    assert.is(g.metadata.integer('u32'), 4000000000);
    assert.throws(() => g.metadata.integer('u64'), /u64 .*below 2\^53, got UINT64/);
    assert.throws(() => g.metadata.integer('i64'), /i64 .*non-negative/);
    assert.equal(Array.from(g.metadata.numbers('scores')), [0, -1.5, 2.25]);
    assert.equal(g.tensors.map((t) => [t.name, t.type.name, t.dims]), sampleTensors.map((t) => [t.name, t.type, t.dims]));
    for (const [i, t] of g.tensors.entries()) assert.equal(Array.from(t.data), Array.from(sampleTensors[i]!.data), t.name);
  }
});

/** Typed arrays as plain arrays so uvu can compare them. */
function normalize(v: unknown): unknown {
  if (v && typeof v === 'object' && 'elementType' in v) {
    const a = v as GgufArray;
    return { elementType: a.elementType, values: Array.from(a.values as ArrayLike<unknown>, normalize) };
  }
  return typeof v === 'number' && Number.isNaN(v) ? 'NaN' : v;
}

test('typed accessors name the key, its type and offset when the type is wrong', () => {
  const g = parseGguf(sampleFile(), 'sample');
  assert.throws(() => g.metadata.strings('scores'), /sample: GGUF metadata scores \(at byte \d+\) should be an array of strings, got ARRAY of FLOAT32/);
  assert.throws(() => g.metadata.string('u32'), /u32 .* should be a string, got UINT32/);
  assert.throws(() => g.metadata.integer('missing.key'), /has no missing\.key/);
  assert.is(g.metadata.integer('missing.key', 7), 7);
});

/** parseGguf(file) must throw a GgufError whose field, offset and message match. */
function rejects(file: Uint8Array, field: RegExp, offset: number | null, problem: RegExp): void {
  try {
    parseGguf(file, 'bad.gguf');
  } catch (err) {
    if (!(err instanceof GgufError)) throw err;
    assert.match(err.field, field);
    if (offset !== null) assert.is(err.offset, offset, err.message);
    assert.match(err.message, problem);
    assert.match(err.message, new RegExp(`^bad\\.gguf: bad GGUF file: .* at byte ${err.offset}: `));
    return;
  }
  assert.unreachable(`accepted a file that should fail on ${field}`);
}

test('bad header: magic, version 1, big-endian, absurd counts', () => {
  const f = sampleFile();
  rejects(f.slice(0, 3), /magic/, 0, /only 3 bytes/);
  rejects(new TextEncoder().encode('GGML\x03\0\0\0'), /magic/, 0, /expected "GGUF", got "GGML"/);
  rejects(setU32(f, 4, 1), /^version$/, 4, /version 1 .* not supported/);
  rejects(setU32(f, 4, 0x03000000), /^version$/, 4, /big-endian/);
  rejects(setU32(f, 4, 4), /^version$/, 4, /unsupported GGUF version 4/);
  rejects(setU64(f, 8, 2n ** 40n), /tensor count/, 8, /1099511627776 does not fit/);
  rejects(setU64(f, 16, 2n ** 64n - 1n), /metadata count/, 16, /18446744073709551615 does not fit/);
});

test('a string length of 2^63 and an array count past the file are errors before any allocation', () => {
  const f = sampleFile();
  rejects(setU64(f, 24, 2n ** 63n), /metadata key #0 length/, 24, /9223372036854775808 does not fit/);
  const g = parseGguf(f);
  const tokens = g.metadata.get('tokens')!.offset; // u32 element type, then the u64 count
  rejects(setU64(f, tokens + 4, 2n ** 62n), /"tokens" count/, tokens + 4, /does not fit .* at least 8 bytes/);
  const scores = g.metadata.get('scores')!.offset;
  rejects(setU32(f, scores, 77), /"scores" element type/, scores, /unknown value type 77/);
  const flag = g.metadata.get('bool')!.offset;
  const badBool = f.slice(); badBool[flag] = 2;
  rejects(badBool, /"bool"/, flag, /must be 0 or 1, got 2/);
});

test('bad tensor infos: dimension 0, 2^40 elements, n_dims, type, block size, offsets, overlap, duplicates', () => {
  const f = sampleFile();
  const q = tensorFieldOffsets(f, 1); // blk.0.attn_q.weight, Q8_0 [32, 2] at data offset 96
  rejects(setU64(f, q.dims + 8, 0n), /attn_q.weight" dims\[1\]/, q.dims + 8, /dimension of 0/);
  rejects(setU64(f, q.dims + 8, 2n ** 35n), /attn_q.weight" dims/, q.dims + 8, /cannot fit/); // 32 × 2^35 = 2^40 elements
  rejects(setU64(f, q.dims + 8, 2n ** 63n), /attn_q.weight" dims\[1\]/, q.dims + 8, /cannot fit/);
  rejects(setU32(f, q.nDims, 5), /n_dims/, q.nDims, /must be 1–4, got 5/);
  rejects(setU32(f, q.nDims, 0), /n_dims/, q.nDims, /must be 1–4, got 0/);
  rejects(setU32(f, q.type, 4), /attn_q.weight" type/, q.type, /unknown ggml tensor type 4/);
  rejects(setU32(f, q.type, 12), /attn_q.weight" dims\[0\]/, q.dims, /row length 32 is not a multiple of Q4_K's block size 256/);
  rejects(setU64(f, q.offset, 2n ** 62n), /attn_q.weight" offset/, q.offset, /past the end/);
  rejects(setU64(f, q.offset, 97n), /attn_q.weight" offset/, q.offset, /97 is not a multiple of the alignment 32/);
  rejects(setU64(f, q.offset, 64n), /offset/, null, /overlaps tensor "token_embd.weight"/);
  const last = tensorFieldOffsets(f, 4);
  rejects(setU64(f, last.offset, BigInt(f.length - parseGguf(f).dataOffset - 32)), /output.weight" data/, null, /run past the end/);
  const dup = writeGguf([], [sampleTensors[0]!, { ...sampleTensors[2]!, name: 'token_embd.weight' }]);
  rejects(dup, /token_embd.weight" name/, null, /duplicate tensor name \(first defined at byte 24\)/);
  const dupKey = writeGguf([['a', T.UINT8, 1], ['a', T.UINT8, 2]], []);
  rejects(dupKey, /metadata key #1/, 24 + 8 + 1 + 4 + 1, /duplicate key "a"/);
});

test('general.alignment must be a UINT32 power of two; data follows the given alignment', () => {
  rejects(writeGguf([['general.alignment', T.UINT32, 24]], []), /general.alignment/, null, /power of two, got 24/);
  rejects(writeGguf([['general.alignment', T.UINT64, 32n]], []), /general.alignment/, null, /must be a UINT32, got UINT64/);
  const g = parseGguf(writeGguf([['general.alignment', T.UINT32, 64]], sampleTensors));
  assert.is(g.alignment, 64);
  assert.is(g.dataOffset % 64, 0);
  for (const t of g.tensors) assert.is(t.offset % 64, 0, t.name);
});

test('every truncation of a valid file is a clear error', () => {
  const f = sampleFile();
  const last = parseGguf(f).tensors.at(-1)!;
  const needed = parseGguf(f).dataOffset + last.offset + last.byteLength;
  for (let n = 0; n < needed; n++) {
    try {
      parseGguf(f.subarray(0, n), 'cut');
      assert.unreachable(`accepted a file cut to ${n} bytes`);
    } catch (err) {
      assert.instance(err, GgufError, `cut at ${n}: ${err}`);
      assert.match((err as Error).message, /truncated|only \d+ bytes|does not fit|past the end/);
    }
  }
});

test.run();
