/**
 * The public API of `@msrnn/msrnn` (see its README).
 * @module @msrnn/msrnn
 */
export * from '@msrnn/msrnn';
