// The errors a loader throws for a file that is not what it claims to be (corrupt, truncated,
// absurd header values), so a caller can tell a bad file from a bug. The message starts with the
// file's name and says what is wrong. GGUF and safetensors have their own (GgufError,
// SafetensorsError, with the byte offset); saved states StateFileError (@msrnn/msrnn).

/** A llama2.c checkpoint, or a model header any loader validates, that cannot be used. */
export class ModelFileError extends Error {
  override name = 'ModelFileError';
}

/** A llama2.c tokenizer.bin that cannot be read. */
export class TokenizerFileError extends Error {
  override name = 'TokenizerFileError';
}
