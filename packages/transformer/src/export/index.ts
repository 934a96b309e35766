// Writing models out (msrnn convert): GGUF, Hugging Face folders, llama2.c checkpoints, tokenizers,
// the GGUF file writer, and the logit check of a written model; also inspecting a Hugging Face folder (msrnn inspect). A separate entry (@msrnn/transformer/export) so pages
// that only run models do not bundle the writers.
export { exportFamily, checkExpressible, type ExportFamily } from './family.js';
export { modelToGguf, ggufExportType, type GgufExport, type GgufExportOptions } from './gguf.js';
export { modelToHfFiles, type HfExportOptions } from './hf.js';
export { modelToLlama2c } from './llama2c.js';
export { tokenizerGgufMetadata, tokenizerHfFiles, ggufTokenizerEntries, type TokenizerExport } from './tokenizer.js';
export { compareLogits, verificationTokens, withinTolerance, LOGIT_TOLERANCE, type LogitComparison } from './verify.js';
export { matrixFloat32, reorderRopeRows } from './tensors.js';
export { writeSafetensors, type SafetensorWrite } from '../safetensors/write.js';
export { inspectModelFiles } from '../inspect-folder.js';
export { writeGguf, ggufHeader, ggufPadding, type GgufHeader, type GgufTensorInfo, type GgufWriteTensor, type GgufWriteValue } from '../gguf/write.js';
