// Loads that fail part-way: an OS read error (EIO) names the file and what was being read, on
// Node's file source and in memory, for GGUF, llama2.c and Hugging Face files; a model whose
// converted weights outgrow the backend is refused before anything is allocated, counting what
// the loader will allocate (GPT-2 F16's Conv1D matrices become f32: twice their file bytes).
import fs, { readFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Allocations, createWasmBackend, encodeFloat16, jsBackend, type WeightMatrix } from '@msrnn/tensor';
import { loadModel, modelFromFiles, parseSafetensors, safetensorToFloat32 } from '../src/index.js';
import { writeSafetensors, type SafetensorWrite } from '../src/export/index.js';
import { hfPartsFromFiles } from '../src/hf/index.js';
import { ReadPlan } from '../src/read-plan.js';
import type { Weights } from '../src/weights.js';
import { haveShared, paths, shared } from './shared.js';

const gguf = resolve(shared, 'models/gguf/random256-Q4_0.gguf');
const gpt2 = resolve(paths.hfModels, 'gpt2-tiny');

/** Runs `body` while every fs.readSync starting at a file offset of `from` or more fails as a disk would (EIO). */
async function withEio<T>(from: number, body: () => Promise<T>): Promise<T> {
  const original = fs.readSync;
  fs.readSync = ((fd: number, buffer: NodeJS.ArrayBufferView, offset: number, length: number, position: number | null) => {
    if (typeof position === 'number' && position >= from) {
      throw Object.assign(new Error('EIO: i/o error, read'), { errno: -5, code: 'EIO', syscall: 'read' });
    }
    return original(fd, buffer, offset, length, position);
  }) as typeof fs.readSync;
  syncBuiltinESMExports(); // `import { readSync } from 'node:fs'` sees the replacement too
  try {
    return await body();
  } finally {
    fs.readSync = original;
    syncBuiltinESMExports();
  }
}

/** Bytes the loaded weights take: every distinct array (a tied classifier counted once; slices of one vector add up to it). */
function weightBytes(w: Weights): number {
  const seen = new Map<ArrayBufferLike, Set<string>>();
  let bytes = 0;
  const add = (v: ArrayBufferView | null, n = v?.byteLength ?? 0) => {
    if (!v) return;
    const key = `${v.byteOffset}:${n}`, inBuffer = seen.get(v.buffer) ?? new Set<string>();
    seen.set(v.buffer, inBuffer);
    if (!inBuffer.has(key)) { inBuffer.add(key); bytes += n; }
  };
  const matrix = (m: WeightMatrix) => {
    if (m.type === 'f32') add(m.data, m.rows * m.cols * 4);
    else if (m.type === 'ggml') add(m.data, m.rows * m.rowBytes);
    else throw new Error(`unexpected ${m.type} weights`);
  };
  matrix(w.tokenEmbedding); add(w.positionEmbedding); matrix(w.classifier.weight); add(w.classifier.bias);
  for (const nrm of [w.finalNorm, ...w.layers.flatMap((l) => [l.attnNorm, l.ffnNorm, l.postAttnNorm, l.postFfnNorm])]) { add(nrm?.weight ?? null); add(nrm?.bias ?? null); }
  for (const l of w.layers) {
    add(l.qNorm); add(l.kNorm);
    for (const lin of [l.q, l.k, l.v, l.o, l.gate, l.up, l.down]) if (lin) { matrix(lin.weight); add(lin.bias); }
  }
  return bytes;
}

/** gpt2-tiny with every tensor stored as F16, and what that file's tensors take on disk. */
function gpt2F16(): { files: Map<string, Uint8Array>; fileBytes: number } {
  const st = parseSafetensors(new Uint8Array(readFileSync(resolve(gpt2, 'model.safetensors'))));
  const tensors: Record<string, SafetensorWrite> = {};
  let fileBytes = 0;
  for (const t of st.tensors) {
    tensors[t.name] = { dtype: 'F16', shape: t.shape, bytes: new Uint8Array(encodeFloat16(safetensorToFloat32(t)).buffer) };
    fileBytes += 2 * t.elements;
  }
  return { files: new Map([['config.json', new Uint8Array(readFileSync(resolve(gpt2, 'config.json')))], ['model.safetensors', writeSafetensors(tensors)]]), fileBytes };
}

async function loadError(load: () => Promise<unknown>): Promise<string> {
  try { await load(); } catch (err) { return (err as Error).message; }
  return assert.unreachable('the load succeeded') as never;
}

