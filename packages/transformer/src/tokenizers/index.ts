// The `@msrnn/transformer/tokenizers` entry: tokenizers for Hugging Face tokenizer.json and GGUF
// vocabularies (through @huggingface/tokenizers, a third of the core's bundled bytes), and the
// loaders that pick one by file. An entry of its own so that a page stepping token ids does not
// ship them; the main entry keeps the `Tokenizer` interface and llama2.c's tokenizer.
export {
  type Tokenizer, type EncodeOptions, type DecodeOptions, type StreamDecoderOptions, type TokenStreamDecoder, type AddedToken,
} from './types.js';
export { HfTokenizer, type HfTokenizerOptions, hfTokenizerFromFiles, loadHfTokenizer, HF_TOKENIZER_FILES } from './hf.js';
export { tokenizerFromGgufMetadata, type GgufTokenizerMetadata, SUPPORTED_GGUF_PRE_TOKENIZERS, SUPPORTED_GGUF_TOKENIZER_MODELS } from './gguf.js';
export { loadAnyTokenizer, tokenizerFromAnyBytes, type AnyTokenizerOptions } from './load.js';
export { embeddedTokenizer } from '../embedded-tokenizer.js';
