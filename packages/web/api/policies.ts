/**
 * The public API of `@msrnn/policies` (see its README).
 * @module @msrnn/policies
 */
export * from '@msrnn/policies';
