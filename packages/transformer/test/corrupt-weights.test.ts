// A weight matrix whose file holds an Inf or NaN (a block's f16 scale d / m / dmin, or an F32,
// F16 or BF16 value) is refused at load, on both backends, with an error naming the file, the
// tensor, its type and the first bad block. Without the check the backends disagree: the js
// decoders give NaN logits, while the wasm kernels read an Inf/NaN f16 scale as a large finite
// number. Copies of the shared GGUF and Hugging Face fixtures are corrupted in a temporary folder.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Allocations, createWasmBackend, GGML, ggmlTypeInfo, jsBackend } from '@msrnn/tensor';
import { loadModel, modelFromBytes, parseGguf, parseSafetensors } from '../src/index.js';
import { bytesSource } from '../src/byte-source.js';
import { finiteTensorCheck } from '../src/finite-tensor.js';
import { ReadPlan } from '../src/read-plan.js';
import { streamedSource } from './fuzz.js';
import { haveShared, jsAndWasm, paths, shared } from './shared.js';

/** f16 / bf16 / f32 bit patterns of +Inf and a NaN. */
const INF = { half: 0x7c00, bf16: 0x7f80, f32: 0x7f800000 };
const NAN = { half: 0xfe00, bf16: 0xffc0, f32: 0xffc00000 };

/** Scales per block type: byte offset and ggml's field name (ggml-common.h). */
const SCALES: Record<string, [number, string][]> = {
  Q4_0: [[0, 'd']], Q5_0: [[0, 'd']], Q8_0: [[0, 'd']], Q4_1: [[0, 'd'], [2, 'm']], Q5_1: [[0, 'd'], [2, 'm']],
  Q4_K: [[0, 'd'], [2, 'dmin']], Q5_K: [[0, 'd'], [2, 'dmin']], Q6_K: [[208, 'd']],
};

/** Writes `bits` as the float (f16 / bf16: 2 bytes; f32: 4) at bytes[at]. */
function put(bytes: Uint8Array, at: number, bits: number, size: 2 | 4): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (size === 4) dv.setUint32(at, bits >>> 0, true); else dv.setUint16(at, bits, true);
}

const ggufTypes = ['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q4_K', 'Q5_K', 'Q6_K', 'F16', 'BF16', 'F32'];
const gguf = (type: string) => resolve(shared, 'models/gguf', `random256-${type}.gguf`);
const hf = ['qwen2-tiny', 'llama-tiny', 'phi3-tiny', 'gpt2-tiny'];

test('a bad scale past the first checked piece of a large tensor is named by its place in the tensor (js and wasm memory, read or in memory)', async () => {
  const [rows, cols] = [3000, 1024], { blockBytes } = ggmlTypeInfo(GGML.Q8_0), rowBytes = (cols / 32) * blockBytes;
  const bytes = new Uint8Array(rows * rowBytes); // zero scales and quants: finite
  const k = 2 * 32 * 1000 + 5; // row 2000, block 5: past the first MiB
  put(bytes, k * blockBytes, NAN.half, 2);
  const expected = 'big.gguf: tensor w (Q8_0) block 64005 (row 2000, columns 160–191) has scale d = NaN — the file is corrupt';
  const wasm = await createWasmBackend({ threads: 1 });
  try {
    for (const mem of [new Allocations(jsBackend), new Allocations(wasm)]) {
      for (const source of [streamedSource(bytes, 'big.gguf'), bytesSource(bytes, 'big.gguf')]) {
        // A tensor placed from row 100 on: the block is named within the whole tensor.
        const plan = new ReadPlan(), row0 = 100;
        plan.place(source, row0 * rowBytes, (rows - row0) * rowBytes, 'tensor w', mem.allocU8?.bind(mem), 1,
          finiteTensorCheck(mem, 'big.gguf', 'w', GGML.Q8_0, cols, row0));
        try { await plan.run(); assert.unreachable('the bad scale was not found'); } catch (e) { assert.is((e as Error).message, expected); }
      }
      mem.releaseAll();
    }
  } finally { await wasm.dispose(); }
});

