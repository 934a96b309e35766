// Fuzzing the llama2.c loaders (fast-check, fixed seeds): absurd values in every header field of
// both checkpoint layouts, byte mutations, truncations and random tails; the same for
// tokenizer.bin. Every outcome is a model / tokenizer or a ModelFileError / TokenizerFileError
// (the library's own), within a time limit, and a loaded model never allocated more than twice its
// file (counted through the backend's allocator).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { jsBackend, type Backend } from '@msrnn/tensor';
import { GgufError, ModelFileError, TokenizerFileError, modelFromBytes, tokenizerFromBytes } from '../src/index.js';
import { absurdI32, applyEdits, byteEdits, expectOwnError, sameStreamedOutcome } from './fuzz.js';
import { createWasmBackend } from '@msrnn/tensor';
import { randomTensors, tiny, tinyTokenizerFile, writeV0, writeV1 } from './llama2c/build.js';

const tensors = randomTensors(tiny, 21);
const files = { v0: writeV0(tiny, tensors, false), v1: writeV1(tiny, tensors, true) };

/** Loads `bytes` on the js backend, counting every byte allocated through it. */
function load(bytes: Uint8Array): void {
  let allocated = 0;
  const backend: Backend = { ...jsBackend, alloc: (n) => { allocated += 4 * n; return new Float32Array(n); } };
  // Refused or not (a NaN weight is found after copying), nothing beyond twice the file.
  expectOwnError(() => modelFromBytes(bytes, { backend, source: 'fuzz.bin' }), [ModelFileError, GgufError]);
  assert.ok(allocated <= 2 * bytes.length, `a ${bytes.length}-byte file allocated ${allocated} bytes`);
}

const modelError = (bytes: Uint8Array): void => {
  try { modelFromBytes(bytes, { source: 'fuzz.bin' }); } catch (e) { assert.match((e as Error).message, /^fuzz\.bin: /); return; }
};

test('absurd values in every header field (v0: 7 ints; v1: magic, version, 7 ints, shared-classifier flag)', () => {
  for (const [layout, file] of Object.entries(files)) {
    const fields = layout === 'v0' ? [0, 4, 8, 12, 16, 20, 24] : [0, 4, 8, 12, 16, 20, 24, 28, 32, 36];
    fc.assert(fc.property(fc.constantFrom(...fields), absurdI32, (at, v) => {
      const f = file.slice();
      new DataView(f.buffer).setInt32(at, v, true);
      load(f);
      modelError(f);
    }), { seed: 1401, numRuns: 400 });
  }
});

test('byte mutations in the header and anywhere in the file', () => {
  for (const file of Object.values(files)) {
    fc.assert(fc.property(byteEdits(64, 6), (edits) => load(applyEdits(file, edits))), { seed: 1402, numRuns: 300 });
    fc.assert(fc.property(byteEdits(file.length, 6), (edits) => load(applyEdits(file, edits))), { seed: 1403, numRuns: 150 });
  }
});

test('truncated files and random tails', () => {
  for (const file of Object.values(files)) {
    fc.assert(fc.property(fc.nat(file.length), (n) => load(file.subarray(0, n))), { seed: 1404, numRuns: 200 });
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (tail) => {
      const f = new Uint8Array(file.length + tail.length);
      f.set(file); f.set(tail, file.length);
      load(f);
    }), { seed: 1405, numRuns: 100 });
  }
});

test('streamed loads (tensors read into place) fail or load exactly as loads from memory', async () => {
  const wasm = await createWasmBackend();
  try {
    for (const file of Object.values(files)) {
      await sameStreamedOutcome(file, 'fuzz.bin', wasm); // loads, into the wasm heap
      await fc.assert(fc.asyncProperty(fc.constantFrom(0, 4, 8, 12, 16, 20, 24, 28, 32, 36), absurdI32, (at, v) => {
        const f = file.slice();
        new DataView(f.buffer).setInt32(at, v, true);
        return sameStreamedOutcome(f, 'fuzz.bin');
      }), { seed: 1409, numRuns: 150 });
      await fc.assert(fc.asyncProperty(byteEdits(file.length, 6), (edits) => sameStreamedOutcome(applyEdits(file, edits), 'fuzz.bin')), { seed: 1410, numRuns: 100 });
      await fc.assert(fc.asyncProperty(fc.nat(file.length), (n) => sameStreamedOutcome(file.subarray(0, n), 'fuzz.bin')), { seed: 1411, numRuns: 100 });
    }
  } finally {
    await wasm.dispose();
  }
});

const tokenizerFile = tinyTokenizerFile();

/** Parses a tokenizer and, when it loads, encodes and decodes a line: only TokenizerFileError, pieces bounded by the file. */
function loadTokenizer(bytes: Uint8Array, vocabSize?: number): void {
  const tok = expectOwnError(() => tokenizerFromBytes(bytes, { source: 'fuzz-tok.bin', ...(vocabSize ? { vocabSize } : {}) }), [TokenizerFileError]);
  if (tok === undefined) return;
  // Every piece takes at least 8 bytes of the file (score, length): what it holds grows with the file, not with a header value.
  assert.ok(tok.vocabSize * 8 <= bytes.length, `${tok.vocabSize} pieces from ${bytes.length} bytes`);
  const ids = expectOwnError(() => tok.encode('then the hand, and thing\n'), [TokenizerFileError]);
  if (ids !== undefined) expectOwnError(() => tok.decode(ids), [TokenizerFileError]);
}

test('tokenizer.bin: absurd max_token_length and piece lengths, byte mutations, truncations', () => {
  const lengthFields = [0];
  for (let at = 4, i = 0; at < tokenizerFile.length && i < 40; i++) {
    lengthFields.push(at + 4);
    at += 8 + new DataView(tokenizerFile.buffer).getInt32(at + 4, true);
  }
  fc.assert(fc.property(fc.constantFrom(...lengthFields), absurdI32, (at, v) => {
    const f = tokenizerFile.slice();
    new DataView(f.buffer).setInt32(at, v, true);
    loadTokenizer(f);
  }), { seed: 1406, numRuns: 400 });
  fc.assert(fc.property(byteEdits(tokenizerFile.length, 6), fc.boolean(), (edits, withVocab) => {
    loadTokenizer(applyEdits(tokenizerFile, edits), withVocab ? 274 : undefined);
  }), { seed: 1407, numRuns: 400 });
  fc.assert(fc.property(fc.nat(tokenizerFile.length), (n) => loadTokenizer(tokenizerFile.subarray(0, n), 274)), { seed: 1408, numRuns: 200 });
});

test.run();
