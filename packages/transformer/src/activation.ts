// The feed-forward nonlinearity: silu or GELU (tanh approximation), gated when the layer has a gate
// projection. silu + gate = SwiGLU (llama, qwen, mistral, phi3), GELU + gate = GeGLU (gemma),
// GELU without gate = GPT-2's MLP.
import { raw, type Backend } from '@msrnn/tensor';
import type { Activation } from './arch.js';

/** out[i] = act(gate[i]) · up[i], i < n. out may be gate. */
export function gatedActivation(B: Backend, act: Activation, out: Float32Array, gate: Float32Array, up: Float32Array, n: number): void {
  if (act === 'silu') { B.swiglu(out, gate, up, n); return; }
  raw.geluTanh(out, 0, gate, 0, n);
  raw.mul(out, 0, out, 0, up, 0, n);
}

/** x[i] = act(x[i]), i < n (an ungated MLP). */
export function activation(act: Activation, x: Float32Array, n: number): void {
  if (act === 'silu') raw.silu(x, 0, x, 0, n);
  else raw.geluTanh(x, 0, x, 0, n);
}
