// The safetensors reader: the shared Hugging Face folders (single and sharded, F32/F16/BF16),
// checked against the llama2.c checkpoint the stories260K folder was converted from; values of
// each dtype; every strict check with a file made to break it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  loadSafetensorsFolder, parseSafetensors, readSafetensorsFiles, safetensorToFloat32, SafetensorsError,
} from '../src/index.js';
import type { SafetensorWrite } from '../src/safetensors/write.js';
import { f32, sampleSafetensors, u16, writeSafetensors } from './safetensors/build.js';
import { haveShared, paths, shared } from './shared.js';

test('values of each dtype: F32 as is, F16 and BF16 kept as 16-bit, widened exactly on request', () => {
  const file = parseSafetensors(sampleSafetensors(), 'sample');
  assert.equal(file.metadata, Object.assign(Object.create(null), { format: 'pt' }));
  assert.equal(file.tensors.map((t) => t.name), ['a.weight', 'b.half', 'c.bf16', 'empty'], 'in data order');
  const a = file.tensorsByName.get('a.weight')!;
  assert.ok(a.data instanceof Float32Array && a.zeroCopy);
  assert.equal(Array.from(a.data), [1, 2, 3, 4, 5, 6]);
  assert.equal(a.shape, [2, 3]);
  const h = file.tensorsByName.get('b.half')!;
  assert.ok(h.data instanceof Uint16Array);
  assert.equal(Array.from(h.data), [0x3c00, 0xc000, 0x7bff, 0x0001]);
  assert.equal(Array.from(safetensorToFloat32(h)), [1, -2, 65504, 2 ** -24]);
  assert.equal(Array.from(safetensorToFloat32(file.tensorsByName.get('c.bf16')!)), [1, -1.5]);
  assert.is(file.tensorsByName.get('empty')!.elements, 0);
});

test('tensors are views into the given bytes (no copy), also at a non-zero byteOffset', () => {
  const bytes = sampleSafetensors();
  const padded = new Uint8Array(bytes.length + 8);
  padded.set(bytes, 8);
  for (const input of [bytes, padded.subarray(8)]) {
    const a = parseSafetensors(input).tensorsByName.get('a.weight')!;
    assert.ok(a.data.buffer === input.buffer && a.zeroCopy);
  }
  // Shifted by 2 bytes the F32 data is unaligned: copied once, same values.
  const odd = new Uint8Array(bytes.length + 2);
  odd.set(bytes, 2);
  const a = parseSafetensors(odd.subarray(2)).tensorsByName.get('a.weight')!;
  assert.not.ok(a.zeroCopy);
  assert.equal(Array.from(a.data), [1, 2, 3, 4, 5, 6]);
});

/** Rewrites the header JSON of a valid file (keeping it a multiple of 8 long). */
function withHeader(edit: (h: Record<string, any>) => void, tensors: Record<string, SafetensorWrite> = { x: { dtype: 'F32', shape: [2], bytes: f32([1, 2]) }, y: { dtype: 'F16', shape: [2], bytes: u16([1, 2]) } }): Uint8Array {
  const file = writeSafetensors(tensors);
  const n = Number(new DataView(file.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)));
  edit(header);
  return writeRaw(JSON.stringify(header), file.subarray(8 + n));
}

