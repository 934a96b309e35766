// Writing models (src/export) against independent references:
// - the ggml-written GGUF files of stories260K (../shared/models/gguf): converting the llama2.c
//   checkpoint with its tok512.bin gives ggml's tensors byte for byte (F32, F16, Q8_0, Q4_0, with
//   ggml's F16 fallback for ffn_down) and ggml's tokenizer.ggml.* values exactly;
// - the HF fixtures' float64 reference: every architecture written as GGUF and as a Hugging Face
//   folder, loaded back, still matches it (greedy token for token, logits within 1e-4), so the
//   layouts (rope pairs, fused tensors, gemma2's norms, windows) are the ones the readers expect;
// - the source model itself: a GGUF carrying the converted llama2.c tokenizer generates the same
//   greedy text alone as the checkpoint + tokenizer.bin.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  argmax, createState, generate, loadModel, loadTokenizer, modelFromBytes, modelFromFiles, parseGguf, prefill, step,
  type GeneratedPiece, type Model, type Tokenizer,
} from '../src/index.js';
import { embeddedTokenizer, loadAnyTokenizer } from '../src/tokenizers/index.js';
import {
  compareLogits, modelToGguf, modelToHfFiles, modelToLlama2c, tokenizerGgufMetadata, tokenizerHfFiles, verificationTokens,
} from '../src/export/index.js';
import { haveShared, maxAbsDiff, paths, shared } from './shared.js';

const ggml = (name: string) => resolve(shared, 'models/gguf', `${name}.gguf`);
const HF = ['llama-tiny', 'mistral-tiny', 'qwen2-tiny', 'qwen3-tiny', 'gpt2-tiny', 'phi3-tiny', 'gemma2-tiny'];
const hfFolder = (n: string) => resolve(shared, 'models/hf', n);
const hfFixture = (n: string) => resolve(shared, 'fixtures/hf', `${n}.json`);

async function rejects(p: Promise<unknown>, message: RegExp): Promise<void> {
  try { await p; } catch (err) { assert.match((err as Error).message, message); return; }
  assert.unreachable(`expected an error matching ${message}`);
}

interface Run { prompt_tokens: number[]; generated_tokens: number[]; logits: Record<string, number[]> }

/** Greedy continuation and logits of `model` against a fixture's runs; returns the worst |logit diff|. */
function checkRuns(model: Model, runs: Run[], what: string): number {
  let worst = 0;
  for (const run of runs) {
    const state = createState(model);
    let logits = prefill(model, state, run.prompt_tokens);
    for (let s = 0; s < run.generated_tokens.length; s++) {
      const want = run.logits[String(s)];
      if (want) worst = Math.max(worst, maxAbsDiff(logits.subarray(0, want.length), want));
      assert.is(argmax(logits), run.generated_tokens[s], `${what}: step ${s}`);
      logits = step(model, state, run.generated_tokens[s]!);
    }
  }
  return worst;
}

