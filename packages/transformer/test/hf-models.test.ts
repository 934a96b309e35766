// Hugging Face folders of every supported architecture (../shared/models/hf) against the HF
// fixtures' independent float64 reference: greedy token for token and logits within 1e-4, on js
// and wasm, with the folder's own tokenizer. mistral-tiny (window 16 on every layer, two shards)
// and gemma2-tiny (window 16 on layers 0 and 2) run past their windows, so the per-layer windows
// the state applies are checked here too.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, jsBackend, type Backend } from '@msrnn/tensor';
import { getPolicy, policyTable } from '@msrnn/policies';
import { argmax, createState, hfLayout, loadModel, loadModelFiles, modelFromFiles, prefill, readHfFolder, step, type ByteSource } from '../src/index.js';
import { loadAnyTokenizer } from '../src/tokenizers/index.js';
import { haveShared, maxAbsDiff, shared } from './shared.js';

const NAMES = ['llama-tiny', 'mistral-tiny', 'qwen2-tiny', 'qwen3-tiny', 'gpt2-tiny', 'phi3-tiny', 'gemma2-tiny', 'stories260K'];
const folder = (n: string) => resolve(shared, 'models/hf', n);
const fixture = (n: string) => resolve(shared, 'fixtures/hf', `${n}.json`);

interface Run { prompt: string; prompt_tokens: number[]; generated_tokens: number[]; logits: Record<string, number[]> }

