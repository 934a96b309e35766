// The architecture variations of the layer body, each against an independent reference: the
// pieces against their plain formulas, and whole random-weight models of each architecture shape
// (llama, qwen2, qwen3, gpt2, gemma2, phi3, llama3 scaling, GGUF rope factors) through step() and
// prefill() against the float64 reference forward in ./reference-forward.ts, on both backends.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, f32Weights, jsBackend, KvRows, type Backend, type WasmBackend } from '@msrnn/tensor';
import {
  architecture, createState, foldUnitOffset, gatedActivation, activation, headNorm, linear, modelFromWeights, norm, normRows,
  prefill, quantizeModel, ropeFrequencies, RopePositions, softcap, attendHeadSoftcapped, step, LLAMA,
  type Architecture, type LayerWeights, type Linear, type Model, type ModelConfig, type Weights,
} from '../src/index.js';
import { getPolicy } from '@msrnn/policies';
import { referenceForward, referenceInvFreq } from './reference-forward.js';

let wasm: WasmBackend;
test.before(async () => { wasm = await createWasmBackend({ initialBytes: 8 << 20 }); });
test.after(async () => { await wasm.dispose(); });

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296 - 0.5; };
}

interface Shape {
  arch: Partial<Architecture>;
  headDim?: number;
  biases?: 'qkv' | 'all';
  qkNorm?: boolean;
  gated?: boolean;
  postNorms?: boolean;
  tied?: boolean;
}

const BASE = { dim: 16, hiddenDim: 24, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 40, seqLen: 32, normEps: 1e-5 };

/** A random-weight model of the given shape; every array allocated through the backend. */
function randomModel(shape: Shape, backend: Backend, seed: number): Model {
  const r = rng(seed), alloc = (n: number) => backend.alloc(n);
  const arr = (n: number, scale = 1, offset = 0) => { const a = alloc(n); for (let i = 0; i < n; i++) a[i] = offset + scale * r(); return a; };
  const config: ModelConfig = { ...BASE, sharedClassifier: shape.tied ?? false, arch: architecture(shape.arch), ...(shape.headDim ? { headDim: shape.headDim } : {}) };
  const hd = shape.headDim ?? BASE.dim / BASE.nHeads, qDim = hd * BASE.nHeads, kvDim = hd * BASE.nKvHeads;
  const layernorm = config.arch.norm === 'layernorm';
  const nrm = () => norm(arr(BASE.dim, 0.4, 1), layernorm ? arr(BASE.dim, 0.2) : null);
  const lin = (rows: number, cols: number, bias: boolean): Linear => linear(f32Weights(arr(rows * cols, 0.6), 0, rows, cols), bias ? arr(rows, 0.3) : null);
  const qkvBias = shape.biases !== undefined, allBias = shape.biases === 'all';
  const layers = Array.from({ length: BASE.nLayers }, (): LayerWeights => ({
    attnNorm: nrm(),
    q: lin(qDim, BASE.dim, qkvBias), k: lin(kvDim, BASE.dim, qkvBias), v: lin(kvDim, BASE.dim, qkvBias),
    qNorm: shape.qkNorm ? arr(hd, 0.4, 1) : null, kNorm: shape.qkNorm ? arr(hd, 0.4, 1) : null,
    o: lin(BASE.dim, qDim, allBias),
    postAttnNorm: shape.postNorms ? nrm() : null,
    ffnNorm: nrm(),
    gate: shape.gated === false ? null : lin(BASE.hiddenDim, BASE.dim, allBias),
    up: lin(BASE.hiddenDim, BASE.dim, allBias),
    down: lin(BASE.dim, BASE.hiddenDim, allBias),
    postFfnNorm: shape.postNorms ? nrm() : null,
  }));
  const tokenEmbedding = f32Weights(arr(BASE.vocabSize * BASE.dim), 0, BASE.vocabSize, BASE.dim);
  const weights: Weights = {
    tokenEmbedding,
    positionEmbedding: config.arch.positions.kind === 'learned' ? arr(BASE.seqLen * BASE.dim, 0.5) : null,
    layers,
    finalNorm: nrm(),
    classifier: shape.tied ? linear(tokenEmbedding) : lin(BASE.vocabSize, BASE.dim, false),
  };
  return modelFromWeights(config, weights, { backend, source: 'random' });
}

const rope = (o: Partial<Architecture['positions'] & { kind: 'rope' }>): Architecture['positions'] =>
  ({ kind: 'rope', theta: 10000, layout: 'interleaved', rotaryDim: null, scaling: null, ...o });