if (haveShared('export: ggml files', paths.model, paths.tokenizer, ...['F32', 'F16', 'Q8_0', 'Q4_0'].map((t) => ggml(`stories260K-${t}`)))) {
  for (const type of ['F32', 'F16', 'Q8_0', 'Q4_0']) {
    test(`stories260K.bin → GGUF ${type}: every tensor equals ggml's own file byte for byte (names, dims, types, data)`, async () => {
      const model = await loadModel(paths.model);
      const ours = parseGguf(modelToGguf(model, { type }).bytes, 'ours');
      const theirs = parseGguf(new Uint8Array(readFileSync(ggml(`stories260K-${type}`))), 'ggml');
      assert.equal(ours.tensors.map((t) => t.name).sort(), theirs.tensors.map((t) => t.name).sort());
      for (const t of theirs.tensors) {
        const o = ours.tensorsByName.get(t.name)!;
        assert.equal([o.type.name, ...o.dims], [t.type.name, ...t.dims], t.name);
        assert.ok(o.data.every((b, i) => b === t.data[i]), `${t.name}: bytes differ`);
      }
      assert.is(ours.metadata.integer('general.file_type'), theirs.metadata.integer('general.file_type'));
    });
  }

  test('tok512.bin → tokenizer.ggml.*: the tokens, scores, types and special ids ggml\'s converter wrote', async () => {
    const made = tokenizerGgufMetadata(await loadTokenizer(paths.tokenizer));
    assert.ok(made.ok, made.ok ? '' : made.reason);
    const ours = new Map(made.value.map(([k, , v]) => [k, v]));
    const theirs = parseGguf(new Uint8Array(readFileSync(ggml('stories260K-F32'))), 'ggml').metadata;
    const values = (v: unknown) => Array.from((v as { values: ArrayLike<unknown> }).values);
    for (const key of ['tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type']) assert.equal(values(ours.get(key)), values(theirs.get(key)!.value), key);
    for (const key of ['tokenizer.ggml.model', 'tokenizer.ggml.bos_token_id', 'tokenizer.ggml.eos_token_id', 'tokenizer.ggml.unknown_token_id', 'tokenizer.ggml.add_bos_token']) {
      assert.is(ours.get(key), theirs.get(key)!.value, key);
    }
  });

  test('a GGUF with the converted tokenizer generates alone what the checkpoint + tokenizer.bin generate (greedy tokens and text)', async () => {
    const model = await loadModel(paths.model);
    const tokenizer = await loadTokenizer(paths.tokenizer);
    const made = tokenizerGgufMetadata(tokenizer);
    assert.ok(made.ok);
    const gguf = modelFromBytes(modelToGguf(model, { type: 'F32', tokenizer: made.value }).bytes, { source: 'gguf' });
    const alone = embeddedTokenizer(gguf)!;
    for (const prompt of ['Once upon a time', 'The little girl saw a big', 'Tom and his dog']) {
      const run = async (m: Model, t: Tokenizer) => {
        const pieces: GeneratedPiece[] = [];
        for await (const p of generate(m, t, createState(m), t.encode(prompt), { maxNewTokens: 40, temperature: 0, stopAtEnd: false })) pieces.push(p);
        return { tokens: pieces.map((p) => p.token), text: t.decode([...t.encode(prompt), ...pieces.map((p) => p.token)], { skipSpecial: true }), streamed: pieces.map((p) => p.text).join('') };
      };
      assert.equal(alone.encode(prompt), tokenizer.encode(prompt), prompt);
      const [a, b] = [await run(gguf, alone), await run(model, tokenizer)];
      assert.equal(a, b, prompt);
      assert.ok(a.text.startsWith(prompt) && a.text.length > prompt.length + 40, a.text);
    }
  });

  test('llama2.c → llama2.c v1 and → a Hugging Face folder (with tokenizer.json) and back: the same logits', async () => {
    const model = await loadModel(paths.model);
    const tokens = verificationTokens(model);
    assert.is(compareLogits(model, modelFromBytes(modelToLlama2c(model)), tokens).maxAbsDiff, 0);
    const files = modelToHfFiles(model);
    const tok = tokenizerHfFiles(await loadTokenizer(paths.tokenizer));
    assert.ok(tok.ok);
    for (const [k, v] of tok.value) files.set(k, v);
    const back = modelFromFiles(files, { source: 'folder' });
    assert.match(back.format, /Hugging Face llama/);
    assert.is(compareLogits(model, back, tokens).maxAbsDiff, 0);
  });
}

