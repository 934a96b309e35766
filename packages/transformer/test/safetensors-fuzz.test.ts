// Fuzzing the safetensors reader (fast-check, fixed seeds): byte mutations, truncations, absurd
// header lengths, and header JSON with fields replaced by hostile values. Every outcome is either
// a parsed file whose tensors lie inside the bytes given, or a SafetensorsError; never another
// exception, never an allocation beyond the file, never a hang.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { parseSafetensors, SafetensorsError } from '../src/index.js';
import { applyEdits, byteEdits, expectOwnError, hostileJson, streamedSource } from './fuzz.js';
import { readSafetensorsSources } from '../src/safetensors/folder.js';
import { sampleSafetensors } from './safetensors/build.js';

const valid = sampleSafetensors();
const headerLength = Number(new DataView(valid.buffer).getBigUint64(0, true));
const header = JSON.parse(new TextDecoder().decode(valid.subarray(8, 8 + headerLength)));
const data = valid.subarray(8 + headerLength);

function check(bytes: Uint8Array): void {
  const file = expectOwnError(() => parseSafetensors(bytes, 'fuzz'), [SafetensorsError]);
  if (file === undefined) return;
  let total = 0;
  for (const t of file.tensors) {
    assert.ok(t.bytes.buffer === bytes.buffer, `${t.name} is not a view of the file`);
    assert.ok(t.bytes.byteOffset >= bytes.byteOffset + file.dataOffset && t.bytes.byteOffset + t.bytes.byteLength <= bytes.byteOffset + bytes.byteLength, `${t.name} lies outside the data`);
    assert.is(t.data.length, t.elements);
    total += t.bytes.byteLength;
  }
  assert.is(total, bytes.byteLength - file.dataOffset, 'tensors tile the data buffer');
}

const withHeaderText = (text: string, lengthOverride?: bigint): Uint8Array => {
  const head = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(head.length), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
};

test('the valid sample parses', () => check(valid));

test('random byte mutations and truncations', () => {
  fc.assert(fc.property(byteEdits(valid.length, 8), fc.nat(valid.length), (edits, cut) => {
    check(applyEdits(valid.subarray(0, Math.max(cut, 1)), edits));
  }), { seed: 42, numRuns: 2000 });
});

test('absurd header lengths', () => {
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (n) => check(withHeaderText(JSON.stringify(header), n))), { seed: 7, numRuns: 500 });
});

test('header JSON with tensor fields replaced by hostile values', () => {
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.constantFrom(...names), fc.constantFrom('dtype', 'shape', 'data_offsets', '__entry__'), hostileJson), { minLength: 1, maxLength: 4 }),
    (edits) => {
      const h = structuredClone(header);
      for (const [name, field, value] of edits) {
        if (field === '__entry__') h[name] = value;
        else if (h[name] && typeof h[name] === 'object') h[name][field] = value;
      }
      check(withHeaderText(JSON.stringify(h)));
    },
  ), { seed: 11, numRuns: 3000 });
});

test('random JSON headers', () => {
  fc.assert(fc.property(fc.json(), (text) => check(withHeaderText(text))), { seed: 3, numRuns: 1000 });
});

test('a header read from a byte source (8 bytes, then the header alone) parses or fails as the whole file does', async () => {
  const same = async (bytes: Uint8Array): Promise<void> => {
    let want: string, got: string;
    try { want = JSON.stringify(parseSafetensors(bytes, 'fuzz/model.safetensors').tensors.map((t) => [t.name, t.dtype, t.shape, t.fileOffset, t.byteLength])); } catch (e) { want = (e as Error).message; }
    try {
      const ckpt = await readSafetensorsSources(new Map([['model.safetensors', streamedSource(bytes, 'model.safetensors')]]), undefined, 'fuzz');
      got = JSON.stringify([...ckpt.tensors.values()].map((t) => [t.name, t.dtype, t.shape, t.fileOffset, t.byteLength]));
    } catch (e) { got = (e as Error).message; }
    assert.is(got, want);
  };
  await same(valid);
  await fc.assert(fc.asyncProperty(byteEdits(8 + headerLength, 4), (edits) => same(applyEdits(valid, edits))), { seed: 1430, numRuns: 400 });
  await fc.assert(fc.asyncProperty(fc.nat(valid.length), (n) => same(valid.subarray(0, n))), { seed: 1431, numRuns: 200 });
});

test.run();