if (haveShared('hf models', ...NAMES.map(folder), ...NAMES.map(fixture))) {
  const wasm = await createWasmBackend({ threads: 1 });
  test.after(async () => { await wasm.dispose(); });

  for (const name of NAMES) {
    const fx = JSON.parse(readFileSync(fixture(name), 'utf8')) as { runs: Run[] };
    test(`${name}: the folder's tokenizer encodes the prompts; greedy token for token and logits within 1e-4 on js and wasm`, async () => {
      const tokenizer = await loadAnyTokenizer(folder(name));
      for (const run of fx.runs) assert.equal(tokenizer.encode(run.prompt), run.prompt_tokens, `${name}: encoding of ${JSON.stringify(run.prompt)}`);
      for (const backend of [jsBackend, wasm] as Backend[]) {
        const model = await loadModel(folder(name), { backend });
        assert.match(model.format, /Hugging Face/);
        let worst = 0;
        for (const run of fx.runs) {
          const state = createState(model);
          let logits = prefill(model, state, run.prompt_tokens, { chunkSize: 5 });
          for (let s = 0; s < run.generated_tokens.length; s++) {
            const want = run.logits[String(s)];
            if (want) worst = Math.max(worst, maxAbsDiff(logits.subarray(0, want.length), want));
            assert.is(argmax(logits), run.generated_tokens[s], `${name} on ${backend.name}: ${JSON.stringify(run.prompt)} step ${s}`);
            logits = step(model, state, run.generated_tokens[s]!);
          }
        }
        assert.ok(worst < 1e-4, `${name} on ${backend.name}: max |logit diff| ${worst}`);
      }
    });
  }

  test('windowed layers keep the W − 1 entries the next query sees besides its own; global layers keep everything (gemma2-tiny: W = 16 on layers 0 and 2)', async () => {
    const model = await loadModel(folder('gemma2-tiny'));
    const state = createState(model);
    prefill(model, state, Array.from({ length: 40 }, (_, i) => 3 + (i % 50)));
    const kept = state.keptPositions();
    // Query i sees keys i − 16 < j ≤ i: after position 39, the next query (40) sees 25..40, its own entry still to come.
    assert.equal(kept[0], Array.from({ length: 15 }, (_, i) => 25 + i));
    assert.equal(kept[1]!.length, 40);
    assert.equal(kept[2], kept[0]);
  });

  test('every policy runs on every architecture (capacity 8, finite logits, the bound held)', async () => {
    for (const name of NAMES) {
      const model = await loadModel(folder(name));
      for (const entry of policyTable) {
        const opts = entry.unbounded ? {} : entry.needsRatio ? { ratio: 0.5 } : { capacity: 8 };
        let policy;
        try {
          policy = getPolicy(entry.name, opts);
          // StreamingLLM re-indexes positions, which learned absolute positions cannot do: a clear refusal.
          const state = createState(model, { policy });
          const logits = prefill(model, state, Array.from({ length: 24 }, (_, i) => 3 + i));
          for (const v of logits) assert.ok(Number.isFinite(v), `${name} × ${entry.name}: non-finite logit`);
          if (!entry.unbounded && !entry.needsRatio) for (const layer of state.layers) assert.ok(layer.maxCount <= 2 * 8, `${name} × ${entry.name}: ${layer.maxCount} entries`);
        } catch (e) {
          assert.ok(name === 'gpt2-tiny' && /learned absolute positions/.test((e as Error).message), `${name} × ${entry.name}: ${(e as Error).message}`);
        }
      }
    }
  });

  test('bad folders: an unknown model_type lists the supported ones; a missing or misshapen tensor is named', () => {
    const files = (cfg: object, extra: Record<string, Uint8Array> = {}) => ({ 'config.json': new TextEncoder().encode(JSON.stringify(cfg)), ...extra });
    assert.throws(() => modelFromFiles(files({ model_type: 'mamba', architectures: ['MambaForCausalLM'] })), /model_type "mamba".*not supported; supported: llama \(LlamaForCausalLM\).*gemma2/);
    assert.throws(() => hfLayout({ model_type: 'llama', hidden_size: 64 }, 'x/config.json'), /x\/config.json: missing "num_attention_heads"/);
    assert.throws(() => hfLayout({ model_type: 'llama', hidden_size: -1, num_attention_heads: 4, num_hidden_layers: 1, intermediate_size: 8, vocab_size: 8 }, 'c'), /"hidden_size" must be a positive integer, got -1/);
    assert.throws(() => hfLayout({ model_type: 'phi3', hidden_size: 64, num_attention_heads: 4, num_hidden_layers: 1, intermediate_size: 8, vocab_size: 8, rope_scaling: { type: 'longrope' } }, 'c'), /rope_scaling type "longrope" is not supported/);
    const dir = folder('qwen2-tiny');
    const cfg = JSON.parse(readFileSync(resolve(dir, 'config.json'), 'utf8'));
    const st = readFileSync(resolve(dir, 'model.safetensors'));
    assert.throws(() => modelFromFiles(files({ ...cfg, num_hidden_layers: 4 }, { 'model.safetensors': st })), /<folder>: tensor model\.layers\.3\.self_attn\.q_proj\.weight is missing/);
    assert.throws(() => modelFromFiles(files({ ...cfg, intermediate_size: 100 }, { 'model.safetensors': st })), /tensor model\.layers\.0\.mlp\.gate_proj\.weight has shape \[192, 64\], expected \[100, 64\]/);
    assert.throws(() => modelFromFiles(files({ ...cfg, num_hidden_layers: 2 }, { 'model.safetensors': st })), /tensors not used by this architecture: model\.layers\.2\./);
    assert.throws(() => modelFromFiles(files(cfg)), /no model\.safetensors/);
  });

  test('streamed (safetensors as byte sources), every architecture reads each weight byte once (fused q/k/v and gate/up too)', async () => {
    for (const name of NAMES) {
      const files = await readHfFolder(folder(name)), read = new Map<string, number>();
      const sources = new Map([...files].map(([file, bytes]): [string, Uint8Array | ByteSource] => {
        if (!file.endsWith('.safetensors')) return [file, bytes];
        const src: ByteSource = { name: file, size: bytes.length, read: async (o, into) => { read.set(file, (read.get(file) ?? 0) + into.length); into.set(bytes.subarray(o, o + into.length)); } };
        return [file, src];
      }));
      (await loadModelFiles(sources, { backend: wasm })).dispose();
      for (const [file, n] of read) {
        // The 8-byte header length is read twice (alone, then with the header); every other byte at most once.
        assert.ok(n <= files.get(file)!.length + 8, `${name}/${file}: read ${n} bytes of ${files.get(file)!.length}`);
      }
    }
  });

  test('gpt2: re-indexed positions are refused (learned absolute positions)', async () => {
    const model = await loadModel(folder('gpt2-tiny'));
    assert.throws(() => createState(model, { positionMode: 'reindex' }), /learned absolute positions/);
  });
}

test.run();
