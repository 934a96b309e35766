// ggml's tensor types as GGUF files number them (enum ggml_type in ggml.h): block size (values
// per block), bytes per block, and whether this library runs it. Types it does not run are still
// listed so a file reader can size their tensors and name them in its error.

export interface GgmlTypeInfo {
  /** The ggml_type id stored in a GGUF tensor info. */
  readonly id: number;
  /** ggml's name (GGML_TYPE_<name>), e.g. 'Q4_K'. */
  readonly name: string;
  /** Values per block along a row (1 for plain element types). */
  readonly blockSize: number;
  /** Bytes one block takes. */
  readonly blockBytes: number;
  /** Whether dequantizeRow / the matvec kernels handle it. */
  readonly supported: boolean;
}

const info = (id: number, name: string, blockSize: number, blockBytes: number, supported = false): GgmlTypeInfo =>
  Object.freeze({ id, name, blockSize, blockBytes, supported });

/** Every ggml type id a GGUF file may hold (ids 4, 5, 31–33, 36–38 were removed from ggml and are absent). */
export const GGML_TYPES: readonly GgmlTypeInfo[] = Object.freeze([
  info(0, 'F32', 1, 4, true),
  info(1, 'F16', 1, 2, true),
  info(2, 'Q4_0', 32, 18, true), // f16 d, 16 bytes of nibbles
  info(3, 'Q4_1', 32, 20, true), // f16 d, f16 m, 16 bytes of nibbles
  info(6, 'Q5_0', 32, 22, true), // f16 d, 4 bytes of 5th bits, 16 bytes of nibbles
  info(7, 'Q5_1', 32, 24, true), // f16 d, f16 m, 4 bytes of 5th bits, 16 bytes of nibbles
  info(8, 'Q8_0', 32, 34, true), // f16 d, 32 int8
  info(9, 'Q8_1', 32, 36), // ggml's activation-side type (f16 d, f16 s, 32 int8)
  info(10, 'Q2_K', 256, 84),
  info(11, 'Q3_K', 256, 110),
  info(12, 'Q4_K', 256, 144, true), // f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles
  info(13, 'Q5_K', 256, 176, true), // as Q4_K plus 32 bytes of 5th bits
  info(14, 'Q6_K', 256, 210, true), // 128 bytes low nibbles, 64 bytes high 2 bits, 16 int8 scales, f16 d
  info(15, 'Q8_K', 256, 292),
  info(16, 'IQ2_XXS', 256, 66),
  info(17, 'IQ2_XS', 256, 74),
  info(18, 'IQ3_XXS', 256, 98),
  info(19, 'IQ1_S', 256, 50),
  info(20, 'IQ4_NL', 32, 18, true), // f16 d, 16 bytes of nibbles indexing a fixed non-linear table
  info(21, 'IQ3_S', 256, 110),
  info(22, 'IQ2_S', 256, 82),
  info(23, 'IQ4_XS', 256, 136),
  info(24, 'I8', 1, 1),
  info(25, 'I16', 1, 2),
  info(26, 'I32', 1, 4),
  info(27, 'I64', 1, 8),
  info(28, 'F64', 1, 8),
  info(29, 'IQ1_M', 256, 56),
  info(30, 'BF16', 1, 2, true),
  info(34, 'TQ1_0', 256, 54),
  info(35, 'TQ2_0', 256, 66),
  info(39, 'MXFP4', 32, 17),
]);

/** ggml type ids by name, for readable code: GGML.Q4_K === 12. */
export const GGML = Object.freeze({
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q8_1: 9, Q2_K: 10, Q3_K: 11, Q4_K: 12, Q5_K: 13,
  Q6_K: 14, Q8_K: 15, IQ4_NL: 20, BF16: 30,
} as const);

const byId = new Map(GGML_TYPES.map((t) => [t.id, t]));

/** The supported type names, for error messages. */
export const SUPPORTED_GGML_TYPES: readonly string[] = Object.freeze(GGML_TYPES.filter((t) => t.supported).map((t) => t.name));

/** The type with this id; a RangeError for an id ggml does not define. */
export function ggmlTypeInfo(id: number): GgmlTypeInfo {
  const t = byId.get(id);
  if (t === undefined) throw new RangeError(`unknown ggml tensor type id ${id} (known ids: ${[...byId.keys()].join(', ')})`);
  return t;
}

/** The type with this id if this library runs it; else an error naming the type and the supported ones. */
export function supportedGgmlType(id: number, what = 'tensor'): GgmlTypeInfo {
  const t = ggmlTypeInfo(id);
  if (!t.supported) throw new Error(`${what}: ggml type ${t.name} (id ${id}) is not supported (supported: ${SUPPORTED_GGML_TYPES.join(', ')})`);
  return t;
}

/**
 * Bytes of one row of `cols` values of type `id`. Throws if the id is unknown or cols is not a
 * positive multiple of the type's block size (a row holds whole blocks in ggml).
 */
export function ggmlRowBytes(id: number, cols: number): number {
  const t = ggmlTypeInfo(id);
  if (!Number.isSafeInteger(cols) || cols <= 0) throw new RangeError(`ggml ${t.name} row: cols must be a positive integer, got ${cols}`);
  if (cols % t.blockSize !== 0) throw new RangeError(`ggml ${t.name} row: ${cols} columns is not a multiple of the block size ${t.blockSize}`);
  return (cols / t.blockSize) * t.blockBytes;
}
