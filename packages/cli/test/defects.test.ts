// The defects a hostile test of the CLI found (issue 14), each with its test: NaN is an error
// naming chunk and position, long traces report progress and stay drawable, and the rest below.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { argmax, createState, loadModel, loadTokenizer, tokenizerFromBytes } from '@msrnn/transformer';
import { stateBytes } from '@msrnn/msrnn';
import { getPolicy } from '@msrnn/policies';
import { recordTrace, summarize, type Trace } from '../src/trace/record.js';
import { traceSvg, MAX_COLUMNS } from '../src/trace/svg.js';
import { haveShared, sharedPath } from '../../../scripts/shared-data.js';
import { msrnn } from './run-cli.js';

const modelPath = sharedPath('models/stories260K.bin');
const tokPath = sharedPath('models/tok512.bin');
const textPath = sharedPath('text/austen_4_pride_and_prejudice.txt');
const tmp = mkdtempSync(join(tmpdir(), 'msrnn-defects-'));

/** stories260K (llama2.c v0) with its final RMSNorm weights set to 3e38: every logit overflows. */
function overflowingModel(): string {
  const bytes = new Uint8Array(readFileSync(modelPath));
  const dv = new DataView(bytes.buffer);
  const [dim, hidden, layers, heads, kvHeads, vocab] = [0, 1, 2, 3, 4, 5].map((i) => dv.getInt32(4 * i, true)) as [number, number, number, number, number, number];
  const kvDim = (dim / heads) * kvHeads;
  const perLayer = 2 * dim + 2 * dim * dim + 2 * kvDim * dim + 3 * hidden * dim;
  const finalNorm = 28 + 4 * (Math.abs(vocab) * dim + layers * perLayer);
  for (let i = 0; i < dim; i++) dv.setFloat32(finalNorm + 4 * i, 3e38, true);
  const path = join(tmp, 'overflow.bin');
  writeFileSync(path, bytes);
  return path;
}

/** The summary as first written: every (step, position) pair visited (the reference for the fast one). */
function bruteShares(trace: Trace, l: number): { mean: number; final: number } {
  const n = trace.tokens.length, k = trace.capacity ?? n;
  let sum = 0, steps = 0, final = 0;
  for (let h = 0; h < trace.nKvHeads; h++) {
    const ev = trace.evictedAt[l]![h]!;
    for (let t = Math.min(k, n - 1); t < n; t++) {
      let kept = 0, recent = 0;
      for (let p = 0; p <= t; p++) {
        const e = ev[p]!;
        if (e >= 0 && e <= t) continue;
        kept++;
        if (p > t - k) recent++;
      }
      const share = kept > 0 ? recent / kept : 0;
      sum += share;
      steps++;
      if (t === n - 1) final += share / trace.nKvHeads;
    }
  }
  return { mean: sum / steps, final };
}

/** A synthetic trace of n tokens under window k (entry p leaves at step p + k), 2 layers × 2 heads. */
function windowTrace(n: number, k: number): Trace {
  const head = Array.from({ length: n }, (_, p) => (p + k < n ? p + k : -1));
  return {
    policy: 'window', describe: '', capacity: k, tokens: new Array(n).fill(5), nLayers: 2, nKvHeads: 2,
    evictedAt: [[head, head], [head, head]],
    firstTokenAttention: [{ mean: 0, uniform: 0, steps: 0 }, { mean: 0, uniform: 0, steps: 0 }],
  };
}

