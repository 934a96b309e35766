// Minimal typings for the parts of ndarray-ops the tests use (the package ships none; it is
// CommonJS, so it arrives as a default export).
declare module 'ndarray-ops' {
  import type { NdArray } from 'ndarray';
  const ops: {
    add(out: NdArray, a: NdArray, b: NdArray): void;
    mul(out: NdArray, a: NdArray, b: NdArray): void;
    muls(out: NdArray, a: NdArray, s: number): void;
    assign(out: NdArray, a: NdArray): void;
  };
  export default ops;
}
