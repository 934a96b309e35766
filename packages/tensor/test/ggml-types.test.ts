// The ggml type table: sizes as ggml's block structs define them, checked against the tensor sizes
// ggml itself wrote into the shared GGUF fixtures (nbytes = rows × rowBytes), and the errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GGML, GGML_TYPES, ggmlRowBytes, ggmlTypeInfo, supportedGgmlType } from '../src/index.js';
import { haveShared, readSharedJson } from './shared.js';

test('block sizes and bytes of the supported types', () => {
  const expect: Record<string, [number, number]> = {
    F32: [1, 4], F16: [1, 2], BF16: [1, 2], Q8_0: [32, 34], Q4_0: [32, 18], Q4_1: [32, 20], Q5_0: [32, 22],
    Q5_1: [32, 24], Q4_K: [256, 144], Q5_K: [256, 176], Q6_K: [256, 210], IQ4_NL: [32, 18],
  };
  for (const [name, [bs, bb]] of Object.entries(expect)) {
    const t = ggmlTypeInfo(GGML[name as keyof typeof GGML]);
    assert.is(t.name, name);
    assert.equal([t.blockSize, t.blockBytes, t.supported], [bs, bb, true], name);
  }
  assert.is(GGML_TYPES.filter((t) => t.supported).length, Object.keys(expect).length);
  assert.is(new Set(GGML_TYPES.map((t) => t.id)).size, GGML_TYPES.length, 'ids are unique');
});

const FIXTURE_FILES = ['random256-F32', 'random256-F16', 'random256-BF16', 'random256-Q8_0', 'random256-Q4_0', 'random256-Q4_1',
  'random256-Q5_0', 'random256-Q5_1', 'random256-Q4_K', 'random256-Q5_K', 'random256-Q6_K', 'stories260K-Q4_K'];

if (haveShared('ggml types', ...FIXTURE_FILES.map((f) => `fixtures/gguf/${f}.json`))) test('rowBytes matches every 2-D tensor ggml wrote into the shared GGUF fixtures', () => {
  let checked = 0;
  for (const f of FIXTURE_FILES) {
    const j = readSharedJson<{ tensors: { name: string; type: string; ne: number[]; nbytes: number }[] }>(`fixtures/gguf/${f}.json`);
    for (const t of j.tensors) {
      const info = GGML_TYPES.find((x) => x.name === t.type);
      assert.ok(info, `${f} ${t.name}: type ${t.type} in the table`);
      const rows = t.ne.slice(1).reduce((a, b) => a * b, 1);
      assert.is(rows * ggmlRowBytes(info.id, t.ne[0]!), t.nbytes, `${f} ${t.name}`);
      checked++;
    }
  }
  assert.ok(checked > 100);
});

test('clear errors: unknown id, unsupported type, cols not a multiple of the block', () => {
  assert.throws(() => ggmlTypeInfo(4), /unknown ggml tensor type id 4/);
  assert.throws(() => ggmlTypeInfo(-1), /unknown ggml tensor type id -1/);
  assert.throws(() => supportedGgmlType(10, 'blk.0.attn_q.weight'), /blk\.0\.attn_q\.weight: ggml type Q2_K \(id 10\) is not supported \(supported: F32, F16, Q4_0/);
  assert.throws(() => ggmlRowBytes(GGML.Q4_K, 64), /Q4_K row: 64 columns is not a multiple of the block size 256/);
  assert.throws(() => ggmlRowBytes(GGML.Q8_0, 0), /positive integer/);
  assert.throws(() => ggmlRowBytes(GGML.Q8_0, 1.5), /positive integer/);
  assert.is(ggmlRowBytes(GGML.Q4_K, 512), 288);
  assert.is(ggmlRowBytes(GGML.F32, 3), 12);
});

test.run();
