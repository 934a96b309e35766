/**
 * The public API of `@msrnn/tensor` (see its README).
 * @module @msrnn/tensor
 */
export * from '@msrnn/tensor';