/** Tiny original context (8) so that the 4 pairs of a head of 8 fall in all three bands. */
const LLAMA3_SCALING = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8 } as const;

const SHAPES: Record<string, Shape> = {
  'llama (llama2.c)': { arch: {} },
  'qwen2: q/k/v biases, half-layout RoPE, theta 1e6': { arch: { positions: rope({ layout: 'half', theta: 1e6 }) }, biases: 'qkv', tied: true },
  'qwen3: per-head q/k RMSNorm, head_dim apart from dim/heads': { arch: { positions: rope({ layout: 'half' }) }, qkNorm: true, headDim: 6 },
  'gpt2: LayerNorm with bias, GELU MLP, learned positions, biases everywhere, tied': {
    arch: { norm: 'layernorm', activation: 'gelu_tanh', positions: { kind: 'learned' } }, biases: 'all', gated: false, tied: true,
  },
  'gemma2: GeGLU, post norms, soft-caps, embedding scale, query_pre_attn_scalar': {
    arch: { activation: 'gelu_tanh', positions: rope({ layout: 'half' }), embedScale: 4, attnSoftcap: 0.5, finalSoftcap: 2, queryPreAttnScalar: 20 },
    postNorms: true, headDim: 8, tied: true,
  },
  'phi3: partial rotary (4 of 8 dims), half layout': { arch: { positions: rope({ layout: 'half', rotaryDim: 4 }) }, headDim: 8 },
  'llama3 frequency scaling': { arch: { positions: rope({ scaling: LLAMA3_SCALING }) }, headDim: 8 },
  'GGUF rope_freqs factors': { arch: { positions: rope({ scaling: { type: 'factors', factors: [1, 2, 4, 8] } }) }, headDim: 8 },
};

const TOKENS = [1, 7, 3, 22, 39, 0, 5, 5, 18, 11, 2];

function maxRelErr(actual: ArrayLike<number>, expected: number[]): number {
  const scale = Math.max(1, ...expected.map(Math.abs));
  let m = 0;
  for (let i = 0; i < expected.length; i++) m = Math.max(m, Math.abs(actual[i]! - expected[i]!) / scale);
  return m;
}

for (const [name, shape] of Object.entries(SHAPES)) {
  test(`${name}: step and prefill equal the float64 reference forward, on js and wasm`, () => {
    for (const backend of [jsBackend, wasm] as Backend[]) {
      const model = randomModel(shape, backend, 11);
      const ref = referenceForward(model.config, model.weights, TOKENS);
      const state = createState(model);
      TOKENS.forEach((t, p) => {
        const err = maxRelErr(step(model, state, t), ref[p]!);
        assert.ok(err < 2e-5, `${backend.name} step at ${p}: relative error ${err}`);
      });
      const chunked = createState(model);
      const seen: number[] = [];
      prefill(model, chunked, TOKENS, {
        chunkSize: 4,
        onLogits: (p, l) => { seen.push(p); const err = maxRelErr(l, ref[p]!); assert.ok(err < 2e-5, `${backend.name} prefill at ${p}: ${err}`); },
      });
      assert.equal(seen, TOKENS.map((_, i) => i));
    }
  });
}

/** x rounded to the nearest IEEE half (ties to even) by its spacing: 2^(e−10) at exponent e, 2^−24 below 2^−14; saturating at 65504. */
function roundHalf(x: number): number {
  const a = Math.abs(Math.fround(x));
  if (a === 0) return 0;
  const ulp = 2 ** (Math.max(Math.floor(Math.log2(a)), -14) - 10);
  const t = a / ulp, f = Math.floor(t);
  const n = t - f > 0.5 || (t - f === 0.5 && f % 2 === 1) ? f + 1 : f;
  return Math.sign(x) * Math.min(n * ulp, 65504);
}

/** How a KV cache of each type stores one head vector, written here independently of src: half rounding, and Q8_0 by its definition. */
const STORE_ENTRY: Record<'f16' | 'q8', (v: number[]) => number[]> = {
  f16: (v) => v.map(roundHalf),
  q8: (v) => v.map((x, i) => {
    const block = v.slice(i - (i % 32), i - (i % 32) + 32).map((y) => Math.fround(y));
    const d = Math.fround(Math.max(...block.map(Math.abs)) / 127);
    const t = d === 0 ? 0 : Math.fround(x) / d;
    return Math.fround(Math.sign(t) * Math.floor(Math.abs(t) + 0.5) * d);
  }),
};

