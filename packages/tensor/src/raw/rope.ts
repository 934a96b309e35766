// Rotary position embeddings, in place, for `nHeads` heads stored back to back (head h at
// xOff + h*headDim). Pair i (i < rotaryDim/2) turns by angle pos · base^(-2i/rotaryDim); dims at
// and beyond rotaryDim pass through (partial rotary, as in GPT-NeoX/Phi). Angles are computed in
// float64 once per pair and reused across heads, so the per-call cost is rotaryDim/2 sin/cos.

/** llama2.c / GGUF / Meta layout: pair i is (x[2i], x[2i+1]). */
export function ropeInterleaved(x: Float32Array, xOff: number, nHeads: number, headDim: number,
  rotaryDim: number, pos: number, base: number): void {
  rotatePairs(x, xOff, nHeads, headDim, rotaryDim, pos, base, 2, 1);
}

/** Hugging Face (rotate_half) layout: pair i is (x[i], x[i + rotaryDim/2]). */
export function ropeHalf(x: Float32Array, xOff: number, nHeads: number, headDim: number,
  rotaryDim: number, pos: number, base: number): void {
  rotatePairs(x, xOff, nHeads, headDim, rotaryDim, pos, base, 1, rotaryDim >> 1);
}

/** Pair i of each head is (x[p], x[p + partner]) with p = head start + i·stride; the layouts differ only there. */
function rotatePairs(x: Float32Array, xOff: number, nHeads: number, headDim: number,
  rotaryDim: number, pos: number, base: number, stride: number, partner: number): void {
  const half = rotaryDim >> 1;
  for (let i = 0; i < half; i++) {
    const angle = pos * Math.pow(base, (-2 * i) / rotaryDim);
    const cos = Math.cos(angle), sin = Math.sin(angle);
    for (let h = 0; h < nHeads; h++) {
      const p = xOff + h * headDim + stride * i;
      const a = x[p]!, b = x[p + partner]!;
      x[p] = a * cos - b * sin;
      x[p + partner] = a * sin + b * cos;
    }
  }
}
