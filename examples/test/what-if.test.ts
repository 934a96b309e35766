// The what-if example: each branch continues exactly as if its prompt had run from scratch, and
// branches (clones) share no storage, on the js and the wasm backend.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getPolicy } from '@msrnn/policies';
import type { HeadCache } from '@msrnn/msrnn';
import { createWasmBackend } from '@msrnn/tensor';
import { argmax, createState, loadModel, loadTokenizer, step, type Model } from '@msrnn/transformer';
import { haveShared, sharedPath } from '../../scripts/shared-data.js';
import { whatIf } from '../what-if.js';

const modelPath = sharedPath('models/stories260K.bin');
const tokenizerPath = sharedPath('models/tok512.bin');

function overlaps(a: Float32Array, b: Float32Array): boolean {
  if (a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

function branchesShareNothing(model: Model, name: string): void {
  const base = createState(model, { policy: getPolicy('h2o', { capacity: 8 }) });
  for (let t = 0; t < 20; t++) step(model, base, 5 + t);
  const before = base.save();
  const a = base.clone(), b = base.clone();
  for (let t = 0; t < 10; t++) { step(model, a, 100 + t); step(model, b, 200 + t); }
  assert.equal(base.save(), before, `${name}: stepping the branches left the parent unchanged`);
  assert.not.equal(a.save(), b.save(), `${name}: the branches differ`);
  const heads = (s: typeof base) => s.layers.flatMap((l) => l.heads) as HeadCache[];
  const [ha, hb, hp] = [heads(a), heads(b), heads(base)];
  for (let i = 0; i < ha.length; i++) {
    for (const [x, y] of [[ha[i]!, hb[i]!], [ha[i]!, hp[i]!], [hb[i]!, hp[i]!]] as const) {
      assert.not.ok(overlaps(x.keys, y.keys) || overlaps(x.values, y.values), `${name}: head ${i} keys/values overlap`);
      assert.is.not(x.positions.buffer, y.positions.buffer);
      assert.is.not(x.stats.buffer, y.stats.buffer);
    }
  }
}

if (haveShared('what-if', modelPath, tokenizerPath)) {
  test('what-if: every branch equals its prompt run from scratch', async () => {
    const model = await loadModel(modelPath);
    const tokenizer = await loadTokenizer(tokenizerPath);
    const prefix = 'Once upon a time, there was a little';
    const endings = [' girl', ' dog'];
    const r = whatIf(model, tokenizer, prefix, endings, { capacity: 16, steps: 12 });
    assert.is(r.branches.length, 2);
    for (const b of r.branches) {
      // Independent reference: a fresh state, the whole prompt stepped, then greedy.
      const s = createState(model, { policy: getPolicy('tova', { capacity: 16 }) });
      let logits: Float32Array = new Float32Array(0);
      for (const t of [...tokenizer.encode(prefix), ...tokenizer.encode(b.ending, { bos: false })]) logits = step(model, s, t).slice();
      const expected: number[] = [];
      for (let i = 0; i < 12; i++) { const t = argmax(logits); expected.push(t); logits = step(model, s, t).slice(); }
      assert.equal(b.tokens, expected, b.ending);
    }
    assert.not.equal(r.branches[0]!.tokens, r.branches[1]!.tokens);
  });

  test('branches (state.clone()) share no storage: js and wasm', async () => {
    branchesShareNothing(await loadModel(modelPath), 'js');
    branchesShareNothing(await loadModel(modelPath, { backend: await createWasmBackend() }), 'wasm');
  });
}

test.run();
