// The errors a loader throws for a file that is not what it claims to be (corrupt, truncated,
// absurd header values), so a caller can tell a bad file from a bug. The message starts with the
// file's name and says what is wrong. GGUF and safetensors have their own (GgufError,
// SafetensorsError, with the byte offset); saved states StateFileError (@msrnn/msrnn).

/**
 * A model file whose contents make no usable model: a llama2.c checkpoint's header or weights, a
 * GGUF file's metadata or tensors that describe no supported model, weights that do not fit the
 * config (any loader's shape check).
 */
export class ModelFileError extends Error {
  override name = 'ModelFileError';
}

/** A llama2.c tokenizer.bin that cannot be read. */
export class TokenizerFileError extends Error {
  override name = 'TokenizerFileError';
}