function writeRaw(headerText: string, data: Uint8Array, lengthOverride?: bigint): Uint8Array {
  const head = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(head.length), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

test('strict checks: each broken file is a SafetensorsError naming the problem', () => {
  const bad = (bytes: Uint8Array, pattern: RegExp): void => {
    try {
      parseSafetensors(bytes, 'bad.safetensors');
    } catch (e) {
      assert.instance(e, SafetensorsError);
      assert.match((e as Error).message, /^bad\.safetensors: bad safetensors file: /);
      assert.match((e as Error).message, pattern);
      return;
    }
    assert.unreachable(`accepted a file that should fail with ${pattern}`);
  };
  const valid = sampleSafetensors();
  bad(valid.subarray(0, 5), /5 bytes, fewer than the 8-byte header length/);
  bad(writeRaw('{}', new Uint8Array(0), 1000n), /header length 1000 runs past the end of the file \(10 bytes\)/);
  bad(writeRaw('{}', new Uint8Array(0), 2n ** 63n), /header length 9223372036854775808 runs past the end/);
  bad(writeRaw('[1, 2]', new Uint8Array(0)), /does not start with "\{"/);
  bad(writeRaw('{"a": ', new Uint8Array(0)), /not valid UTF-8 JSON/);
  bad(writeRaw('{"__metadata__": [1]}', new Uint8Array(0)), /__metadata__ is not an object/);
  bad(writeRaw('{"__metadata__": {"n": 1}}', new Uint8Array(0)), /__metadata__\.n is not a string/);
  bad(withHeader((h) => { h.x.dtype = 'F33'; }), /tensor "x": unknown dtype "F33" \(supported: F32, F16, BF16\)/);
  bad(withHeader((h) => { h.x.dtype = 'I64'; }), /tensor "x": unsupported dtype "I64"/);
  bad(withHeader((h) => { delete h.x.dtype; }), /tensor "x": dtype is missing/);
  bad(withHeader((h) => { h.x = 5; }), /tensor "x": its entry is not an object/);
  bad(withHeader((h) => { h.x.shape = [2, -1]; }), /has a dimension that is not a non-negative integer/);
  bad(withHeader((h) => { h.x.shape = [1.5]; }), /has a dimension that is not a non-negative integer/);
  bad(withHeader((h) => { h.x.shape = [2 ** 40, 2 ** 40]; }), /has more elements than the file has bytes/);
  bad(withHeader((h) => { h.x.shape = [3]; }), /shape \[3\] × F32 is 12 bytes but data_offsets \[0, 8\] hold 8/);
  bad(withHeader((h) => { h.x.data_offsets = [0]; }), /data_offsets \[0\] is not a pair/);
  bad(withHeader((h) => { h.x.data_offsets = [8, 0]; }), /end before they begin/);
  bad(withHeader((h) => { h.y.data_offsets = [8, 16]; h.y.shape = [4]; }), /tensor "y": data_offsets \[8, 16\] run past the data buffer \(12 bytes\)/);
  bad(withHeader((h) => { h.y.data_offsets = [4, 8]; }), /tensor "y": data_offsets \[4, 8\] overlap the previous tensor \(which ends at 8\)/);
  bad(withHeader((h) => { h.y.data_offsets = [6, 10]; h.x.shape = [1]; h.x.data_offsets = [0, 4]; }), /leaving a gap after byte 4/);
  bad(withHeader((h) => { h.y.shape = [1]; h.y.data_offsets = [8, 10]; }), /the tensors end at byte 10 of the data buffer but it has 12 bytes/);
  bad(writeRaw(' '.repeat(7) + '{}', new Uint8Array(0)), /does not start with "\{"/);
  const notUtf8 = writeRaw('{"a":1}', new Uint8Array(0));
  notUtf8[10] = 0xff;
  bad(notUtf8, /not valid UTF-8 JSON/);
});

test('a tensor named __proto__ or constructor is an ordinary tensor', () => {
  const raw = writeRaw('{"__proto__": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "constructor": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', f32([7, 8]));
  const parsed = parseSafetensors(raw);
  assert.equal(parsed.tensors.map((t) => t.name), ['__proto__', 'constructor']);
  assert.equal(Array.from(parsed.tensorsByName.get('__proto__')!.data), [7]);
});

test('sharded checkpoints: the index maps names to shards; missing shards and mismatches are clear errors', () => {
  const s1 = writeSafetensors({ a: { dtype: 'F32', shape: [1], bytes: f32([1]) } });
  const s2 = writeSafetensors({ b: { dtype: 'F32', shape: [1], bytes: f32([2]) } });
  const index = (wm: Record<string, string>): Uint8Array => new TextEncoder().encode(JSON.stringify({ metadata: { total_size: 8 }, weight_map: wm }));
  const good = new Map([['model.safetensors.index.json', index({ a: 's1.safetensors', b: 's2.safetensors' })], ['s1.safetensors', s1], ['s2.safetensors', s2]]);
  const ck = readSafetensorsFiles(good, 'dir');
  assert.equal([...ck.tensors.keys()].sort(), ['a', 'b']);
  assert.equal(ck.files, ['s1.safetensors', 's2.safetensors']);
  assert.is(ck.metadata.total_size, 8);
  const withIndex = (wm: Record<string, string>): Map<string, Uint8Array> => new Map([...good, ['model.safetensors.index.json', index(wm)]]);
  assert.throws(() => readSafetensorsFiles(withIndex({ a: 's1.safetensors', b: 's3.safetensors' }), 'dir'), /lists shard "s3\.safetensors", which the folder does not have/);
  assert.throws(() => readSafetensorsFiles(withIndex({ a: 's1.safetensors', b: 's1.safetensors' }), 'dir'), /puts tensor "b" in s1\.safetensors, which does not have it/);
  const extra = new Map([...good, ['s2.safetensors', writeSafetensors({ b: { dtype: 'F32', shape: [1], bytes: f32([2]) }, c: { dtype: 'F32', shape: [1], bytes: f32([3]) } })]]);
  assert.throws(() => readSafetensorsFiles(extra, 'dir'), /tensor "c" is in s2\.safetensors but the index does not list it/);
  assert.throws(() => readSafetensorsFiles(withIndex({ a: 's1.safetensors', b: '../s2.safetensors' }), 'dir'), /is not a \.safetensors file name in the folder/);
  assert.throws(() => readSafetensorsFiles(withIndex({}), 'dir'), /weight_map is empty/);
  assert.throws(() => readSafetensorsFiles(new Map([['model.safetensors.index.json', new TextEncoder().encode('{"weight_map": 3}')]]), 'dir'), /has no "weight_map" object/);
  assert.throws(() => readSafetensorsFiles(new Map([['model.safetensors.index.json', new TextEncoder().encode('{')]]), 'dir'), /dir\/model\.safetensors\.index\.json: invalid JSON/);
  assert.throws(() => readSafetensorsFiles({}, 'dir'), /dir: no model\.safetensors and no model\.safetensors\.index\.json/);
  const dup = new Map([...withIndex({ a: 's1.safetensors', b: 's2.safetensors' }), ['s2.safetensors', writeSafetensors({ a: { dtype: 'F32', shape: [1], bytes: f32([1]) }, b: { dtype: 'F32', shape: [1], bytes: f32([2]) } })]]);
  assert.throws(() => readSafetensorsFiles(dup, 'dir'), /tensor "a" is also in another shard/);
});

if (haveShared('safetensors', paths.hfModels, paths.hfFixtures, paths.model)) {
  const names = ['gemma2-tiny', 'gpt2-tiny', 'llama-tiny', 'mistral-tiny', 'phi3-tiny', 'qwen2-tiny', 'qwen3-tiny', 'stories260K'];

  test('every shared HF folder reads: parameter counts and dtypes as the fixtures state', async () => {
    for (const name of names) {
      const fx = JSON.parse(readFileSync(join(paths.hfFixtures, `${name}.json`), 'utf8'));
      const ck = await loadSafetensorsFolder(join(shared, fx.folder));
      let params = 0;
      const dtypes = new Set<string>();
      for (const t of ck.tensors.values()) { params += t.elements; dtypes.add(t.dtype); }
      assert.is(params, fx.n_params, `${name} parameters`);
      assert.ok(dtypes.has(fx.storage_dtype), `${name} stores ${fx.storage_dtype} (has ${[...dtypes]})`);
      for (const t of ck.tensors.values()) assert.ok(t.zeroCopy, `${name} ${t.name} is a view`);
    }
    const mistral = await loadSafetensorsFolder(join(paths.hfModels, 'mistral-tiny'));
    assert.is(mistral.files.length, 2, 'mistral-tiny is sharded');
  });

  test('stories260K as an HF folder holds the llama2.c checkpoint\'s embedding and norms bit for bit', async () => {
    const ck = await loadSafetensorsFolder(join(paths.hfModels, 'stories260K'));
    // llama2.c v0: 7 int32 of header, then float32 arrays in a fixed order (run.c's memory_map_weights).
    const bin = readFileSync(paths.model);
    const floats = new Float32Array(bin.buffer.slice(bin.byteOffset + 28, bin.byteOffset + bin.byteLength));
    const [dim, hidden, layers, vocab, kvDim] = [64, 172, 5, 512, 32];
    const at = (offset: number, n: number): Float32Array => floats.subarray(offset, offset + n);
    const emb = ck.tensors.get('model.embed_tokens.weight')!;
    assert.equal(emb.shape, [vocab, dim]);
    assert.equal(emb.data, at(0, vocab * dim));
    assert.equal(ck.tensors.get('model.layers.3.input_layernorm.weight')!.data, at(vocab * dim + 3 * dim, dim));
    const finalNorm = vocab * dim + layers * (dim + 2 * dim * dim + 2 * dim * kvDim + dim + 3 * dim * hidden);
    assert.equal(ck.tensors.get('model.norm.weight')!.data, at(finalNorm, dim));
  });

  test('a real BF16 folder (llama-tiny) widens each value to the f32 whose top half it is', async () => {
    const llama = await loadSafetensorsFolder(join(paths.hfModels, 'llama-tiny'));
    const t = llama.tensors.get('model.embed_tokens.weight')!;
    assert.is(t.dtype, 'BF16');
    const wide = new Uint32Array(safetensorToFloat32(t).buffer);
    const bits = t.data as Uint16Array;
    for (let i = 0; i < bits.length; i++) assert.is(wide[i], (bits[i]! << 16) >>> 0);
  });
}

test('writeSafetensors: the data starts 8-aligned, parses back to the same tensors, and bad input is a clear error', () => {
  const file = sampleSafetensors();
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  assert.is((8 + n) % 8, 0);
  const back = parseSafetensors(file);
  assert.equal({ ...back.metadata }, { format: 'pt' });
  assert.equal(back.tensors.map((t) => [t.name, t.dtype, t.shape]), [['a.weight', 'F32', [2, 3]], ['b.half', 'F16', [4]], ['c.bf16', 'BF16', [2, 1]], ['empty', 'F32', [0, 5]]]);
  assert.equal(Array.from(back.tensorsByName.get('b.half')!.data), [0x3c00, 0xc000, 0x7bff, 0x0001]);
  assert.throws(() => writeSafetensors({ a: { dtype: 'F32', shape: [3], bytes: f32([1, 2]) } }), /tensor a \(F32 \[3\]\) needs 12 bytes, got 8/);
  assert.throws(() => writeSafetensors({ a: { dtype: 'I64' as 'F32', shape: [1], bytes: new Uint8Array(8) } }), /dtype I64 \(writable: F32, F16, BF16\)/);
});

test.run();
