// Main entry: models, loaders, step. Kept out of it so that a page stepping token ids ships less:
// the writers ('./export'), tokenizer.json / GGUF tokenizers ('./tokenizers'), chat templates ('./chat').
export { type ModelConfig, validateConfig, headDimOf, kvDimOf, qDimOf, rotaryDimOf } from './config.js';
export {
  type Architecture, type NormKind, type Activation, type PositionEncoding, type RopePositions as RopePositionSpec, type LearnedPositions,
  type RopeScaling, type Llama3RopeScaling, type FactorRopeScaling, LLAMA, architecture, slidingWindowOf,
} from './arch.js';
export { type Weights, type LayerWeights, type Linear, type Norm, linear, norm, parameterCount } from './weights.js';
export { LLAMA2C_MAGIC, parseLlama2c, parseLlama2cHeader, type Llama2cVersion, type ParsedCheckpoint } from './llama2c.js';
export {
  type Model, type LoadOptions, type CreateStateOptions, type ModelFromWeightsOptions, loadModel, loadModelFiles, modelFromBytes, modelFromSource, modelFromWeights, modelFromFiles, MODEL_FOLDER_FILES,
  createState, checkStateFits, checkToken,
} from './model.js';
export { type PositionMode, type Positions, positionsFor, RopePositions } from './positions.js';
export { ropeFrequencies } from './rope-frequencies.js';
export { step, layer } from './step.js';
export { append, attend, compress } from './attention.js';
export { linearRows, addBias } from './linear.js';
export { normRows, headNorm, foldUnitOffset } from './norm.js';
export { gatedActivation, activation } from './activation.js';
export { softcap, attendHeadSoftcapped } from './softcap.js';
export { embed } from './embed.js';
export { logitsRows } from './logits.js';
export { prefill, type PrefillOptions } from './prefill.js';
export {
  SentinelStream, periodicSpans, listedSpans, MAX_SPAN_LIMIT, TEXT, OPEN, CLOSE,
  type SentinelIds, type SpanRule, type SentinelStreamOptions, type ElementKind,
} from './sentinel.js';
export {
  type Tokenizer, type EncodeOptions, type DecodeOptions, type StreamDecoderOptions, type TokenStreamDecoder, type AddedToken,
} from './tokenizers/types.js';
export {
  Llama2cTokenizer, type Llama2cDecodeOptions, type TokenizerBytesOptions, StreamingDecoder, loadTokenizer, tokenizerFromBytes, BOS, EOS, BYTE_TOKEN_OFFSET,
} from './tokenizers/llama2c.js';
export { Sampler, XorShiftRng, argmax, clockSeed, samplerSettings, type SamplerOptions } from './sampler.js';
export { generate, type GenerateOptions, type GeneratedPiece } from './generate.js';
export { quantizeModel } from './quantize.js';
export { type BytesLike } from './bytes.js';
export { blobSource, bytesSource, readBytes, type ByteSource } from './byte-source.js';
export { ModelFileError, TokenizerFileError } from './file-errors.js';
export { DisposedError } from '@msrnn/msrnn';
export { type FileMap } from './files.js';
export {
  parseGguf, isGguf, GgufError, GgufMetadata, GgufValueType, GGUF_MAGIC,
  type GgufFile, type GgufTensor, type GgufEntry, type GgufValue, type GgufArray,
} from './gguf/index.js';
export { inspectModelBytes, inspectModelFile, inspectModelSource, stateBytes, bytesPerEntryByKv, type ModelReport, type InspectedTensor, type InspectedTokenizer } from './inspect.js';
export { describeGgufLlama, SUPPORTED_GGUF_ARCHITECTURES, type GgufLlamaLayout, type GgufLayer, type GgufLinear, type GgufNorm, type GgufSlice } from './gguf/llama.js';
export {
  parseSafetensors, isSafetensors, safetensorToFloat32, SafetensorsError, SAFETENSORS_DTYPES,
  type SafetensorsDtype, type SafetensorsTensor, type SafetensorsFile,
  readSafetensorsFiles, loadSafetensorsFolder, type SafetensorsCheckpoint,
} from './safetensors/index.js';
export { modelFingerprint, restoreState, type RestoreOptions, type RestoredState } from './state-io.js';
export { HF_ARCHITECTURES, hfLayout, hfPartsFromFiles, isHfFolder, readHfFolder, type HfFamily, type HfLayout } from './hf/index.js';
