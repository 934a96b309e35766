// Decoding on 2 and 3 wasm threads gives the 1-thread logits bit for bit: the layer body's fused
// jobs (q/k/v as one, gate/up as one) and attention split over heads change who computes a row,
// never how. A model big enough that every projection and (after ~100 tokens) every layer's
// attention is handed to the workers; f32, fp16, Q8 and ggml block (Q8_0, Q4_0, Q5_0) weights; a full state in absolute
// positions, and a bounded one in re-indexed positions (whose keys are rotated per KV head). And
// prompts: a chunk's queries attending at once, the layer's heads cut into query-row blocks over
// the threads, give the 1-thread logits at every position.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GGML, createWasmBackend, f32Weights, ggmlWeights, type Backend, type KvType, type WasmBackend, type WeightType } from '@msrnn/tensor';
import { quantizeGgmlMatrix } from '@msrnn/tensor/quantize';
import { getPolicy } from '@msrnn/policies';
import { architecture, createState, linear, modelFromWeights, norm, prefill, quantizeModel, step, type Model, type ModelConfig } from '../src/index.js';

const C = { dim: 256, hiddenDim: 512, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 300, seqLen: 512, normEps: 1e-5 };

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296 - 0.5; };
}

/** Projections in `ggmlType` blocks (written by the project's ggml quantizer) instead of f32 when given. */
function randomModel(backend: Backend, ggmlType: number | null = null): Model {
  const r = rng(7), arr = (n: number, scale: number, offset = 0) => { const a = backend.alloc(n); for (let i = 0; i < n; i++) a[i] = offset + scale * r(); return a; };
  const config: ModelConfig = { ...C, sharedClassifier: false, arch: architecture({}) };
  const kv = (C.dim / C.nHeads) * C.nKvHeads;
  const lin = (rows: number, cols: number) => {
    const values = arr(rows * cols, 0.25);
    return linear(ggmlType === null ? f32Weights(values, 0, rows, cols) : ggmlWeights(ggmlType, rows, cols, quantizeGgmlMatrix(ggmlType, values, 0, rows, cols), backend));
  };
  const layers = Array.from({ length: C.nLayers }, () => ({
    attnNorm: norm(arr(C.dim, 0.2, 1)), q: lin(C.dim, C.dim), k: lin(kv, C.dim), v: lin(kv, C.dim), qNorm: null, kNorm: null,
    o: lin(C.dim, C.dim), postAttnNorm: null, ffnNorm: norm(arr(C.dim, 0.2, 1)),
    gate: lin(C.hiddenDim, C.dim), up: lin(C.hiddenDim, C.dim), down: lin(C.dim, C.hiddenDim), postFfnNorm: null,
  }));
  const weights = {
    tokenEmbedding: f32Weights(arr(C.vocabSize * C.dim, 1), 0, C.vocabSize, C.dim), positionEmbedding: null,
    layers, finalNorm: norm(arr(C.dim, 0.2, 1)), classifier: lin(C.vocabSize, C.dim),
  };
  return modelFromWeights(config, weights, { backend, source: 'random threads model' });
}

/** Greedy-free decode: a fixed token sequence; every step's logits concatenated. */
function decode(model: Model, type: WeightType, bounded: boolean, kv: KvType = 'f32'): Float32Array {
  const m = quantizeModel(model, type);
  const state = bounded ? createState(m, { policy: getPolicy('window', { capacity: 128 }), positionMode: 'reindex', kv }) : createState(m, { kv });
  prefill(m, state, [1, 2, 3, 4]);
  const steps = 140, out = new Float32Array(steps * C.vocabSize);
  for (let i = 0; i < steps; i++) out.set(step(m, state, (i * 37 + 5) % C.vocabSize), i * C.vocabSize);
  return out;
}

const backends: WasmBackend[] = [];
test.before(async () => {
  for (const threads of [1, 2, 3]) backends.push(await createWasmBackend({ initialBytes: 64 << 20, threads, alwaysShare: true }));
});
test.after(async () => { for (const b of backends) await b.dispose(); });

