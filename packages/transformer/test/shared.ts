// Locates ../shared (beside the repo). Missing shared data fails in CI and is reported (not hidden) locally.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

export const shared = resolve(import.meta.dirname, '../../../../shared');
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

/** True when every path exists; otherwise registers one test that fails in CI and warns locally. */
export function haveShared(suite: string, ...needed: string[]): boolean {
  const missing = needed.filter((p) => !existsSync(p));
  if (missing.length === 0) return true;
  test(`${suite}: shared data`, () => {
    if (process.env.CI) assert.unreachable(`missing shared data: ${missing.join(', ')}`);
    console.warn(`${suite}: SKIPPED, missing ${missing.join(', ')}`);
  });
  return false;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.is(a.length, b.length, 'length');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
