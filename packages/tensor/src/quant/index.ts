export {
  type WeightType, type WeightMatrix, type F32Weights, type F16Weights, type Q8Weights, type QuantAlloc,
  WEIGHT_TYPES, Q8_BLOCK, checkWeightType, f32Weights, quantizeF16, quantizeQ8, quantize, weightBytes, matvecF16Js, matvecQ8Js,
  matvecWeights, matmulWeights, dequantizeRow, quantizeActivations16,
} from './weights.js';
export { type GgmlTypeInfo, GGML_TYPES, GGML, SUPPORTED_GGML_TYPES, ggmlTypeInfo, supportedGgmlType, ggmlRowBytes } from './ggml-types.js';