if (haveShared('corrupt weights', ...ggufTypes.map(gguf), ...hf.map((m) => resolve(paths.hfModels, m)))) {
  const backends = await jsAndWasm();
  const dir = mkdtempSync(join(tmpdir(), 'msrnn-corrupt-'));
  test.after(() => rmSync(dir, { recursive: true, force: true }));

  /** The load error's message (the load must fail). */
  async function loadError(load: () => unknown): Promise<string> {
    try { await load(); } catch (err) { return (err as Error).message; }
    return assert.unreachable('the corrupt file loaded') as never;
  }

  ggufTypes.forEach((type, i) => {
    const scales = SCALES[type];
    // Alternate Inf and NaN, and the second scale field where the type has one (m, dmin).
    const nan = i % 2 === 1, [fieldAt, field] = scales ? scales[scales.length - 1]! : [0, 'value'];
    test(`GGUF ${type}: ${field} = ${nan ? 'NaN' : 'Infinity'} in blk.1.ffn_up.weight is a load error naming file, tensor, type and block`, async () => {
      const bytes = new Uint8Array(readFileSync(gguf(type)));
      const t = parseGguf(bytes).tensors.find((x) => x.name === 'blk.1.ffn_up.weight')!;
      assert.is(t.type.name, type);
      const [cols] = t.dims as [number, number];
      const k = 37; // the bad block (value)
      const { blockSize, blockBytes } = t.type;
      const size = type === 'F32' ? 4 : 2, kind = type === 'F32' ? 'f32' : type === 'BF16' ? 'bf16' : 'half';
      put(bytes, t.fileOffset + k * blockBytes + fieldAt, (nan ? NAN : INF)[kind], size);
      put(bytes, t.fileOffset + (k + 3) * blockBytes + fieldAt, INF[kind], size); // a later one: the first is named
      const path = join(dir, `corrupt-${type}.gguf`);
      writeFileSync(path, bytes);
      const perRow = cols / blockSize, row = Math.floor(k / perRow), col = (k % perRow) * blockSize;
      const where = blockSize === 1
        ? `value ${k} (row ${row}, column ${col}) is ${nan ? 'NaN' : 'Infinity'}`
        : `block ${k} (row ${row}, columns ${col}–${col + blockSize - 1}) has scale ${field} = ${nan ? 'NaN' : 'Infinity'}`;
      const expected = `${path}: tensor blk.1.ffn_up.weight (${type}) ${where} — the file is corrupt`;
      for (const [name, backend] of backends) {
        assert.is(await loadError(() => loadModel(path, { backend })), expected, `${name}, from the file`);
        // In memory: js uses views of the bytes (nothing is read), wasm copies them into its heap.
        assert.is(await loadError(() => modelFromBytes(bytes, { backend, source: path })), expected, `${name}, from bytes`);
      }
    });
  });

  // F32 matrices (qwen2), BF16 (llama), F16 rows of fused tensors (phi3: k rows of qkv_proj), GPT-2's transposed Conv1D.
  const hfCases: [model: string, tensor: string, rowOffset: number][] = [
    ['qwen2-tiny', 'model.layers.1.mlp.up_proj.weight', 0],
    ['llama-tiny', 'model.layers.0.self_attn.o_proj.weight', 0],
    ['phi3-tiny', 'model.layers.0.self_attn.qkv_proj.weight', -1], // -1: the first row of k
    ['gpt2-tiny', 'transformer.h.0.mlp.c_fc.weight', 0],
  ];
  for (const [model, tensor, rowOffset] of hfCases) {
    test(`Hugging Face ${model}: a NaN in ${tensor} is a load error naming file, tensor, dtype and value`, async () => {
      const folder = join(dir, model);
      cpSync(resolve(paths.hfModels, model), folder, { recursive: true });
      const file = join(folder, 'model.safetensors');
      const bytes = new Uint8Array(readFileSync(file));
      const t = parseSafetensors(bytes).tensors.find((x) => x.name === tensor)!;
      const [rows, cols] = t.shape as [number, number];
      const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
      const row = rowOffset === -1 ? config.hidden_size + 1 : Math.floor(rows / 2), col = 3;
      const size = t.dtype === 'F32' ? 4 : 2, kind = t.dtype === 'F32' ? 'f32' : t.dtype === 'BF16' ? 'bf16' : 'half';
      put(bytes, t.fileOffset + (row * cols + col) * size, NAN[kind], size);
      writeFileSync(file, bytes);
      for (const [name, backend] of backends) {
        const message = await loadError(() => loadModel(folder, { backend }));
        assert.ok(message.includes(`tensor ${tensor} (${t.dtype}) value ${row * cols + col} (row ${row}, column ${col}) is NaN — the file is corrupt`), `${name}: ${message}`);
        assert.ok(message.includes(folder), `${name}: names the folder: ${message}`);
      }
    });
  }
}

test.run();
