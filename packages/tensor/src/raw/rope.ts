// Rotary position embeddings: ONE rotation kernel for both pair layouts. Each head's first
// `rotaryDim` dims hold rotaryDim/2 pairs; pair i turns by the angle whose cos/sin the caller gives;
// dims at and beyond rotaryDim pass through (partial rotary, as in GPT-NeoX/Phi). The layouts
// differ only in where a pair's two elements sit:
//  - 'interleaved' (llama2.c, GGUF llama, Meta): pair i is (x[2i], x[2i+1]);
//  - 'half' (Hugging Face rotate_half): pair i is (x[i], x[i + rotaryDim/2]).
// llama.cpp's converter permutes the q/k weight rows from the half layout to the interleaved one,
// which is why the two give the same attention scores.

export type RopeLayout = 'interleaved' | 'half';

/**
 * Writes `nHeads` heads (head h at sOff + h*headDim) rotated by pair i's (cos, sin) =
 * (cos[trigOff+i], sin[trigOff+i]) to dst (head h at dOff + h*headDim). dst may be src at the same
 * offset (in place): each pair is read before it is written. Dims >= rotaryDim are copied when dst
 * is not src. Callers precompute the cos/sin tables (one row per position), so a call does no
 * transcendental math and allocates nothing.
 */
export function rotateHeads(dst: Float32Array, dOff: number, src: Float32Array, sOff: number, nHeads: number, headDim: number,
  rotaryDim: number, layout: RopeLayout, cos: Float32Array, sin: Float32Array, trigOff: number): void {
  const half = rotaryDim >> 1;
  const stride = layout === 'interleaved' ? 2 : 1, partner = layout === 'interleaved' ? 1 : half;
  for (let h = 0; h < nHeads; h++) {
    const from = sOff + h * headDim, to = dOff + h * headDim;
    for (let i = 0; i < half; i++) {
      const c = cos[trigOff + i]!, s = sin[trigOff + i]!;
      const p = stride * i;
      const a = src[from + p]!, b = src[from + p + partner]!;
      dst[to + p] = a * c - b * s;
      dst[to + p + partner] = a * s + b * c;
    }
    if (dst !== src || dOff !== sOff) for (let d = rotaryDim; d < headDim; d++) dst[to + d] = src[from + d]!;
  }
}

/**
 * Fills cos/sin[at + i] = cos/sin(pos · invFreq[i]) for the pairs i < invFreq.length: one row of
 * the tables rotateHeads reads. Angles in float64, stored as float32.
 */
export function ropeAngles(cos: Float32Array, sin: Float32Array, at: number, pos: number, invFreq: Float64Array): void {
  for (let i = 0; i < invFreq.length; i++) {
    const angle = pos * invFreq[i]!;
    cos[at + i] = Math.cos(angle);
    sin[at + i] = Math.sin(angle);
  }
}

/** invFreq[i] = base^(-2i/rotaryDim), i < rotaryDim/2: the standard RoPE frequencies. */
export function ropeInvFreq(rotaryDim: number, base: number, out = new Float64Array(rotaryDim >> 1)): Float64Array {
  for (let i = 0; i < rotaryDim >> 1; i++) out[i] = Math.pow(base, (-2 * i) / rotaryDim);
  return out;
}

// Scratch for rope(): one row of frequencies and angles, remade only when the base or size changes.
let freqBase = NaN, freqDim = -1;
let freq: Float64Array = new Float64Array(0), cosRow = new Float32Array(0), sinRow = new Float32Array(0);

/**
 * Standard RoPE at `pos`, in place, on `nHeads` heads of x (head h at xOff + h*headDim):
 * rotateHeads with the angles pos · base^(-2i/rotaryDim).
 */
export function rope(x: Float32Array, xOff: number, nHeads: number, headDim: number,
  rotaryDim: number, pos: number, base: number, layout: RopeLayout): void {
  if (freqBase !== base || freqDim !== rotaryDim) {
    freq = ropeInvFreq(rotaryDim, base);
    cosRow = new Float32Array(freq.length);
    sinRow = new Float32Array(freq.length);
    freqBase = base; freqDim = rotaryDim;
  }
  ropeAngles(cosRow, sinRow, 0, pos, freq);
  rotateHeads(x, xOff, x, xOff, nHeads, headDim, rotaryDim, layout, cosRow, sinRow, 0);
}
