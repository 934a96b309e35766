export { GgufError } from './cursor.js';
export { GgufMetadata, GgufValueType, type GgufArray, type GgufEntry, type GgufValue, type GgufScalar } from './metadata.js';
export { parseGguf, isGguf, GGUF_MAGIC, GGUF_DEFAULT_ALIGNMENT, type GgufFile, type GgufTensor } from './parse.js';
export { ggufHeader, ggufPadding, writeGguf, type GgufHeader, type GgufTensorInfo, type GgufWriteTensor, type GgufWriteValue } from './write.js';
