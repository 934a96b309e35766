// prefill's opt-in `activations: 'q8_0'` (ggml's arithmetic for Q8_0 weights: the chunk's
// activations rounded to int8 per block of 32, integer block products). The kernel itself is
// checked against a float64 re-implementation in packages/tensor/test/q8-activations.test.ts;
// here, on the shared GGUF fixtures (68 tokens in one chunk): the logits stay within the stated
// tolerance of the exact path (they are not equal: the mode really ran) and still predict the
// fixture's greedy tokens; 2 threads give the 1-thread bits; a policy sees the tokens one by one
// as in the exact path (same entries kept); other weight types and the js backend are unchanged;
// a bad value is refused.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getPolicy } from '@msrnn/policies';
import { createWasmBackend, jsBackend, type Backend, type PromptActivations } from '@msrnn/tensor';
import { argmax, createState, loadModel, prefill, type Model } from '../src/index.js';
import { haveShared, maxAbsDiff, shared } from './shared.js';

const names = ['stories260K-Q8_0', 'random256-Q8_0', 'stories260K-Q4_0', 'stories260K-F32'];
const gguf = (n: string) => resolve(shared, 'models/gguf', `${n}.gguf`);
const fixture = (n: string) => resolve(shared, 'fixtures/gguf', `${n}.json`);
/**
 * Largest |q8_0 − exact| logit allowed, as a share of the largest |exact| logit. Rounding each
 * activation to 1/254 of its block's largest value moves these tiny models' logits by 1.0 %
 * (stories260K, dim 64) and 2.1 % (random256) of their largest logit.
 */
const RELATIVE_TOLERANCE = 0.03;

if (haveShared('prompt activations', ...names.map(gguf), ...names.map(fixture))) {
  const one = await createWasmBackend({ threads: 1 }), two = await createWasmBackend({ threads: 2 });
  test.after(async () => { await one.dispose(); await two.dispose(); });
  const load = async (n: string, backend: Backend): Promise<Model> => loadModel(readFileSync(gguf(n)), { backend, source: n });
  const run = (n: string) => JSON.parse(readFileSync(fixture(n), 'utf8')).runs[0];
  const tokensOf = (r: { prompt_tokens: number[]; generated_tokens: number[] }) => [...r.prompt_tokens, ...r.generated_tokens.slice(0, -1)];
  const logitsOf = (model: Model, tokens: number[], activations: PromptActivations, policy?: () => ReturnType<typeof getPolicy>) => {
    const rows: Float32Array[] = [];
    const state = createState(model, policy ? { policy: policy() } : {});
    prefill(model, state, tokens, { activations, onLogits: (_, l) => rows.push(l.slice()) });
    return { rows, state };
  };

  for (const n of ['stories260K-Q8_0', 'random256-Q8_0', 'stories260K-Q4_0']) {
    test(`${n}: q8_0 activations stay within ${RELATIVE_TOLERANCE} × max|logit| of the exact path and predict the greedy tokens`, async () => {
      const model = await load(n, one), r = run(n), tokens = tokensOf(r);
      const exact = logitsOf(model, tokens, 'exact').rows, q8 = logitsOf(model, tokens, 'q8_0').rows;
      let worst = 0, scale = 0;
      for (let i = 0; i < tokens.length; i++) {
        worst = Math.max(worst, maxAbsDiff(exact[i]!, q8[i]!));
        for (const v of exact[i]!) scale = Math.max(scale, Math.abs(v));
      }
      assert.ok(worst > 0, 'the q8_0 path ran (its logits differ from the exact ones)');
      assert.ok(worst <= RELATIVE_TOLERANCE * scale, `max |q8_0 − exact| = ${worst}, max |logit| = ${scale}`);
      // The fixture's greedy continuation where the exact path is confident (top-2 margin > 4× the tolerance).
      const margin = 4 * RELATIVE_TOLERANCE * scale;
      r.generated_tokens.forEach((want: number, g: number) => {
        const i = r.prompt_tokens.length - 1 + g;
        if (i >= tokens.length) return;
        const e = exact[i]!, top = argmax(e), second = Math.max(...Array.from(e).filter((_, v) => v !== top));
        if (e[top]! - second > margin) assert.is(argmax(q8[i]!), want, `position ${i} predicts generated token ${g}`);
      });
      model.dispose();
    });
  }

  test('q8_0 activations: 2 threads give the 1-thread bits', async () => {
    const tokens = tokensOf(run('random256-Q8_0'));
    const a = await load('random256-Q8_0', one), b = await load('random256-Q8_0', two);
    const x = logitsOf(a, tokens, 'q8_0').rows, y = logitsOf(b, tokens, 'q8_0').rows;
    x.forEach((row, i) => assert.equal(Array.from(y[i]!), Array.from(row), `position ${i}`));
    a.dispose(); b.dispose();
  });

  test('q8_0 activations: a window policy keeps the same entries as the exact path (tokens enter one by one)', async () => {
    const model = await load('stories260K-Q8_0', one), tokens = tokensOf(run('stories260K-Q8_0'));
    const policy = () => getPolicy('window', { capacity: 16 });
    const e = logitsOf(model, tokens, 'exact', policy).state, q = logitsOf(model, tokens, 'q8_0', policy).state;
    e.layers.forEach((layer, l) => layer.heads.forEach((h, k) => {
      const h2 = q.layers[l]!.heads[k]!;
      assert.is(h2.count, h.count);
      assert.equal(Array.from(h2.positions.subarray(0, h2.count)), Array.from(h.positions.subarray(0, h.count)), `layer ${l} head ${k}`);
    }));
    model.dispose();
  });

  test('q8_0 activations change nothing for other weight types or on the js backend; bad values are refused', async () => {
    const tokens = tokensOf(run('stories260K-F32')).slice(0, 40);
    for (const [n, backend] of [['stories260K-F32', one], ['stories260K-Q8_0', jsBackend]] as const) {
      const model = await load(n, backend);
      const e = logitsOf(model, tokens, 'exact').rows, q = logitsOf(model, tokens, 'q8_0').rows;
      e.forEach((row, i) => assert.equal(Array.from(q[i]!), Array.from(row), `${n}: position ${i}`));
      model.dispose();
    }
    const model = await load('stories260K-Q8_0', one);
    assert.throws(() => prefill(model, createState(model), [1, 2, 3], { activations: 'int8' as never }), /prefill: activations must be one of "exact", "q8_0", got "int8"/);
    model.dispose();
  });
}

test.run();
