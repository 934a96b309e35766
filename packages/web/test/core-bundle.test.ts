// The core packages bundle for the browser with no shims and no externals: esbuild's browser
// platform resolves the "#read-file" / "#thread-host" imports to their web variants, and nothing
// from node: gets in. Also the size a page pays for the whole core (README: min+gzip).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bundleCore } from '../core-bundle.js';

test('browser bundle of tensor+msrnn+policies+transformer: no node: import, web hosts, < 105 kB min+gzip', async () => {
  const { code, metafile, minGzipBytes } = await bundleCore('browser');
  const inputs = Object.keys(metafile.inputs);
  assert.ok(inputs.length > 30, `bundled ${inputs.length} files`);
  const nodeInputs = inputs.filter((f) => f.startsWith('node:') || /host-node|read-file-node|interop/.test(f));
  assert.equal(nodeInputs, [], 'node-only modules in the browser bundle');
  assert.ok(inputs.some((f) => f.endsWith('threads/host-web.ts')), 'the Web Worker host is bundled');
  assert.ok(inputs.some((f) => f.endsWith('read-file-web.ts')), 'the web file reader is bundled');
  const imports = Object.values(metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
  assert.equal(imports, [], 'the bundle imports nothing from outside');
  assert.not.match(code, /["']node:/, 'no node: specifier survives in the code');
  assert.not.match(code, /ndarray/, 'ndarray stays out of the core');
  console.log(`core browser bundle: ${(code.length / 1024).toFixed(1)} kB minified, ${(minGzipBytes / 1024).toFixed(1)} kB min+gzip`);
  assert.ok(minGzipBytes < 105 * 1024, `min+gzip ${minGzipBytes} bytes`);
});

test('the node bundle of the same core takes the Node hosts (worker_threads, node:fs)', async () => {
  const { metafile } = await bundleCore('node');
  const inputs = Object.keys(metafile.inputs);
  assert.ok(inputs.some((f) => f.endsWith('threads/host-node.ts')));
  assert.ok(inputs.some((f) => f.endsWith('read-file-node.ts')));
});

test.run();