if (haveShared('cli defects', modelPath, tokPath, textPath)) {
  test('1. NaN is an error: ppl and trace on a model whose logits overflow stop, naming chunk and position', async () => {
    const bad = overflowingModel();
    const ppl = await msrnn('ppl', '--model', bad, '--tokenizer', tokPath, '--text', textPath, '--chunk', '32', '--chunks', '2', '--policies', 'full', '--threads', '1', '--no-progress');
    assert.is(ppl.status, 1, ppl.stderr);
    assert.match(ppl.stderr, /^msrnn: the NLL is NaN at chunk 0, position 0 \(policy full\): the model produced non-finite logits/m);
    assert.not.match(ppl.stdout, /NaN/);
    const threaded = await msrnn('ppl', '--model', bad, '--tokenizer', tokPath, '--text', textPath, '--chunk', '32', '--chunks', '2', '--policies', 'window', '--capacities', '8', '--threads', '2', '--no-progress');
    assert.is(threaded.status, 1);
    assert.match(threaded.stderr, /the NLL is NaN at chunk \d, position 0 \(policy window at capacity 8\)/);
    const trace = await msrnn('trace', '--model', bad, '--tokenizer', tokPath, '--text', textPath, '--tokens', '40');
    assert.is(trace.status, 1);
    assert.match(trace.stderr, /^msrnn: logit 0 is (NaN|-?Infinity) at chunk 0, position 0: the model produced non-finite logits/m);
    assert.is(trace.stdout, '');
  });

  test('2. trace: a progress bar on a terminal; the fast summary equals the exhaustive one', async () => {
    let err = '';
    const r = await msrnn('trace', '--model', modelPath, '--tokenizer', tokPath, '--text', textPath, '--tokens', '200', '--capacity', '16');
    assert.is(r.status, 0, r.stderr);
    const { runCli } = await import('../src/cli.js');
    const status = await runCli(['trace', '--model', modelPath, '--tokenizer', tokPath, '--text', textPath, '--tokens', '200', '--capacity', '16'],
      { stdout: { write: () => {} }, stderr: { write: (s: string) => { err += s; }, isTTY: true } });
    assert.is(status, 0, err);
    assert.match(err, /trace \[[^\]]*\] 200\/200 tokens/);
    const model = await loadModel(modelPath);
    const tokens = Array.from({ length: 300 }, (_, i) => (i * 37) % 500 + 3);
    for (const [name, opts] of [['tova', { capacity: 24 }], ['tova_head', { capacity: 24 }], ['local', { ratio: 0.3 }], ['full', {}]] as const) {
      const t = recordTrace(model, getPolicy(name, opts), tokens);
      const fast = summarize(t);
      for (let l = 0; l < t.nLayers; l++) {
        const ref = bruteShares(t, l);
        assert.ok(Math.abs(fast[l]!.recentShareMean - ref.mean) < 1e-12, `${name} layer ${l}: ${fast[l]!.recentShareMean} vs ${ref.mean}`);
        assert.ok(Math.abs(fast[l]!.recentShareFinal - ref.final) < 1e-12, `${name} layer ${l} final`);
      }
    }
  });
}

if (haveShared('cli defects: tokenizer', tokPath, modelPath)) {
  test('5. tokenizerFromBytes takes an options object; encode checks its argument; argmax of all-NaN throws', async () => {
    const bytes = new Uint8Array(readFileSync(tokPath));
    const tok = tokenizerFromBytes(bytes, { source: 'tok512.bin', vocabSize: 512 });
    assert.is(tok.vocabSize, 512);
    assert.throws(() => tokenizerFromBytes(bytes, { source: 'tok512.bin', vocabSize: 32000 }), /tok512\.bin: has 512 pieces but the model's vocabulary size is 32000/);
    assert.throws(() => tokenizerFromBytes(bytes, { vocab: 512 } as never), /unknown option "vocab" \(known: source, vocabSize\)/);
    assert.throws(() => tokenizerFromBytes(bytes, { vocabSize: -1 }), /vocabSize must be a positive integer, got -1/);
    assert.is(tokenizerFromBytes(bytes, 'tok512.bin', 512).vocabSize, 512, 'the positional form still works');
    assert.throws(() => tok.encode(undefined as never), /encode\(\) takes a string, got undefined/);
    assert.throws(() => tok.encode(123 as never), /encode\(\) takes a string, got (the number )?123/);
    assert.equal(tok.encode('Once'), (await loadTokenizer(tokPath)).encode('Once'));
    assert.throws(() => argmax(new Float32Array([NaN, NaN, NaN])), /the logits are NaN or infinite/);
    assert.is(argmax(new Float32Array([NaN, 2, 3, NaN])), 2);
  });

  test('6. a tokenizer with extra bytes after the model\'s vocabulary: "trailing bytes", not "truncated"', async () => {
    const bytes = new Uint8Array(readFileSync(tokPath));
    for (const extra of [3, 11, 100]) {
      const padded = new Uint8Array(bytes.length + extra);
      padded.set(bytes);
      padded.fill(0xab, bytes.length);
      const path = join(tmp, `tok-extra-${extra}.bin`);
      writeFileSync(path, padded);
      let message = '';
      try { await loadTokenizer(path, { vocabSize: 512 }); } catch (e) { message = (e as Error).message; }
      assert.match(message, new RegExp(`tok-extra-${extra}\\.bin: ${extra} trailing bytes after the 512 pieces of the model's vocabulary`), message);
      assert.not.match(message, /truncated/);
      // Through the CLI too.
      const r = await msrnn('generate', '--model', modelPath, '--tokenizer', path, '--steps', '1');
      assert.match(r.stderr, /trailing bytes/);
    }
    // A file cut inside a piece is still "truncated".
    let cut = '';
    try { tokenizerFromBytes(bytes.subarray(0, bytes.length - 3), { source: 'cut.bin', vocabSize: 512 }); } catch (e) { cut = (e as Error).message; }
    assert.match(cut, /cut\.bin: truncated in piece 511/);
  });

  test('7. generate --prompt-file with a binary file warns as ppl and trace do', async () => {
    const png = join(tmp, 'image.png');
    writeFileSync(png, Uint8Array.from({ length: 300 }, (_, i) => (i * 7919) % 256));
    const r = await msrnn('generate', '--model', modelPath, '--tokenizer', tokPath, '--prompt-file', png, '--steps', '2', '--temperature', '0');
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stderr, /warning: --prompt-file .*image\.png: does not look like UTF-8 text \(NUL bytes or invalid UTF-8\); using it anyway/);
    const txt = join(tmp, 'story.txt');
    writeFileSync(txt, 'Once upon a time');
    const plain = await msrnn('generate', '--model', modelPath, '--tokenizer', tokPath, '--prompt-file', txt, '--steps', '2', '--temperature', '0');
    assert.not.match(plain.stderr, /does not look like/);
  });
}

