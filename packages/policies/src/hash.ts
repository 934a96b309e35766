// Stateless seeded randomness: a uniform number derived from (seed, a, b, c) alone. Random
// policies use it instead of a generator so that a cloned state makes the same choices as the
// original, and a run is reproducible from its seed whatever order layers are processed in.

/** 32-bit finalizer (lowbias32): a bijection with good avalanche. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Uniform in [0, 1), a pure function of its integer arguments. */
export function uniform(seed: number, a: number, b: number, c = 0): number {
  let h = mix32(seed ^ 0x9e3779b9);
  h = mix32(h ^ a);
  h = mix32((h + Math.imul(b, 0x85ebca6b)) >>> 0);
  h = mix32(h ^ Math.imul(c, 0xc2b2ae35));
  return h / 4294967296;
}
