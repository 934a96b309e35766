// This checkout and an older one loaded side by side in ONE process, so a benchmark can measure
// both in alternating rounds (a machine that others are loading then affects both alike).
//   mkdir -p .bench/old && git archive <commit> packages | tar -x -C .bench/old
// The old tree imports @msrnn/* by name: links under <old>/node_modules/@msrnn point those names
// at its own packages (made on first use), and its third-party dependencies at this checkout's.
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export type Api = typeof import('../src/index.js');
export type TensorApi = typeof import('@msrnn/tensor');
export interface Side { name: 'old' | 'new'; api: Api; tensor: TensorApi }

/** This checkout's root. */
export const root = resolve(import.meta.dirname, '../../..');

/** The old tree at `oldDir` (a `git archive` of packages/) and this checkout, in that order. */
export async function loadTrees(oldDir: string): Promise<[Side, Side]> {
  const oldRoot = resolve(oldDir);
  if (!existsSync(resolve(oldRoot, 'packages/transformer/src/index.ts'))) throw new Error(`--old ${oldDir}: no packages/transformer/src/index.ts there (see the usage comment)`);
  mkdirSync(resolve(oldRoot, 'node_modules/@msrnn'), { recursive: true });
  for (const pkg of ['tensor', 'msrnn', 'policies', 'transformer']) {
    const link = resolve(oldRoot, 'node_modules/@msrnn', pkg);
    if (!existsSync(link)) symlinkSync(resolve(oldRoot, 'packages', pkg), link, 'dir');
    const deps = resolve(root, 'packages', pkg, 'node_modules');
    for (const dep of existsSync(deps) ? readdirSync(deps) : []) {
      const at = resolve(oldRoot, 'node_modules', dep);
      if (dep !== '@msrnn' && dep !== '.bin' && !existsSync(at)) symlinkSync(resolve(deps, dep), at, 'dir');
    }
  }
  const load = async (name: Side['name'], dir: string): Promise<Side> => ({
    name,
    api: await import(pathToFileURL(resolve(dir, 'packages/transformer/src/index.ts')).href),
    tensor: await import(pathToFileURL(resolve(dir, 'packages/tensor/src/index.ts')).href),
  });
  return [await load('old', oldRoot), await load('new', root)];
}