for (const [name, shape] of Object.entries(SHAPES)) {
  test(`${name}: f16 and q8 KV entries: step equals the float64 reference forward with its keys and values rounded the same way, on js and wasm`, () => {
    for (const kv of ['f16', 'q8'] as const) {
      for (const backend of [jsBackend, wasm] as Backend[]) {
        const model = randomModel(shape, backend, 11);
        const ref = referenceForward(model.config, model.weights, TOKENS, STORE_ENTRY[kv]);
        const exact = referenceForward(model.config, model.weights, TOKENS);
        const state = createState(model, { kv });
        let worst = 0, rounding = 0;
        TOKENS.forEach((t, p) => {
          const logits = step(model, state, t);
          worst = Math.max(worst, maxRelErr(logits, ref[p]!));
          rounding = Math.max(rounding, maxRelErr(ref[p]!, exact[p]!));
        });
        // A float32 key one ulp from a rounding boundary may round the other way than the float64 one: far under the rounding's own effect.
        assert.ok(worst < 1e-4 && worst < rounding / 10, `${backend.name} ${kv}: relative error ${worst} vs the rounding's own ${rounding}`);
      }
    }
  });
}

test('q8 weights run in place on every architecture shape (close to f32, not equal)', () => {
  for (const shape of Object.values(SHAPES)) {
    // quantizeModel takes its input's memory over: quantize a second copy of the same random model.
    const model = randomModel(shape, wasm, 5), q8 = quantizeModel(randomModel(shape, wasm, 5), 'q8');
    assert.is(q8.weights.layers[0]!.q.weight.type, 'q8');
    assert.is(q8.weights.tokenEmbedding.type, 'f32', 'embedding lookups stay f32');
    const a = prefill(model, createState(model), TOKENS).slice(), b = prefill(q8, createState(q8), TOKENS);
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    assert.ok(diff > 0 && diff < 0.1, `q8 vs f32 max logit difference ${diff}`);
  }
});

test('RoPE: half and interleaved layouts are one kernel; they agree under llama.cpp\'s q/k row permutation', () => {
  // convert_hf_to_gguf.py permute(): GGUF (interleaved) row h·hd + 2i + j holds HF (half) row h·hd + j·hd/2 + i.
  const llama = randomModel({ arch: {} }, jsBackend, 3);
  const hf = randomModel({ arch: { positions: rope({ layout: 'half' }) } }, jsBackend, 3);
  const hd = 4, half = hd / 2, dim = BASE.dim;
  const toHalf = (src: Linear, dst: Linear, nHeads: number) => {
    const s = src.weight.type === 'f32' ? src.weight.data : null, d = dst.weight.type === 'f32' ? dst.weight.data : null;
    for (let h = 0; h < nHeads; h++) for (let i = 0; i < half; i++) for (let j = 0; j < 2; j++) {
      d!.set(s!.subarray((h * hd + 2 * i + j) * dim, (h * hd + 2 * i + j + 1) * dim), (h * hd + j * half + i) * dim);
    }
  };
  llama.weights.layers.forEach((L, l) => {
    const H = hf.weights.layers[l]!;
    toHalf(L.q, H.q, BASE.nHeads);
    toHalf(L.k, H.k, BASE.nKvHeads);
  });
  const a = prefill(llama, createState(llama), TOKENS).slice(), b = prefill(hf, createState(hf), TOKENS);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5, `logit ${i}: ${a[i]} vs ${b[i]}`);
  // Without the permutation the same weights give other logits: the layout parameter matters.
  const unpermuted = randomModel({ arch: { positions: rope({ layout: 'half' }) } }, jsBackend, 3);
  const c = prefill(unpermuted, createState(unpermuted), TOKENS);
  assert.ok(c.some((v, i) => Math.abs(v - a[i]!) > 1e-3));
});

test('RoPE partial rotary: dims past rotaryDim pass through, in both layouts and in reindex mode', () => {
  for (const layout of ['interleaved', 'half'] as const) {
    const p = new RopePositions(8, 4, layout, ropeFrequencies(4, 10000, null), (n) => new Float32Array(n));
    const v = Float32Array.from({ length: 16 }, (_, i) => i + 1), before = v.slice();
    p.rotate(v, 0, 2, 5);
    for (const h of [0, 1]) for (let d = 4; d < 8; d++) assert.is(v[h * 8 + d], before[h * 8 + d]);
    assert.ok(v.some((x, i) => x !== before[i]), 'the rotary dims moved');
  }
});