if (haveShared('load errors', 'models/gguf/random256-Q4_0.gguf', 'models/stories260K.bin', 'models/hf/gpt2-tiny')) {
  test('an OS read error names the file and what was being read (GGUF header and tensor, llama2.c weights, safetensors tensor)', async () => {
    const header = await withEio(0, () => loadError(() => loadModel(gguf)));
    assert.match(header, /random256-Q4_0\.gguf: cannot read the file's first bytes \(bytes \[0, \d+\)\): EIO/);
    const tensor = await withEio(64 << 10, () => loadError(() => loadModel(gguf)));
    assert.match(tensor, /random256-Q4_0\.gguf: cannot read tensor [\w.]+ \(bytes \[\d+, \d+\)\): EIO \(EIO: i\/o error, read\)/);
    const llama2c = await withEio(1000, () => loadError(() => loadModel(paths.model)));
    assert.match(llama2c, /stories260K\.bin: cannot read (the token embedding|layer 0's [\w ]+) \(bytes \[\d+, \d+\)\): EIO/);
    const folder = await withEio(4096, () => loadError(() => loadModel(gpt2)));
    assert.match(folder, /gpt2-tiny\/model\.safetensors: cannot read tensor [\w.]+ \(bytes \[\d+, \d+\)\): EIO/);
  });

  test('Hugging Face folders: the room check is asked for exactly the bytes the loaded weights take (every family, and GPT-2 in F16)', async () => {
    const wasm = await createWasmBackend({ threads: 1 });
    try {
      const folders: [string, Map<string, Uint8Array>][] = ['llama-tiny', 'mistral-tiny', 'qwen2-tiny', 'qwen3-tiny', 'gpt2-tiny', 'phi3-tiny', 'gemma2-tiny'].map((name) => {
        const dir = resolve(paths.hfModels, name);
        const files = new Map(fs.readdirSync(dir).filter((f) => f !== 'tokenizer.json').map((f) => [f, new Uint8Array(readFileSync(resolve(dir, f)))]));
        return [name, files];
      });
      folders.push(['gpt2-tiny in F16', gpt2F16().files]);
      for (const [name, files] of folders) {
        let asked = -1;
        const allocations = new Allocations(wasm), plan = new ReadPlan();
        const parts = hfPartsFromFiles(files, allocations, plan, name, (bytes) => { asked = bytes; });
        plan.runSync();
        assert.is(asked, weightBytes(parts.weights), `${name}: room asked for vs the weights' bytes`);
        allocations.releaseAll();
      }
    } finally {
      await wasm.dispose();
    }
  });

  test('GPT-2 F16: a heap with room for its file bytes but not for the f32 its Conv1D matrices become is refused before allocating', async () => {
    const { files, fileBytes } = gpt2F16();
    const probe = new Allocations(jsBackend), plan = new ReadPlan();
    const needBytes = weightBytes(hfPartsFromFiles(files, probe, plan, 'probe').weights);
    assert.ok(needBytes > 1.5 * fileBytes, `f32 conversion: ${needBytes} vs ${fileBytes} file bytes`);
    // A fixed heap whose room lies between the file's bytes and what the weights take.
    const wasm = await createWasmBackend({ shared: false, initialBytes: Math.ceil((fileBytes + needBytes) / 2 / 65536) * 65536 + 65536 });
    try {
      const room = wasm.heap.roomBytes, used = wasm.heap.usedBytes;
      assert.ok(fileBytes < room && room < needBytes, `room ${room} between ${fileBytes} and ${needBytes}`);
      try {
        modelFromFiles(files, { backend: wasm, source: 'gpt2-f16' });
        assert.unreachable('loaded');
      } catch (err) {
        assert.match((err as Error).message, /^gpt2-f16: the model's weights need \d+ MiB but the wasm backend's memory has room for \d+ MiB/);
      }
      assert.is(wasm.heap.usedBytes, used, 'nothing was allocated');
    } finally {
      await wasm.dispose();
    }
    // With room for what it needs, the same folder loads.
    const roomy = await createWasmBackend({ shared: false, initialBytes: 16 << 20 });
    try {
      assert.is(modelFromFiles(files, { backend: roomy, source: 'gpt2-f16' }).config.vocabSize, 1024);
    } finally {
      await roomy.dispose();
    }
  });
}

test.run();
