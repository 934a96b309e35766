// The ../shared files these suites use; the guard (fails in CI, loud skip locally) is the repo's one helper.
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, jsBackend, type Backend } from '@msrnn/tensor';
import { haveShared, sharedDir as shared } from '../../../scripts/shared-data.js';

export { haveShared, shared };
export const paths = {
  model: resolve(shared, 'models/stories260K.bin'),
  modelV1: resolve(shared, 'models/stories260K.v1.bin'),
  tokenizer: resolve(shared, 'models/tok512.bin'),
  llamaTokenizer: resolve(shared, 'models/tokenizer.bin'),
  fixtures: resolve(shared, 'fixtures/stories260K'),
  book: resolve(shared, 'text/austen_4_pride_and_prejudice.txt'),
  hfModels: resolve(shared, 'models/hf'),
  hfFixtures: resolve(shared, 'fixtures/hf'),
  llamaGguf: resolve(shared, 'models/llama-2-tiny-random.gguf'),
};

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.is(a.length, b.length, 'length');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** The js backend and a single-threaded wasm one (disposed after the suite), named, to run each case on both. */
export async function jsAndWasm(): Promise<[string, Backend][]> {
  const wasm = await createWasmBackend({ threads: 1 });
  test.after(async () => { await wasm.dispose(); });
  return [['js', jsBackend], ['wasm', wasm]];
}
