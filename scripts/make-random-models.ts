// Writes llama2.c (legacy v0, tied classifier) checkpoints with seeded random weights in the
// shapes of the TinyStories models, for benchmarks: speed depends on shapes, not on values.
// Usage: node scripts/run-ts.mjs scripts/make-random-models.ts [outDir=.bench/models] [15M,42M,110M]
import { createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { resolve } from 'node:path';

interface Shape { dim: number; nLayers: number; nHeads: number; nKvHeads: number; hiddenDim: number; vocabSize: number; seqLen: number }

const BENCH_SHAPES: Record<string, Shape> = {
  '15M': { dim: 288, nLayers: 6, nHeads: 6, nKvHeads: 6, hiddenDim: 768, vocabSize: 32000, seqLen: 256 },
  '42M': { dim: 512, nLayers: 8, nHeads: 8, nKvHeads: 8, hiddenDim: 1376, vocabSize: 32000, seqLen: 1024 },
  '110M': { dim: 768, nLayers: 12, nHeads: 12, nKvHeads: 12, hiddenDim: 2048, vocabSize: 32000, seqLen: 1024 },
};

function randomModelPath(dir: string, name: string): string { return resolve(dir, `random-stories${name}.bin`); }

/** Floats in file order (run.c v0): embedding, per-layer tensors grouped by kind, final norm, RoPE tables. */
function tensorPlan(s: Shape): { count: number; kind: 'matrix' | 'norm' | 'zero' }[] {
  const kv = (s.dim / s.nHeads) * s.nKvHeads, L = s.nLayers, headSize = s.dim / s.nHeads;
  return [
    { count: s.vocabSize * s.dim, kind: 'matrix' },
    { count: L * s.dim, kind: 'norm' },
    { count: L * s.dim * s.dim, kind: 'matrix' },
    { count: L * kv * s.dim, kind: 'matrix' },
    { count: L * kv * s.dim, kind: 'matrix' },
    { count: L * s.dim * s.dim, kind: 'matrix' },
    { count: L * s.dim, kind: 'norm' },
    { count: L * s.hiddenDim * s.dim, kind: 'matrix' },
    { count: L * s.dim * s.hiddenDim, kind: 'matrix' },
    { count: L * s.hiddenDim * s.dim, kind: 'matrix' },
    { count: s.dim, kind: 'norm' },
    { count: s.seqLen * headSize, kind: 'zero' }, // freq_cis real+imag (unused by loaders)
  ];
}

function expectedBytes(s: Shape): number { return 28 + 4 * tensorPlan(s).reduce((a, t) => a + t.count, 0); }

/** Writes one model unless a file of the right size exists. Weights ~ U(-0.05, 0.05), norms 1. */
async function writeRandomModel(path: string, s: Shape, seed: number): Promise<boolean> {
  if (existsSync(path) && statSync(path).size === expectedBytes(s)) return false;
  const out = createWriteStream(path);
  const header = new Int32Array([s.dim, s.hiddenDim, s.nLayers, s.nHeads, s.nKvHeads, s.vocabSize, s.seqLen]);
  out.write(new Uint8Array(header.buffer));
  let state = seed >>> 0 || 1;
  const chunk = new Float32Array(1 << 20);
  for (const t of tensorPlan(s)) {
    for (let done = 0; done < t.count; done += chunk.length) {
      const n = Math.min(chunk.length, t.count - done);
      for (let i = 0; i < n; i++) {
        if (t.kind === 'matrix') {
          state ^= state << 13; state ^= state >>> 17; state ^= state << 5; // xorshift32
          chunk[i] = ((state >>> 0) / 4294967296 - 0.5) * 0.1;
        } else chunk[i] = t.kind === 'norm' ? 1 : 0;
      }
      if (!out.write(new Uint8Array(chunk.buffer, 0, n * 4).slice())) await once(out, 'drain');
    }
  }
  out.end();
  await once(out, 'finish');
  return true;
}

const dir = resolve(process.argv[2] ?? '.bench/models');
const names = (process.argv[3] ?? '15M,42M,110M').split(',');
mkdirSync(dir, { recursive: true });
for (const [i, name] of names.entries()) {
  const shape = BENCH_SHAPES[name];
  if (!shape) { console.error(`unknown shape "${name}" (expected ${Object.keys(BENCH_SHAPES).join(', ')})`); process.exit(2); }
  const path = randomModelPath(dir, name);
  const wrote = await writeRandomModel(path, shape, 1234 + i);
  console.log(`${wrote ? 'wrote' : 'kept'} ${path} (${(expectedBytes(shape) / 2 ** 20).toFixed(0)} MiB)`);
}
