// A loaded model → a llama2.c version-1 checkpoint (export.py's version1_export: 256-byte header
// with magic "ak42", then norms, embeddings and matrices as fp32), the inverse of llama2c.ts. The
// format states only llama's sizes; everything else is fixed (RMSNorm eps 1e-5, RoPE theta 10000
// on interleaved pairs, no biases, no windows), so a model that differs is refused by name.
import { headDimOf } from '../config.js';
import { LLAMA2C_MAGIC } from '../llama2c.js';
import type { Model } from '../model.js';
import { checkExpressible, exportFamily } from './family.js';
import { float32Bytes, matrixFloat32, reorderRopeRows } from './tensors.js';

const HEADER_BYTES = 256;

export function modelToLlama2c(model: Model): Uint8Array {
  const c = model.config, a = c.arch, w = model.weights;
  const fail = (what: string): never => { throw new Error(`${model.source}: ${what} cannot be written as a llama2.c checkpoint`); };
  const family = exportFamily(model);
  if (family !== 'llama') fail(`a ${family} model`);
  checkExpressible(model, 'llama', 'llama2.c checkpoint');
  if (Math.abs(c.normEps - 1e-5) > 1e-12) fail(`norm epsilon ${c.normEps} (llama2.c fixes 1e-5)`);
  if (a.positions.kind !== 'rope' || a.positions.theta !== 10000 || a.positions.scaling !== null) fail('RoPE other than theta 10000 without scaling');
  if (headDimOf(c) * c.nHeads !== c.dim) fail(`head size ${headDimOf(c)} × ${c.nHeads} heads ≠ dim ${c.dim}`);

  const parts: Float32Array[] = [];
  const perLayer = (f: (l: (typeof w.layers)[number]) => Float32Array) => { for (const L of w.layers) parts.push(f(L)); };
  const m = matrixFloat32;
  perLayer((L) => L.attnNorm.weight);
  perLayer((L) => L.ffnNorm.weight);
  parts.push(w.finalNorm.weight, m(w.tokenEmbedding));
  perLayer((L) => reorderRopeRows(m(L.q.weight), model, c.nHeads, 'interleaved'));
  perLayer((L) => reorderRopeRows(m(L.k.weight), model, c.nKvHeads, 'interleaved'));
  perLayer((L) => m(L.v.weight));
  perLayer((L) => m(L.o.weight));
  perLayer((L) => m(L.gate!.weight));
  perLayer((L) => m(L.down.weight));
  perLayer((L) => m(L.up.weight));
  const shared = w.classifier.weight === w.tokenEmbedding;
  if (!shared) parts.push(m(w.classifier.weight));

  const out = new Uint8Array(HEADER_BYTES + parts.reduce((n, p) => n + p.byteLength, 0));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, LLAMA2C_MAGIC, true);
  dv.setInt32(4, 1, true);
  [c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, c.vocabSize, c.seqLen].forEach((v, i) => dv.setInt32(8 + 4 * i, v, true));
  out[8 + 28] = shared ? 1 : 0;
  let at = HEADER_BYTES;
  for (const p of parts) { out.set(float32Bytes(p), at); at += p.byteLength; }
  return out;
}
