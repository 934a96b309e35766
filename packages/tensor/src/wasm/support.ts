// Can this runtime compile our SIMD kernels? Checked by validating a tiny SIMD module, which
// is cheap and works where compiling from bytes is allowed (Cloudflare Workers forbid it).
import { ModuleBuilder, Simd, ValType } from './emitter.js';

let cached: string | null | undefined;

/** Returns null when WebAssembly SIMD128 is usable, else one line saying why not. */
export function wasmSimdUnavailableReason(): string | null {
  if (cached !== undefined) return cached;
  cached = probeWasmSimd(typeof WebAssembly === 'object' ? WebAssembly : undefined);
  return cached;
}

/** The uncached check against a given WebAssembly namespace (injectable for tests). */
export function probeWasmSimd(wasm: typeof WebAssembly | undefined): string | null {
  if (!wasm || typeof wasm.validate !== 'function') return 'WebAssembly is not available in this runtime';
  const m = new ModuleBuilder({ module: 'env', name: 'memory', initialPages: 1 });
  const f = m.function('probe', [ValType.i32]);
  f.get(f.params[0]!).get(f.params[0]!).simdMem(Simd.v128_load).f32(2).simd(Simd.f32x4_splat).simd(Simd.f32x4_mul).simdMem(Simd.v128_store);
  const bytes = m.encode();
  try {
    if (!wasm.validate(bytes)) return 'this runtime\'s WebAssembly lacks SIMD128';
  } catch (err) {
    return `WebAssembly validation failed: ${(err as Error).message}`;
  }
  try {
    new wasm.Module(bytes);
  } catch (err) {
    return `compiling WebAssembly from bytes is not allowed here: ${(err as Error).message}`;
  }
  return null;
}
