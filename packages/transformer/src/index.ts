export { type ModelConfig, validateConfig, headDimOf, kvDimOf } from './config.js';
export { type Weights, type LayerWeights, parameterCount } from './weights.js';
export { LLAMA2C_MAGIC, parseLlama2c, type Llama2cVersion, type ParsedCheckpoint } from './llama2c.js';
export {
  type Model, type LoadOptions, type CreateStateOptions, loadModel, modelFromBytes, createState, checkStateFits, checkToken,
} from './model.js';
export { type PositionMode, Positions } from './positions.js';
export { step } from './step.js';
export { prefill, type PrefillOptions } from './prefill.js';
export {
  Tokenizer, StreamingDecoder, loadTokenizer, tokenizerFromBytes, BOS, EOS, BYTE_TOKEN_OFFSET,
} from './tokenizer.js';
export { Sampler, XorShiftRng, argmax, clockSeed, samplerSettings, type SamplerOptions } from './sampler.js';
export { generate, type GenerateOptions, type GeneratedPiece } from './generate.js';
export { quantizeModel } from './quantize.js';
export { type BytesLike } from './bytes.js';
export {
  parseGguf, isGguf, writeGguf, GgufError, GgufMetadata, GgufValueType, GGUF_MAGIC,
  type GgufFile, type GgufTensor, type GgufEntry, type GgufValue, type GgufArray, type GgufWriteValue, type GgufWriteTensor,
} from './gguf/index.js';
