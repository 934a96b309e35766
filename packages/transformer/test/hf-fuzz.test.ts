// Fuzzing the Hugging Face folder loader's config.json (fast-check, fixed seed): each field of a
// real tiny llama folder's config replaced by hostile values (wrong types, huge, negative,
// fractional, null), the folder then loaded. Every outcome is a model or a ModelFileError /
// SafetensorsError naming the folder, within a time limit, and nothing allocated beyond twice the
// folder's bytes (counted through the backend's allocator).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { jsBackend, type Backend } from '@msrnn/tensor';
import { createState, loadModelFiles, ModelFileError, modelFromFiles, readHfFolder, SafetensorsError, step, type Model } from '../src/index.js';
import type { ByteSource } from '../src/byte-source.js';
import { applyEdits, byteEdits, expectOwnError, hostileJson, streamedSource } from './fuzz.js';
import { haveShared, shared } from './shared.js';
import { resolve } from 'node:path';

const folder = resolve(shared, 'models/hf/llama-tiny');

if (haveShared('hf-fuzz', folder)) {
  test('config.json with hostile values in every field: a model or a ModelFileError / SafetensorsError, allocation bounded', async () => {
    const files = await readHfFolder(folder);
    const config = JSON.parse(new TextDecoder().decode(files.get('config.json')!)) as Record<string, unknown>;
    const folderBytes = [...files.values()].reduce((n, b) => n + b.length, 0);
    const extra = ['rope_scaling', 'layer_types', 'sliding_window', 'head_dim', 'partial_rotary_factor']; // fields other families read
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom(...Object.keys(config), ...extra), hostileJson), { minLength: 1, maxLength: 3 }), (edits) => {
      const c = { ...config };
      for (const [key, value] of edits) c[key] = value;
      const mutated = new Map(files);
      mutated.set('config.json', new TextEncoder().encode(JSON.stringify(c)));
      let allocated = 0;
      const backend: Backend = { ...jsBackend, alloc: (n) => { allocated += 4 * n; return new Float32Array(n); } };
      expectOwnError(() => modelFromFiles(mutated, { backend, source: 'fuzz-folder' }), [ModelFileError, SafetensorsError], {
        onError: (err) => assert.match(err.message, /fuzz-folder/),
      });
      assert.ok(allocated <= 2 * folderBytes, `a ${folderBytes}-byte folder allocated ${allocated} bytes`);
    }), { seed: 1420, numRuns: 250 });
  });

  test('a folder streamed (safetensors as byte sources) fails or loads exactly as the folder from memory', async () => {
    const files = await readHfFolder(folder);
    const weights = files.get('model.safetensors')!;
    const headerEnd = 8 + Number(new DataView(weights.buffer, weights.byteOffset).getBigUint64(0, true));
    const same = async (mutated: Map<string, Uint8Array>): Promise<void> => {
      let whole: Model | Error, streamed: Model | Error;
      try { whole = modelFromFiles(mutated, { source: 'fuzz-folder' }); } catch (e) { whole = e as Error; }
      const sources = new Map([...mutated].map(([name, bytes]) => [name, name.endsWith('.json') ? bytes : streamedSource(bytes, name)] as const));
      try { streamed = await loadModelFiles(sources, { source: 'fuzz-folder' }); } catch (e) { streamed = e as Error; }
      if (whole instanceof Error || streamed instanceof Error) {
        assert.is(streamed instanceof Error ? streamed.message : 'loaded', whole instanceof Error ? whole.message : 'loaded');
        return;
      }
      assert.is(streamed.format, whole.format);
      assert.equal(step(streamed, createState(streamed), 1), step(whole, createState(whole), 1));
    };
    await same(files);
    // Edits in the safetensors header (its JSON) and anywhere in the file (NaN weights, the bytes each tensor gets).
    await fc.assert(fc.asyncProperty(byteEdits(headerEnd, 3), (edits) => same(new Map([...files, ['model.safetensors', applyEdits(weights, edits)]]))), { seed: 1421, numRuns: 150 });
    await fc.assert(fc.asyncProperty(byteEdits(weights.length, 6), (edits) => same(new Map([...files, ['model.safetensors', applyEdits(weights, edits)]]))), { seed: 1422, numRuns: 60 });
    await fc.assert(fc.asyncProperty(fc.nat(weights.length), (n) => same(new Map([...files, ['model.safetensors', weights.subarray(0, n)]]))), { seed: 1423, numRuns: 60 });
  });

  test('loadModelFiles reads config.json and the index whole, and no other file of the folder (a 1 TiB data.json beside the model)', async () => {
    const files = await readHfFolder(folder);
    const untouched = (name: string, size: number): ByteSource => ({ name, size, read: async () => { throw new Error(`${name} was read`); } });
    const sources = new Map<string, Uint8Array | ByteSource>([...files, ['data.json', untouched('data.json', 2 ** 40)], ['tokenizer.json', untouched('tokenizer.json', 1 << 20)]]);
    const model = await loadModelFiles(sources, { source: 'folder' });
    assert.equal(step(model, createState(model), 1), step(modelFromFiles(files), createState(modelFromFiles(files)), 1));
  });
}

test.run();
