// Bundles the four core packages for one platform with esbuild, from their TypeScript sources
// ("source" condition), minified: what a page, a worker or an edge runtime would ship.
import { build, type Metafile, type Platform } from 'esbuild';
import { gzipSync } from 'node:zlib';

export const CORE_PACKAGES = ['@msrnn/tensor', '@msrnn/msrnn', '@msrnn/policies', '@msrnn/transformer'] as const;

export interface CoreBundle { code: string; metafile: Metafile; minGzipBytes: number }

/** Every export of every core package, kept (a namespace object per package, so nothing is shaken off). */
export async function bundleCore(platform: Platform, conditions: string[] = []): Promise<CoreBundle> {
  const names = CORE_PACKAGES.map((p, i) => ({ p, id: `p${i}` }));
  const contents = names.map(({ p, id }) => `import * as ${id} from '${p}';`).join('\n')
    + `\nexport const core = { ${names.map(({ id }) => id).join(', ')} };\n`;
  const r = await build({
    stdin: { contents, resolveDir: import.meta.dirname, loader: 'js' },
    bundle: true, write: false, format: 'esm', platform, target: 'es2022', minify: true, metafile: true,
    conditions: ['source', ...conditions], logLevel: 'silent',
  });
  const code = r.outputFiles[0]!.text;
  return { code, metafile: r.metafile, minGzipBytes: gzipSync(code, { level: 9 }).length };
}
