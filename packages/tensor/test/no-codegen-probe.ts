// Run by no-codegen.test.ts under `node --disallow-code-generation-from-strings`: imports the core
// entry of every core package given on the command line (file paths), runs kernels, prints JSON.
import { pathToFileURL } from 'node:url';

let codegenBlocked = false;
try { new Function('return 1'); } catch (e) { codegenBlocked = e instanceof EvalError; }

const loaded: string[] = [];
for (const entry of process.argv.slice(2)) {
  await import(pathToFileURL(entry).href);
  loaded.push(entry);
}

const { Tensor, matvec, softmax, jsBackend } = await import('@msrnn/tensor');
const w = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
const out = Tensor.zeros([2]);
matvec(out, w, Tensor.from([1, 1, 1], [3]));
const probs = softmax(Tensor.from([0, Math.log(3)], [2]));
const sum = new Float32Array(2);
jsBackend.add(sum, Float32Array.from([1, 2]), Float32Array.from([3, 4]), 2);

// The interop entry is allowed to need code generation: show that it would fail here.
let interopBlocked = false;
try {
  const { toNdarray } = await import('@msrnn/tensor/interop');
  toNdarray(w);
} catch (e) { interopBlocked = e instanceof EvalError; }

console.log(JSON.stringify({ codegenBlocked, loaded, matvec: Array.from(out.data), softmax: Array.from(probs.data), add: Array.from(sum), interopBlocked }));