test('2 and 3 threads decode to the 1-thread logits bit for bit (f32, fp16, Q8; full and bounded re-indexed states)', () => {
  for (const type of ['f32', 'f16', 'q8'] as const) {
    for (const bounded of [false, true]) {
      // quantizeModel takes the model's memory over: a fresh (same-seed) model for each run.
      const ref = decode(randomModel(backends[0]!), type, bounded);
      assert.ok(ref.every(Number.isFinite), 'finite logits');
      for (let t = 1; t < backends.length; t++) {
        const got = decode(randomModel(backends[t]!), type, bounded);
        const bad = got.findIndex((v, i) => v !== ref[i]);
        assert.is(bad, -1, `${type} ${bounded ? 'bounded' : 'full'} on ${backends[t]!.threads} threads: logit ${bad} is ${got[bad]}, 1 thread gave ${ref[bad]}`);
      }
    }
  }
});

test('ggml block weights (Q8_0, Q4_0, Q5_0): 2 and 3 threads decode to the 1-thread logits bit for bit', () => {
  for (const t of [GGML.Q8_0, GGML.Q4_0, GGML.Q5_0]) {
    const ref = decode(randomModel(backends[0]!, t), 'f32', false);
    assert.ok(ref.every(Number.isFinite), 'finite logits');
    for (let i = 1; i < backends.length; i++) {
      const got = decode(randomModel(backends[i]!, t), 'f32', false);
      const bad = got.findIndex((v, j) => v !== ref[j]);
      assert.is(bad, -1, `ggml type ${t} on ${backends[i]!.threads} threads: logit ${bad} is ${got[bad]}, 1 thread gave ${ref[bad]}`);
    }
  }
});

test('keys and values stored as f16 or q8: 2 and 3 threads decode to the 1-thread logits bit for bit', () => {
  for (const kv of ['f16', 'q8'] as const) {
    for (const bounded of [false, true]) {
      const ref = decode(randomModel(backends[0]!), 'f32', bounded, kv);
      for (let t = 1; t < backends.length; t++) {
        const got = decode(randomModel(backends[t]!), 'f32', bounded, kv);
        const bad = got.findIndex((v, i) => v !== ref[i]);
        assert.is(bad, -1, `kv ${kv} ${bounded ? 'bounded' : 'full'} on ${backends[t]!.threads} threads: logit ${bad} is ${got[bad]}, 1 thread gave ${ref[bad]}`);
      }
    }
  }
});

test('prompts (a chunk\'s queries at once, heads in row blocks over the threads): 2 and 3 threads give the 1-thread logits at every position bit for bit', () => {
  const prompt = Array.from({ length: 150 }, (_, i) => (i * 53 + 11) % C.vocabSize);
  /** Every position's logits of a prompt in chunks of 64 (cached entries before the 2nd and 3rd: 64, 128). */
  const run = (b: WasmBackend, type: WeightType, ggmlType: number | null, bounded: boolean): Float32Array => {
    let batched = 0;
    const counting = Object.create(b, {
      deferAttendCausal: { value: (...args: Parameters<WasmBackend['deferAttendCausal']>) => { batched++; return b.deferAttendCausal(...args); } },
    }) as WasmBackend;
    const m = quantizeModel(randomModel(counting, ggmlType), type);
    const state = createState(m, bounded ? { policy: getPolicy('window', { capacity: 400 }) } : {});
    const out = new Float32Array(prompt.length * C.vocabSize);
    prefill(m, state, prompt, { chunkSize: 64, onLogits: (p, l) => out.set(l, p * C.vocabSize) });
    assert.ok(batched > 0, 'the chunk\'s queries attended at once');
    state.dispose();
    return out;
  };
  for (const [type, ggmlType, bounded] of [['f32', null, false], ['q8', null, false], ['f32', null, true], ['f32', GGML.Q8_0, false]] as const) {
    const what = `${ggmlType === null ? type : `ggml type ${ggmlType}`} ${bounded ? 'bounded with room' : 'full'}`;
    const ref = run(backends[0]!, type, ggmlType, bounded);
    assert.ok(ref.every(Number.isFinite), `${what}: finite logits`);
    for (let t = 1; t < backends.length; t++) {
      const got = run(backends[t]!, type, ggmlType, bounded);
      const bad = got.findIndex((v, i) => v !== ref[i]);
      assert.is(bad, -1, `${what} on ${backends[t]!.threads} threads: logit ${bad} (position ${Math.floor(bad / C.vocabSize)}) is ${got[bad]}, 1 thread gave ${ref[bad]}`);
    }
  }
});

test.run();