test('RoPE frequencies: llama3 scaling and GGUF factors equal the reference formulas', () => {
  for (const shape of [SHAPES['llama3 frequency scaling']!, SHAPES['GGUF rope_freqs factors']!, SHAPES['phi3: partial rotary (4 of 8 dims), half layout']!]) {
    const model = randomModel(shape, jsBackend, 1), p = model.config.arch.positions;
    if (p.kind !== 'rope') throw new Error('rope expected');
    const rot = p.rotaryDim ?? (model.config.headDim ?? BASE.dim / BASE.nHeads);
    const got = Array.from(ropeFrequencies(rot, p.theta, p.scaling)), want = referenceInvFreq(model.config);
    got.forEach((f, i) => assert.ok(Math.abs(f - want[i]!) <= 1e-15 * Math.abs(want[i]!), `pair ${i}: ${f} vs ${want[i]}`));
  }
  // The llama3 case exercises all three bands: kept, interpolated, divided by the factor.
  const base = Array.from(ropeFrequencies(8, 10000, null)), scaled = Array.from(ropeFrequencies(8, 10000, LLAMA3_SCALING));
  assert.ok(scaled[0]! < base[0]! && scaled[0]! > base[0]! / 8, 'pair 0 interpolated');
  assert.ok(Math.abs(scaled[2]! - base[2]! / 8) < 1e-18, 'pair 2 divided by the factor');
});

test('pieces against their formulas: LayerNorm, RMSNorm, per-head norm, GELU tanh, GeGLU, softcap, (1 + w)', () => {
  const r = rng(9), n = 12, x = Float32Array.from({ length: 2 * n }, () => 3 * r() + 1);
  const w = Float32Array.from({ length: n }, () => r() + 1), b = Float32Array.from({ length: n }, () => r());
  const lnModel = { config: { normEps: 1e-5, arch: architecture({ norm: 'layernorm' }) }, backend: jsBackend } as unknown as Model;
  const rmsModel = { config: { normEps: 1e-5, arch: LLAMA }, backend: jsBackend } as unknown as Model;
  const out = new Float32Array(2 * n);
  normRows(lnModel, out, x, 2, norm(w, b));
  for (let row = 0; row < 2; row++) {
    const xs = Array.from(x.subarray(row * n, row * n + n)), mean = xs.reduce((s, v) => s + v, 0) / n;
    const sd = Math.sqrt(xs.reduce((s, v) => s + (v - mean) ** 2, 0) / n + 1e-5);
    xs.forEach((v, i) => assert.ok(Math.abs(out[row * n + i]! - (((v - mean) / sd) * w[i]! + b[i]!)) < 1e-5, `layernorm ${row},${i}`));
  }
  normRows(rmsModel, out, x, 2, norm(w));
  const heads = x.slice();
  headNorm(rmsModel, heads, 0, 2, w);
  for (let row = 0; row < 2; row++) {
    const xs = Array.from(x.subarray(row * n, row * n + n)), rms = Math.sqrt(xs.reduce((s, v) => s + v * v, 0) / n + 1e-5);
    xs.forEach((v, i) => {
      assert.ok(Math.abs(out[row * n + i]! - (v / rms) * w[i]!) < 1e-5, `rmsnorm ${row},${i}`);
      assert.ok(Math.abs(heads[row * n + i]! - (v / rms) * w[i]!) < 1e-5, `head norm ${row},${i}`);
    });
  }
  const gelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  const gate = x.slice(0, n), up = x.slice(n), g = new Float32Array(n);
  gatedActivation(jsBackend, 'gelu_tanh', g, gate, up, n);
  const plain = gate.slice();
  activation('gelu_tanh', plain, n);
  const swi = new Float32Array(n);
  gatedActivation(jsBackend, 'silu', swi, gate, up, n);
  for (let i = 0; i < n; i++) {
    assert.ok(Math.abs(g[i]! - gelu(gate[i]!) * up[i]!) < 1e-5, `GeGLU ${i}`);
    assert.ok(Math.abs(plain[i]! - gelu(gate[i]!)) < 1e-6, `GELU ${i}`);
    assert.ok(Math.abs(swi[i]! - (gate[i]! / (1 + Math.exp(-gate[i]!))) * up[i]!) < 1e-5, `SwiGLU ${i}`);
  }
  const capped = Float32Array.of(-1000, -3, 0, 0.5, 3, 1000);
  softcap(capped, 0, 6, 2);
  assert.equal(Array.from(capped), [-2, 2 * Math.tanh(-1.5), 0, 2 * Math.tanh(0.25), 2 * Math.tanh(1.5), 2].map(Math.fround));
  assert.equal(Array.from(foldUnitOffset(Float32Array.of(-0.5, 0, 0.25))), [0.5, 1, 1.25]);
});

