// RoPE frequencies per rotated pair, with the scalings models ship: Llama 3's smooth rescaling of
// the low frequencies (HF rope_scaling type "llama3") and GGUF's per-pair divisors (`rope_freqs`).
import { raw } from '@msrnn/tensor';
import type { Llama3RopeScaling, RopeScaling } from './arch.js';

/** invFreq[i] for pairs i < rotaryDim/2: theta^(-2i/rotaryDim), then the scaling if any. */
export function ropeFrequencies(rotaryDim: number, theta: number, scaling: RopeScaling | null): Float64Array {
  const f = raw.ropeInvFreq(rotaryDim, theta);
  if (scaling?.type === 'llama3') llama3Scale(f, scaling);
  else if (scaling?.type === 'factors') for (let i = 0; i < f.length; i++) f[i] = f[i]! / scaling.factors[i]!;
  return f;
}

/**
 * Llama 3: wavelengths longer than original/lowFreqFactor are slowed by `factor`, those shorter
 * than original/highFreqFactor are kept, and the band between is interpolated linearly in
 * original/wavelength.
 */
function llama3Scale(f: Float64Array, s: Llama3RopeScaling): void {
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositions / s.highFreqFactor;
  for (let i = 0; i < f.length; i++) {
    const wavelen = (2 * Math.PI) / f[i]!;
    if (wavelen < highWavelen) continue;
    if (wavelen > lowWavelen) { f[i] = f[i]! / s.factor; continue; }
    const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    f[i] = (1 - smooth) * (f[i]! / s.factor) + smooth * f[i]!;
  }
}
