/**
 * The public API of `@msrnn/transformer` (see its README).
 * @module @msrnn/transformer
 */
export * from '@msrnn/transformer';