test('soft-capped attention head: equals the formula, and a huge cap equals the backend kernel', () => {
  const r = rng(4), hd = 8, count = 5;
  const q = Float32Array.from({ length: hd }, () => 4 * r()), keys = Float32Array.from({ length: count * hd }, () => 4 * r());
  const values = Float32Array.from({ length: count * hd }, () => r());
  const out = new Float32Array(hd), att = new Float32Array(count);
  const rowsOf = (a: Float32Array) => { const rows = new KvRows('f32', hd, count, (n) => new Float32Array(n)); rows.f32.set(a); return rows; };
  const keyRows = rowsOf(keys), valueRows = rowsOf(values);
  attendHeadSoftcapped(out, 0, q, 0, keyRows, valueRows, count, hd, 0.5, 1.5, att, 0);
  const s = Array.from({ length: count }, (_, i) => 1.5 * Math.tanh((0.5 * keys.subarray(i * hd, i * hd + hd).reduce((a, k, d) => a + k * q[d]!, 0)) / 1.5));
  const e = s.map((v) => Math.exp(v - Math.max(...s))), z = e.reduce((a, v) => a + v, 0);
  e.forEach((v, i) => assert.ok(Math.abs(att[i]! - v / z) < 1e-6, `weight ${i}`));
  for (let d = 0; d < hd; d++) assert.ok(Math.abs(out[d]! - e.reduce((a, v, i) => a + (v / z) * values[i * hd + d]!, 0)) < 1e-6, `out ${d}`);
  const plainOut = new Float32Array(hd), plainAtt = new Float32Array(count);
  jsBackend.attendHead(plainOut, 0, q, 0, keys, values, count, hd, 0.5, plainAtt, 0);
  attendHeadSoftcapped(out, 0, q, 0, keyRows, valueRows, count, hd, 0.5, 1e9, att, 0);
  for (let d = 0; d < hd; d++) assert.ok(Math.abs(out[d]! - plainOut[d]!) < 1e-6);
});

test('learned positions: reindex mode is refused; positions past the table are a clear error', () => {
  const gpt2 = randomModel(SHAPES['gpt2: LayerNorm with bias, GELU MLP, learned positions, biases everywhere, tied']!, jsBackend, 2);
  assert.throws(() => createState(gpt2, { positionMode: 'reindex' }), /reindex.*needs RoPE.*learned absolute positions/);
  // A policy that stores keys re-indexed (StreamingLLM's convention) makes it the state's default mode.
  const reindexing = Object.assign(Object.create(getPolicy('sinks', { capacity: 8 })), { positionMode: 'reindex' });
  assert.throws(() => createState(gpt2, { policy: reindexing }), /reindex.*needs RoPE/, "the policy's mode too");
  assert.is(createState(gpt2, { policy: getPolicy('sinks', { capacity: 8 }) }).positionMode, 'absolute');
  const state = createState(gpt2);
  for (let p = 0; p < BASE.seqLen; p++) step(gpt2, state, 1);
  assert.throws(() => step(gpt2, state, 1), /position 32 is past the 32 learned positions of random/);
  assert.is(state.seen, BASE.seqLen, 'the failed step changed nothing');
});

test('modelFromWeights names a misshapen tensor', () => {
  const good = randomModel({ arch: {} }, jsBackend, 1);
  const bad = (edit: (w: Weights) => Weights, re: RegExp) =>
    assert.throws(() => modelFromWeights(good.config, edit(good.weights), { source: 'x.gguf' }), re);
  bad((w) => ({ ...w, layers: [{ ...w.layers[0]!, k: w.layers[0]!.q }, w.layers[1]!] }), /x.gguf: layer 0 k is 16×16, the config needs 8×16/);
  bad((w) => ({ ...w, layers: [w.layers[0]!] }), /1 layers of weights, the config has 2/);
  bad((w) => ({ ...w, positionEmbedding: new Float32Array(32) }), /position embedding table was given but the model uses RoPE/);
  bad((w) => ({ ...w, finalNorm: norm(new Float32Array(15)) }), /final norm holds 15 floats, the config needs 16/);
  assert.throws(() => modelFromWeights({ ...good.config, arch: architecture({ attnSoftcap: -1 }) }, good.weights), /attention softcap must be a finite number >= 0/);
  assert.throws(() => modelFromWeights({ ...good.config, arch: architecture({ positions: rope({ rotaryDim: 6 }) }) }, good.weights), /rotary dims 6 must be even, positive and at most the head size 4/);
});

test.run();
