// ../shared files for the tensor suites; the guard (fails in CI, loud skip locally) is the repo's one helper.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { haveShared, sharedDir as shared } from '../../../scripts/shared-data.js';

export { haveShared, shared };

export function readSharedJson<T>(path: string): T {
  return JSON.parse(readFileSync(resolve(shared, path), 'utf8')) as T;
}

export function readSharedBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(resolve(shared, path)));
}