if (haveShared('cli defects: capacity', modelPath, tokPath)) {
  test('4. --capacity is checked against the memory it needs before allocating, naming --capacity; the allocated bytes are reported', async () => {
    const common = ['--model', modelPath, '--tokenizer', tokPath, '--policy', 'window', '--steps', '2', '--temperature', '0'];
    const wasm = await msrnn('generate', ...common, '--capacity', '1000000000', '--backend', 'wasm');
    assert.is(wasm.status, 1);
    assert.match(wasm.stderr, /^msrnn: --capacity 1000000000: the state would need 1266\.6 GiB \(5 layers × 4 KV heads × 1000000001 entries of 8-value f32 keys and values\), more than the wasm backend's memory \(4\.0 GiB, the model included\); give a smaller --capacity$/m);
    const js = await msrnn('generate', ...common, '--capacity', '100000000', '--backend', 'js');
    assert.is(js.status, 1);
    assert.match(js.stderr, /^msrnn: --capacity 100000000: the state would need 126\.7 GiB .*more than this machine's memory/m);
    const trace = await msrnn('trace', '--model', modelPath, '--tokenizer', tokPath, '--text', textPath, '--capacity', '1000000000');
    assert.match(trace.stderr, /^msrnn: --capacity 1000000000: the state would need/m);
    const ppl = await msrnn('ppl', '--model', modelPath, '--tokenizer', tokPath, '--text', textPath, '--policies', 'window', '--capacities', '16,1000000000', '--no-progress');
    assert.match(ppl.stderr, /^msrnn: --capacities 1000000000: the state would need/m);
    // What is reported is what is allocated: (k+1) entries × (2 × 8 floats + a position) per KV head and layer.
    const ok = await msrnn('generate', ...common, '--capacity', '1000', '--backend', 'js');
    assert.is(ok.status, 0, ok.stderr);
    const bytes = 5 * 4 * 1001 * (2 * 8 * 4 + 4);
    assert.match(ok.stderr, new RegExp(`capacity 1000 \\(${bytes} bytes allocated, never more\\)`));
    assert.match(ok.stderr, new RegExp(`state: ${bytes} bytes after 3 tokens`));
    // Programmatically: a clear RangeError from the library instead of "Invalid typed array length".
    const model = await loadModel(modelPath);
    assert.throws(() => createState(model, { policy: getPolicy('window', { capacity: 1e9 }) }),
      /policy "window": capacity 1000000000 is too large: each KV head would hold 1000000001 × 8 floats of keys, more than one array holds/);
    assert.is(stateBytes({ nLayers: 5, nKvHeads: 4, headDim: 8 }, getPolicy('window', { capacity: 1000 })), bytes);
    assert.is(createState(model, { policy: getPolicy('window', { capacity: 1000 }) }).bytes(), bytes);
  });
}

const modelV1Path = sharedPath('models/stories260K.v1.bin');
if (haveShared('cli defects: llama2.c headers', modelPath, modelV1Path)) {
  test('10. llama2.c headers: what the format allows is checked; what it cannot tell is documented (v1 heads)', async () => {
    const v0 = new Uint8Array(readFileSync(modelPath));
    const v1 = new Uint8Array(readFileSync(modelV1Path));
    const load = async (bytes: Uint8Array, name: string): Promise<string> => {
      try { await loadModel(bytes, { source: name }); return 'loaded'; } catch (e) { return (e as Error).message; }
    };
    assert.is(await load(v0, 'v0'), 'loaded');
    assert.is(await load(v1, 'v1'), 'loaded');
    // v0: heads 8/4 -> 4/2 keeps kv_dim; halving seq_len keeps the RoPE tables' size, so the file
    // size matches. The stored tables are for head dim 8, the header now says 16: refused.
    const edited = v0.slice();
    new Int32Array(edited.buffer, 0, 7).set([4, 2], 3);
    new Int32Array(edited.buffer, 24, 1)[0] = 256;
    assert.match(await load(edited, 'edited.bin'), /^edited\.bin: invalid model header: n_heads 4 \(head dim 16\) does not match the RoPE tables the file stores, which are for head dim 8 \(n_heads 8\); was the header edited\?$/);
    // v1: the 256-byte header's padding must be zero.
    const padded = v1.slice();
    padded[100] = 7;
    assert.match(await load(padded, 'pad.bin'), /^pad\.bin: invalid model header: byte 100 of the version-1 header is padding and must be 0, got 7$/);
    const flag = v1.slice();
    flag[36] = 2;
    assert.match(await load(flag, 'flag.bin'), /shared_classifier flag must be 0 or 1, got 2/);
    // v1 stores nothing per head: heads 8/4 -> 4/2 (same kv_dim, same size) CANNOT be detected.
    // It loads and computes something else; packages/transformer/README.md says so.
    const v1heads = v1.slice();
    new Int32Array(v1heads.buffer, 8, 7).set([4, 2], 3);
    assert.is(await load(v1heads, 'v1-heads.bin'), 'loaded');
  });
}

test('8. bench takes --backend: js measures only the pure-TS backend, a bad name is an error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'msrnn-bench-'));
  // A llama2.c v0 file of zeros (dim 16, 2 layers, 4/2 heads, vocab 32, context 8), as bench names it.
  const [dim, hidden, layers, heads, kvHeads, vocab, seqLen] = [16, 24, 2, 4, 2, 32, 8];
  const kvDim = (dim / heads) * kvHeads;
  const floats = vocab * dim + layers * (2 * dim + 2 * dim * dim + 2 * kvDim * dim + 3 * hidden * dim) + dim + seqLen * (dim / heads);
  const bytes = new Uint8Array(28 + floats * 4);
  new Int32Array(bytes.buffer, 0, 7).set([dim, hidden, layers, heads, kvHeads, vocab, seqLen]);
  writeFileSync(join(dir, 'random-stories15M.bin'), bytes);
  const common = ['bench', '--models', dir, '--seconds', '0.01', '--no-long', '--weights', 'f32'];
  const js = await msrnn(...common, '--backend', 'js');
  assert.is(js.status, 0, js.stderr);
  assert.match(js.stdout, /\| 15M \| decode \| js \| 1 \| f32 \|/);
  assert.not.match(js.stdout, /\| wasm \|/);
  const wasm = await msrnn(...common, '--backend', 'wasm', '--threads', '1');
  assert.is(wasm.status, 0, wasm.stderr);
  assert.match(wasm.stdout, /\| 15M \| decode \| wasm \| 1 \| f32 \|/);
  assert.not.match(wasm.stdout, /\| js \|/);
  const bad = await msrnn(...common, '--backend', 'gpu');
  assert.is(bad.stderr, 'msrnn: --backend must be one of js, wasm, auto, got "gpu"\n');
});

test('9. counts are in the right number', async () => {
  const { count, listVerb } = await import('../src/io.js');
  assert.is(count(1, 'token'), '1 token');
  assert.is(count(2, 'token'), '2 tokens');
  assert.is(listVerb(['full'], 'keeps a growing cache', 'keep growing caches'), 'full keeps a growing cache');
  assert.is(listVerb(['full', 'h2o'], 'keeps a growing cache', 'keep growing caches'), 'full, h2o keep growing caches');
  if (!existsSync(modelPath) || !existsSync(tokPath)) return; // the 'cli defects' guard above reports it (and fails in CI)
  const r = await msrnn('generate', '--model', modelPath, '--tokenizer', tokPath, '--steps', '0');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /^prompt 1 token, prefill/m);
  assert.match(r.stderr, /generated 0 tokens in/);
  assert.match(r.stderr, /bytes after 1 token \(/);
});

test('2. a 100,000-token trace: summarized in well under a second, heatmap thinned to a screen (not 24 MB)', () => {
  const n = 100_000, k = 128;
  const trace = windowTrace(n, k);
  const t0 = performance.now();
  const summary = summarize(trace);
  const ms = performance.now() - t0;
  assert.ok(ms < 3000, `summarize took ${ms.toFixed(0)} ms`);
  for (const s of summary) { assert.is(s.recentShareMean, 1); assert.is(s.recentShareFinal, 1); }
  const svg = traceSvg(trace, summary, 'window, 100000 tokens');
  assert.ok(svg.length < 2_000_000, `${svg.length} bytes`);
  assert.match(svg, /columns of 228 positions, shade = share kept/);
  // Exact below the limit: one bar per (head group, position).
  const small = windowTrace(MAX_COLUMNS, 16);
  const exact = traceSvg(small, summarize(small), 'small');
  assert.is((exact.match(/<rect x="\d+" y="\d+" width="1"/g) ?? []).length, 2 * MAX_COLUMNS);
});

test.run();
