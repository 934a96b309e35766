// The API reference: TypeDoc builds it from the core packages' doc comments (as `pnpm web` does),
// one module per package, with warnings as errors; the pages of the central API carry their comments.
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildApi } from '../build.js';

test('TypeDoc API reference of tensor, msrnn, policies, transformer', () => {
  const out = mkdtempSync(join(tmpdir(), 'msrnn-api-'));
  try {
    buildApi(out);
    const index = readFileSync(join(out, 'index.html'), 'utf8');
    for (const p of ['tensor', 'msrnn', 'policies', 'transformer']) assert.match(index, `@msrnn/${p}`);
    const page = (kind: string, name: string) => {
      const f = join(out, kind, `_msrnn_${name}.html`);
      assert.ok(existsSync(f), `${kind}/${name}`);
      return readFileSync(f, 'utf8');
    };
    assert.match(page('classes', 'msrnn.MultiState'), 'Deep copy, for branching');
    assert.match(page('functions', 'transformer.createState'), 'A fresh (empty) multi-state');
    page('functions', 'transformer.step');
    page('functions', 'policies.getPolicy');
    page('functions', 'tensor.selectBackend');
    page('functions', 'tensor.serveKernelWorker');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
