// The kernel module names its functions (the standard "name" custom section), so CPU profiles and
// stack traces show `matvec` instead of `wasm-function[5]`. Checked three ways: the section decoded
// here byte by byte against the module's exports, a trap's stack trace, and a profile taken with
// node:inspector's Profiler while a kernel runs.
import { Session } from 'node:inspector/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildKernelModule } from '../src/wasm/kernels.js';
import { ModuleBuilder, ValType } from '../src/wasm/emitter.js';
import { createWasmBackend } from '../src/wasm/backend.js';

/** Reads an unsigned LEB128 at bytes[at.i], advancing at.i (written here, not the emitter's, to check it). */
function readUleb(bytes: Uint8Array, at: { i: number }): number {
  let value = 0, shift = 0, byte: number;
  do { byte = bytes[at.i++]!; value += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80);
  return value;
}

/** The function-names subsection (id 1) of a "name" section's payload: index → name. */
function functionNames(payload: Uint8Array): Map<number, string> {
  const at = { i: 0 }, names = new Map<number, string>();
  while (at.i < payload.length) {
    const id = payload[at.i++]!, size = readUleb(payload, at), end = at.i + size;
    if (id === 1) {
      for (let n = readUleb(payload, at); n > 0; n--) {
        const index = readUleb(payload, at), length = readUleb(payload, at);
        names.set(index, new TextDecoder('utf-8', { fatal: true }).decode(payload.subarray(at.i, at.i + length)));
        at.i += length;
      }
    }
    at.i = end;
  }
  return names;
}

test('the kernel module has one "name" section naming every function as it is exported', () => {
  const module = new WebAssembly.Module(buildKernelModule({ initialPages: 1, shared: false }));
  const sections = WebAssembly.Module.customSections(module, 'name');
  assert.is(sections.length, 1);
  const names = functionNames(new Uint8Array(sections[0]!));
  const exports = WebAssembly.Module.exports(module).filter((e) => e.kind === 'function');
  assert.ok(exports.length > 50, `${exports.length} exported kernels`);
  assert.is(names.size, exports.length);
  // The emitter exports function i under its name, in order.
  exports.forEach((e, i) => assert.is(names.get(i), e.name, `function ${i}`));
  assert.ok([...names.values()].includes('matvecQ5_0Rows4'));
});

test('a trap\'s stack trace names the kernel', () => {
  const m = new ModuleBuilder({ module: 'env', name: 'memory', initialPages: 1 });
  m.function('outOfBoundsRead', [ValType.i32]).i32(1 << 20).mem(0x28).op(0x1a); // i32.load at 1 MiB, drop
  const memory = new WebAssembly.Memory({ initial: 1 });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(m.encode()), { env: { memory } });
  let stack = '';
  try { (instance.exports.outOfBoundsRead as (x: number) => void)(0); } catch (err) { stack = (err as Error).stack ?? ''; }
  assert.match(stack, /RuntimeError: memory access out of bounds/);
  assert.match(stack, /at outOfBoundsRead \(wasm:/);
});

test('a CPU profile (node:inspector Profiler) names the kernel that ran', async () => {
  const wasm = await createWasmBackend({ initialBytes: 8 << 20 });
  const rows = 512, cols = 1024;
  const w = wasm.alloc(rows * cols).fill(0.5), x = wasm.alloc(cols).fill(1), out = wasm.alloc(rows);
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    const t0 = performance.now();
    while (performance.now() - t0 < 200) wasm.matvec(out, 0, w, 0, x, 0, rows, cols);
    const { profile } = await session.post('Profiler.stop');
    assert.is(out[0], 512);
    const wasmFrames = profile.nodes.map((n) => n.callFrame).filter((f) => f.url.startsWith('wasm://'));
    const hits = new Map(profile.nodes.map((n) => [n.callFrame.functionName, 0]));
    for (const n of profile.nodes) hits.set(n.callFrame.functionName, hits.get(n.callFrame.functionName)! + (n.hitCount ?? 0));
    assert.ok((hits.get('matvec') ?? 0) > 10, `samples in matvec: ${hits.get('matvec')}`);
    assert.equal(wasmFrames.filter((f) => /^wasm-function\[/.test(f.functionName)), [], 'unnamed wasm functions');
  } finally {
    session.disconnect();
    await wasm.dispose();
  }
});

test.run();
