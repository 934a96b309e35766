// Locates ../shared (beside the repo). Missing shared data fails in CI and is reported (not hidden) locally.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

export const shared = resolve(import.meta.dirname, '../../../../shared');

/** True when every path (relative to shared/) exists; otherwise registers one test that fails in CI and warns locally. */
export function haveShared(suite: string, ...needed: string[]): boolean {
  const missing = needed.map((p) => resolve(shared, p)).filter((p) => !existsSync(p));
  if (missing.length === 0) return true;
  test(`${suite}: shared data`, () => {
    if (process.env.CI) assert.unreachable(`missing shared data: ${missing.join(', ')}`);
    console.warn(`${suite}: SKIPPED, missing ${missing.join(', ')}`);
  });
  return false;
}

export function readSharedJson<T>(path: string): T {
  return JSON.parse(readFileSync(resolve(shared, path), 'utf8')) as T;
}

export function readSharedBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(resolve(shared, path)));
}
