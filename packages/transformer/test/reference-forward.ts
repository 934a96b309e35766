// An independent, plain float64 forward pass of the architectures arch.ts describes, written the
// way the Hugging Face modeling files read (whole sequence, full causal attention, no cache, no
// shared code with src/ beyond the weight and config types). Tests compare step() and prefill()
// against it for each architecture variation.
import type { WeightMatrix } from '@msrnn/tensor';
import type { Linear, ModelConfig, Norm, Weights } from '../src/index.js';

const f32 = (w: WeightMatrix): Float32Array => {
  if (w.type !== 'f32') throw new Error('reference forward reads f32 weights only');
  return w.data.subarray(w.offset, w.offset + w.rows * w.cols);
};

function applyLinear(L: Linear, x: number[]): number[] {
  const w = f32(L.weight), rows = L.weight.rows, cols = L.weight.cols;
  const y: number[] = [];
  for (let r = 0; r < rows; r++) {
    let s = L.bias ? L.bias[r]! : 0;
    for (let c = 0; c < cols; c++) s += w[r * cols + c]! * x[c]!;
    y.push(s);
  }
  return y;
}

function applyNorm(c: ModelConfig, n: Norm, x: number[]): number[] {
  const len = x.length;
  if (c.arch.norm === 'rmsnorm') {
    const ms = x.reduce((a, v) => a + v * v, 0) / len;
    return x.map((v, i) => (v / Math.sqrt(ms + c.normEps)) * n.weight[i]!);
  }
  const mean = x.reduce((a, v) => a + v, 0) / len;
  const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / len;
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + c.normEps)) * n.weight[i]! + (n.bias ? n.bias[i]! : 0));
}

const gelu = (v: number): number => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
const silu = (v: number): number => v / (1 + Math.exp(-v));

/** HF _compute_default_rope_parameters + _compute_llama3_parameters, element by element; GGUF factors divide. */
export function referenceInvFreq(c: ModelConfig): number[] {
  const p = c.arch.positions;
  if (p.kind !== 'rope') return [];
  const hd = c.headDim ?? c.dim / c.nHeads, rot = p.rotaryDim ?? hd;
  const inv = Array.from({ length: rot / 2 }, (_, i) => 1 / p.theta ** ((2 * i) / rot));
  const s = p.scaling;
  if (s?.type === 'factors') return inv.map((f, i) => f / s.factors[i]!);
  if (s?.type !== 'llama3') return inv;
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor, highWavelen = s.originalMaxPositions / s.highFreqFactor;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    const scaled = wavelen > lowWavelen ? f / s.factor : f;
    const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    const medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
    return medium ? (1 - smooth) * (scaled / s.factor) + smooth * scaled : scaled;
  });
}

/** Rotates one head (a copy) at `pos`: HF rotate_half for 'half', adjacent pairs for 'interleaved'. */
function rotateHead(c: ModelConfig, head: number[], pos: number): number[] {
  const p = c.arch.positions;
  if (p.kind !== 'rope') return head;
  const inv = referenceInvFreq(c), rot = inv.length * 2, out = head.slice();
  for (let i = 0; i < inv.length; i++) {
    const [a, b] = p.layout === 'interleaved' ? [2 * i, 2 * i + 1] : [i, i + rot / 2];
    const cos = Math.cos(pos * inv[i]!), sin = Math.sin(pos * inv[i]!);
    out[a] = head[a]! * cos - head[b]! * sin;
    out[b] = head[b]! * cos + head[a]! * sin;
  }
  return out;
}

const heads = (v: number[], n: number, hd: number): number[][] => Array.from({ length: n }, (_, h) => v.slice(h * hd, (h + 1) * hd));

function rmsHead(c: ModelConfig, w: Float32Array | null, v: number[]): number[] {
  if (w === null) return v;
  const ms = v.reduce((a, x) => a + x * x, 0) / v.length;
  return v.map((x, i) => (x / Math.sqrt(ms + c.normEps)) * w[i]!);
}

/**
 * Logits at every position of `tokens` (plain arrays of float64). `storeEntry` rounds each cached
 * key and value head vector as a reduced-precision KV cache would store it (default: kept exact).
 */
export function referenceForward(c: ModelConfig, w: Weights, tokens: number[], storeEntry: (v: number[]) => number[] = (v) => v): number[][] {
  const a = c.arch, dim = c.dim, hd = c.headDim ?? dim / c.nHeads, group = c.nHeads / c.nKvHeads;
  const emb = f32(w.tokenEmbedding);
  let xs = tokens.map((t, p) => Array.from({ length: dim }, (_, i) =>
    emb[t * dim + i]! * a.embedScale + (w.positionEmbedding ? w.positionEmbedding[p * dim + i]! : 0)));
  for (const L of w.layers) {
    const K: number[][][] = [], V: number[][][] = [];
    const next: number[][] = [];
    xs.forEach((x, p) => {
      const h = applyNorm(c, L.attnNorm, x);
      const q = heads(applyLinear(L.q, h), c.nHeads, hd).map((v) => rotateHead(c, rmsHead(c, L.qNorm, v), p));
      K.push(heads(applyLinear(L.k, h), c.nKvHeads, hd).map((v) => storeEntry(rotateHead(c, rmsHead(c, L.kNorm, v), p))));
      V.push(heads(applyLinear(L.v, h), c.nKvHeads, hd).map(storeEntry));
      const scale = 1 / Math.sqrt(a.queryPreAttnScalar ?? hd);
      const attnOut: number[] = [];
      for (let qh = 0; qh < c.nHeads; qh++) {
        const kvh = Math.floor(qh / group);
        let scores = K.map((k) => k[kvh]!.reduce((s, kv, d) => s + kv * q[qh]![d]!, 0) * scale);
        if (a.attnSoftcap > 0) scores = scores.map((s) => a.attnSoftcap * Math.tanh(s / a.attnSoftcap));
        const max = Math.max(...scores), e = scores.map((s) => Math.exp(s - max)), sum = e.reduce((x, y) => x + y, 0);
        for (let d = 0; d < hd; d++) attnOut.push(V.reduce((s, v, j) => s + (e[j]! / sum) * v[kvh]![d]!, 0));
      }
      let o = applyLinear(L.o, attnOut);
      if (L.postAttnNorm) o = applyNorm(c, L.postAttnNorm, o);
      const x1 = x.map((v, i) => v + o[i]!);
      const h2 = applyNorm(c, L.ffnNorm, x1);
      const act = a.activation === 'silu' ? silu : gelu;
      const up = applyLinear(L.up, h2);
      const inner = L.gate ? applyLinear(L.gate, h2).map((g, i) => act(g) * up[i]!) : up.map(act);
      let f = applyLinear(L.down, inner);
      if (L.postFfnNorm) f = applyNorm(c, L.postFfnNorm, f);
      next.push(x1.map((v, i) => v + f[i]!));
    });
    xs = next;
  }
  return xs.map((x) => {
    const logits = applyLinear(w.classifier, applyNorm(c, w.finalNorm, x));
    return a.finalSoftcap > 0 ? logits.map((l) => a.finalSoftcap * Math.tanh(l / a.finalSoftcap)) : logits;
  });
}
