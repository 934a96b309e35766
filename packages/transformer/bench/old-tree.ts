// An older checkout's packages (`git archive <commit> packages | tar -x -C DIR`) loaded beside this
// checkout's, for old-against-new measurements in one process (ab.bench.ts, load-ab.bench.ts).
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

type Api = typeof import('../src/index.js');
type TensorApi = typeof import('@msrnn/tensor');
export interface Side { name: string; api: Api; tensor: TensorApi }

/** This checkout's root. */
export const root = resolve(import.meta.dirname, '../../..');

/** [old, new]: the packages of the tree at `oldDir` and of this checkout. */
export async function loadSides(oldDir: string): Promise<[Side, Side]> {
  const oldRoot = resolve(oldDir);
  // The old tree imports @msrnn/* by name: point those names at its own packages, and its
  // third-party dependencies at this checkout's installed ones.
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
  const load = async (name: string, dir: string): Promise<Side> => ({
    name,
    api: await import(pathToFileURL(resolve(dir, 'packages/transformer/src/index.ts')).href),
    tensor: await import(pathToFileURL(resolve(dir, 'packages/tensor/src/index.ts')).href),
  });
  return [await load('old', oldRoot), await load('new', root)];
}
