export {
  type WeightType, type WeightMatrix, type GgmlWeights, type F32Weights, type F16Weights, type Q8Weights, type QuantAlloc,
  WEIGHT_TYPES, Q8_BLOCK, checkWeightType, f32Weights, f32WeightsUnscanned, quantizeF16, quantizeQ8, quantizeQ8Row, quantize, weightBytes, matvecF16Js, matvecQ8Js,
  matvecWeights, matvecWeightsShared, matmulWeights, dequantizeRow, ggmlWeights, ggmlWeightsUnscanned, quantizeActivations16, splitActivations16,
} from './weights.js';
export { dequantizeGgmlRow, IQ4_NL_LEVELS } from './ggml-dequant.js';
export { type PromptActivations, PROMPT_ACTIVATIONS, checkPromptActivations } from './prompt-activations.js';
export { type GgmlTypeInfo, GGML_TYPES, GGML, SUPPORTED_GGML_TYPES, ggmlTypeInfo, supportedGgmlType, ggmlRowBytes } from './ggml-types.js';
export { matvecGgmlJs, matmulGgmlJs } from './ggml-matvec-js.js';
export { type NonFiniteGgml, describeNonFiniteGgml, findNonFiniteGgml, nonFiniteScanFor } from './ggml-finite.js';
export { ROWS4_TYPES, ROWS4_MAX_COLS, forEachGroup4, packRows4, rows4Suits, unpackGroup4, unpackRow4 } from './rows4.js';