if (haveShared('export: hf models', ...HF.map(hfFolder), ...HF.map(hfFixture))) {
  for (const name of HF) {
    test(`${name} → GGUF F32 and → Hugging Face folder F32, loaded back: the HF fixture's greedy tokens and logits within 1e-4`, async () => {
      const source = await loadModel(hfFolder(name));
      const runs = (JSON.parse(readFileSync(hfFixture(name), 'utf8')) as { runs: Run[] }).runs;
      const gguf = modelFromBytes(modelToGguf(source).bytes, { source: `${name}.gguf` });
      assert.match(gguf.format, /^GGUF v3/);
      assert.ok(checkRuns(gguf, runs, `${name} as GGUF`) < 1e-4);
      const folder = modelFromFiles(modelToHfFiles(source), { source: `${name} folder` });
      assert.ok(checkRuns(folder, runs, `${name} as a folder`) < 1e-4);
      // A quantized file holds exactly the source rounded to its type.
      const q8 = modelFromBytes(modelToGguf(source, { type: 'Q8_0' }).bytes, { source: 'q8' });
      const rounded = modelFromBytes(modelToGguf(source, { type: 'Q8_0', roundedF32: true }).bytes, { source: 'rounded' });
      const c = compareLogits(rounded, q8, verificationTokens(source));
      assert.ok(c.maxAbsDiff < 1e-4 * Math.max(1, c.maxAbsLogit), `${name} Q8_0 vs the rounded source: ${c.maxAbsDiff}`);
    });
  }

  test('each folder\'s tokenizer written as tokenizer.json encodes like the source; as GGUF metadata where GGUF can hold it', async () => {
    const written: string[] = [];
    for (const name of HF) {
      const tok = await loadAnyTokenizer(hfFolder(name));
      assert.ok(tokenizerHfFiles(tok).ok, name);
      const g = tokenizerGgufMetadata(tok);
      if (g.ok) written.push(name);
      else assert.match(g.reason, /encode differently/, name); // mistral's Metaspace: leading spaces differ from GGUF llama's
    }
    assert.equal(written, ['llama-tiny', 'qwen2-tiny', 'qwen3-tiny', 'gpt2-tiny', 'phi3-tiny', 'gemma2-tiny']);
  });

  test('a Mistral GGUF without a window (as llama.cpp writes it) matches the reference only with slidingWindow given', async () => {
    const runs = (JSON.parse(readFileSync(hfFixture('mistral-tiny'), 'utf8')) as { runs: Run[] }).runs;
    const unwindowed = await loadModel(hfFolder('mistral-tiny'), { slidingWindow: null });
    const bytes = modelToGguf(unwindowed).bytes;
    assert.not.ok(parseGguf(bytes, 'm').metadata.has('llama.attention.sliding_window'));
    // Without the window the runs, longer than 16 tokens, leave the reference.
    let left = false;
    try { checkRuns(modelFromBytes(bytes, { source: 'no window' }), runs, 'no window'); } catch { left = true; }
    assert.ok(left, 'without its window the model should leave the reference');
    assert.ok(checkRuns(modelFromBytes(bytes, { source: 'window 16', slidingWindow: 16 }), runs, 'window 16') < 1e-4);
    // gemma2: the override changes W on its windowed (even) layers only.
    const gemma = await loadModel(hfFolder('gemma2-tiny'), { slidingWindow: 4 });
    assert.equal(gemma.config.arch.slidingWindow, [4, Infinity, 4, Infinity].slice(0, gemma.config.nLayers));
    await rejects(loadModel(hfFolder('gemma2-tiny'), { slidingWindow: 0 }), /slidingWindow must be a positive integer or null, got 0/);
    await rejects(loadModel(hfFolder('gpt2-tiny'), { slidingWindow: 8 }), /a sliding window needs RoPE positions/);
    await rejects(loadModel(resolve(shared, 'fixtures')), /a folder with no model this package recognises: expected config\.json \(Hugging Face: config\.json \+ model\.safetensors\), model\.gguf or model\.bin/);
  });

  test('mistral as GGUF keeps its window (llama.attention.sliding_window); features a target cannot hold are clear errors', async () => {
    const mistral = await loadModel(hfFolder('mistral-tiny'));
    const file = parseGguf(modelToGguf(mistral).bytes, 'm');
    assert.is(file.metadata.string('general.architecture'), 'llama');
    assert.is(file.metadata.integer('llama.attention.sliding_window'), 16);
    assert.throws(() => modelToLlama2c(mistral), /a mistral model cannot be written as a llama2\.c checkpoint/);
    const llama3 = await loadModel(hfFolder('llama-tiny'));
    assert.throws(() => modelToLlama2c(llama3), /RoPE other than theta 10000 without scaling cannot be written as a llama2\.c checkpoint/);
    assert.throws(() => modelToGguf(llama3, { type: 'Q4_K' }), /GGUF type "Q4_K" cannot be written \(writable: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1\)/);
    assert.throws(() => modelToHfFiles(llama3, { dtype: 'Q8_0' }), /safetensors dtype "Q8_0" cannot be written \(writable: F32, F16, BF16\)/);
    // GGUF rope_freqs factors have no config.json form.
    const fromGguf = modelFromBytes(modelToGguf(llama3).bytes, { source: 'llama3.gguf' });
    assert.throws(() => modelToHfFiles(fromGguf), /per-pair rope factors \(GGUF rope_freqs\) cannot be written in config\.json/);
  });
}

test.run();
