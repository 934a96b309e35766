// Rotary position embeddings, in place, for `nHeads` heads stored back to back (head h at
// xOff + h*headDim). Pair i (i < rotaryDim/2) turns by angle pos · base^(-2i/rotaryDim); dims at
// and beyond rotaryDim pass through (partial rotary, as in GPT-NeoX/Phi). Angles are computed in
// float64 once per pair and reused across heads, so the per-call cost is rotaryDim/2 sin/cos.

/** llama2.c / GGUF / Meta layout: pair i is (x[2i], x[2i+1]). */
export function ropeInterleaved(x: Float32Array, xOff: number, nHeads: number, headDim: number,
  rotaryDim: number, pos: number, base: number): void {
  const half = rotaryDim >> 1;
  for (let i = 0; i < half; i++) {
    const angle = pos * Math.pow(base, (-2 * i) / rotaryDim);
    const cos = Math.cos(angle), sin = Math.sin(angle);
    for (let h = 0; h < nHeads; h++) {
      const p = xOff + h * headDim + 2 * i;
      const a = x[p]!, b = x[p + 1]!;
      x[p] = a * cos - b * sin;
      x[p + 1] = a * sin + b * cos;
    }
  }
}

/** Hugging Face (rotate_half) layout: pair i is (x[i], x[i + rotaryDim/2]). */
export function ropeHalf(x: Float32Array, xOff: number, nHeads: number, headDim: number,
  rotaryDim: number, pos: number, base: number): void {
  const half = rotaryDim >> 1;
  for (let i = 0; i < half; i++) {
    const angle = pos * Math.pow(base, (-2 * i) / rotaryDim);
    const cos = Math.cos(angle), sin = Math.sin(angle);
    for (let h = 0; h < nHeads; h++) {
      const p = xOff + h * headDim + i;
      const a = x[p]!, b = x[p + half]!;
      x[p] = a * cos - b * sin;
      x[p + half] = a * sin + b * cos;
    }
  }
}
