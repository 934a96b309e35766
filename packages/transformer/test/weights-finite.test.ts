// modelFromWeights (weights a caller built, not read by a loader) refuses a weight holding an Inf
// or NaN, naming the weight and where in it, on both backends and for every kind of matrix: a
// float32 value, an f16 value, a q8 block scale, a ggml block's f16 scale, a norm or bias value.
// The same weights without the corruption make a model whose logits are finite.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, GGML, ggmlWeights, jsBackend, quantizeF16, quantizeQ8, type Backend, type WeightMatrix } from '@msrnn/tensor';
import { quantizeGgmlMatrix } from '@msrnn/tensor/quantize';
import { createState, modelFromWeights, step, type Weights } from '../src/index.js';
import { randomModel } from './random-model.js';

const wasm = await createWasmBackend({ threads: 1 });
test.after(async () => { await wasm.dispose(); });

/** A matrix's values re-stored as `kind` (the f32 values as they are, f16, q8 or Q8_0 blocks). */
function as(kind: 'f32' | 'f16' | 'q8' | 'Q8_0', m: WeightMatrix, backend: Backend): WeightMatrix {
  if (m.type !== 'f32') throw new Error('expected f32');
  const mem = backend === jsBackend ? undefined : wasm;
  if (kind === 'f32') return m;
  if (kind === 'f16') return quantizeF16(m.data, m.offset, m.rows, m.cols, mem);
  if (kind === 'q8') return quantizeQ8(m.data, m.offset, m.rows, m.cols, mem);
  return ggmlWeights(GGML.Q8_0, m.rows, m.cols, quantizeGgmlMatrix(GGML.Q8_0, m.data, m.offset, m.rows, m.cols), mem);
}

/** Writes an Inf or NaN into the float at `index` of the matrix's stored floats; returns what the error must say of it. */
function corrupt(m: WeightMatrix, index: number, nan: boolean): string {
  const row = Math.floor(index / m.cols), col = index % m.cols;
  switch (m.type) {
    case 'f32': m.data[m.offset + index] = nan ? NaN : -Infinity; return `value ${index} \\(row ${row}, column ${col}\\) is ${nan ? 'NaN' : '-Infinity'}`;
    case 'f16': m.bits[index] = nan ? 0x7e00 : 0xfc00; return `value ${index} \\(row ${row}, column ${col}\\) is ${nan ? 'NaN' : '-Infinity'}`;
    case 'q8': {
      const perRow = Math.ceil(m.cols / 32), k = Math.floor(index / 32);
      m.scales[k] = nan ? NaN : Infinity;
      return `block scales value ${k} \\(row ${Math.floor(k / perRow)}, column ${k % perRow}\\) is ${nan ? 'NaN' : 'Infinity'}`;
    }
    case 'ggml': {
      const k = Math.floor(index / 32), perRow = m.cols / 32;
      m.data[34 * k] = 0; m.data[34 * k + 1] = nan ? 0x7e : 0x7c; // Q8_0: the block's f16 d leads it
      return `\\(Q8_0\\) block ${k} \\(row ${Math.floor(k / perRow)}, columns ${(k % perRow) * 32}–${(k % perRow) * 32 + 31}\\) has scale d = ${nan ? 'NaN' : 'Infinity'}`;
    }
  }
}

for (const [name, backend] of [['js', jsBackend], ['wasm', wasm]] as const) {
  for (const kind of ['f32', 'f16', 'q8', 'Q8_0'] as const) {
    test(`${name}, ${kind} matrices: modelFromWeights refuses an Inf/NaN weight, naming it and where`, () => {
      const sizes = { dim: 32, hiddenDim: 64 };
      const fresh = (): Weights => {
        const w = randomModel({ arch: {}, biases: 'qkv' }, backend, 11, sizes).weights;
        const re = (L: Weights['layers'][number]['q']) => ({ ...L, weight: as(kind, L.weight, backend) });
        return {
          ...w, tokenEmbedding: as(kind, w.tokenEmbedding, backend), classifier: re(w.classifier),
          layers: w.layers.map((L) => ({ ...L, q: re(L.q), k: re(L.k), v: re(L.v), o: re(L.o), gate: L.gate && re(L.gate), up: re(L.up), down: re(L.down) })),
        };
      };
      const config = randomModel({ arch: {}, biases: 'qkv' }, backend, 11, sizes).config;
      const clean = modelFromWeights(config, fresh(), { backend });
      const logits = step(clean, createState(clean), 3);
      assert.ok(logits.every(Number.isFinite), 'the clean weights give finite logits');
      for (const nan of [false, true]) {
        const w = fresh(), index = nan ? 64 * 32 - 1 : 40;
        const said = corrupt(w.layers[1]!.down.weight, index, nan);
        assert.throws(() => modelFromWeights(config, w, { backend, source: 'mine' }), new RegExp(`^mine: layer 1 FFN down${kind === 'q8' ? "'s" : ''} ${said} — weights must be finite$`));
      }
      const w = fresh();
      w.layers[0]!.k.bias![3] = NaN;
      assert.throws(() => modelFromWeights(config, w, { backend }), /^<weights>: layer 0 k bias value 3 \(row 0, column 3\) is NaN — weights must be finite$/);
      const n = fresh();
      n.finalNorm.weight[31] = Infinity;
      assert.throws(() => modelFromWeights(config, n, { backend }), /final norm value 31 \(row 0, column 31\) is Infinity/);
    });
  }
}

test.run();
