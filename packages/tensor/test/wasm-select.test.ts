// Backend choice: automatic and explicit selection, argument parsing, and the SIMD probe's
// answer when a runtime's WebAssembly cannot validate SIMD.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsBackend } from '../src/js-backend.js';
import { selectBackend, checkBackendChoice } from '../src/wasm/select.js';
import { checkThreads } from '../src/wasm/backend.js';
import { probeWasmSimd } from '../src/wasm/support.js';

test('auto picks wasm here; explicit js and wasm are honoured', async () => {
  const auto = await selectBackend();
  assert.is(auto.backend.name, 'wasm');
  assert.is(auto.note, undefined);
  const js = await selectBackend({ backend: 'js' });
  assert.is(js.backend, jsBackend);
  const two = await selectBackend({ backend: 'wasm', threads: 2 });
  assert.is(two.threads, 2);
  await two.dispose();
  await auto.dispose();
});

test('bad choices fail with a clear message', async () => {
  assert.throws(() => checkBackendChoice('gpu'), /^backend must be one of js, wasm, auto, got "gpu"$/);
  assert.throws(() => checkThreads(0), /^threads must be an integer from 1 to 64, got 0$/);
  assert.throws(() => checkThreads(1.5), /threads/);
  // A string is not a thread count, even "3": the library takes typed values (flags are the CLI's job).
  assert.throws(() => checkThreads('3'), /got "3"/);
  assert.is(checkThreads(3), 3);
  for (const bad of [{ backend: 'gpu' }, { threads: 0 }, { threads: '2' }] as const) {
    let message = '';
    try { await selectBackend(bad as never); } catch (e) { message = (e as Error).message; }
    assert.match(message, /^(backend|threads) must be/, JSON.stringify(bad));
  }
  let err = '';
  try { await selectBackend({ backend: 'js', threads: 2 }); } catch (e) { err = (e as Error).message; }
  assert.match(err, /threads 2 needs the wasm backend/);
});

test('the SIMD probe reports why a runtime cannot use the wasm backend', () => {
  assert.is(probeWasmSimd(WebAssembly), null);
  assert.match(probeWasmSimd(undefined)!, /WebAssembly is not available/);
  const noSimd = { validate: () => false, Module: WebAssembly.Module } as unknown as typeof WebAssembly;
  assert.match(probeWasmSimd(noSimd)!, /lacks SIMD128/);
  const noCompile = { validate: () => true, Module: function () { throw new Error('Wasm code generation disallowed by embedder'); } } as unknown as typeof WebAssembly;
  assert.match(probeWasmSimd(noCompile)!, /compiling WebAssembly from bytes is not allowed here: Wasm code generation disallowed/);
});

test('without SharedArrayBuffer (no cross-origin isolation): auto runs 1 thread with a note, explicit wasm threads error', async () => {
  const saved = globalThis.SharedArrayBuffer;
  // Hide it as a non-isolated browser page would (restored below).
  (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer = undefined;
  try {
    const auto = await selectBackend({ backend: 'auto', threads: 2 });
    assert.is(auto.backend.name, 'wasm');
    assert.is(auto.threads, 1);
    assert.match(auto.note!, /^using 1 thread: SharedArrayBuffer is unavailable \(browsers need cross-origin isolation/);
    let err = '';
    try { await selectBackend({ backend: 'wasm', threads: 2 }); } catch (e) { err = (e as Error).message; }
    assert.match(err, /threads 2 are unavailable: SharedArrayBuffer is unavailable/);
  } finally {
    globalThis.SharedArrayBuffer = saved;
  }
});

test('a runtime without WebAssembly (node --no-expose-wasm): auto falls back with one line, explicit wasm errors', () => {
  const script = fileURLToPath(new URL('./fixtures/wasm-select-no-wasm.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--no-expose-wasm', '--conditions=source', '--import', 'tsx', script],
    { encoding: 'utf8', timeout: 30_000 });
  assert.is(r.status, 0, r.stderr);
  const [autoLine, wasmLine] = r.stdout.trim().split('\n');
  assert.match(autoLine!, /^auto -> js; note: using the pure-TS backend: WebAssembly is not available in this runtime$/);
  assert.match(wasmLine!, /^wasm -> error: the wasm backend is unavailable: WebAssembly is not available in this runtime$/);
});

test.run();
