// ../shared (beside the repo root) for the tests: model files, texts and fixtures that are never
// copied into the repo. One guard for every suite that needs them: with CI=true a missing path
// FAILS the suite; locally the suite is skipped loudly (a test named "<suite>: shared data" that
// prints what is missing), never silently.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

export const sharedDir = resolve(import.meta.dirname, '../../shared');

/** A path under ../shared. */
export function sharedPath(relative: string): string {
  return resolve(sharedDir, relative);
}

/**
 * True when every path (absolute, or relative to ../shared) exists. Otherwise registers one test that fails when CI is set and warns
 * (naming the missing paths) when it is not, and returns false: the caller then registers nothing.
 */
export function haveShared(suite: string, ...needed: string[]): boolean {
  const missing = needed.map((p) => resolve(sharedDir, p)).filter((p) => !existsSync(p));
  if (missing.length === 0) return true;
  test(`${suite}: shared data`, () => {
    if (process.env.CI && process.env.CI !== 'false') assert.unreachable(`missing shared data: ${missing.join(', ')}`);
    console.warn(`${suite}: SKIPPED, missing ${missing.join(', ')} (CI=true makes this a failure)`);
  });
  return false;
}
