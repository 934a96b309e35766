export {
  parseSafetensors, isSafetensors, safetensorToFloat32, SafetensorsError, SAFETENSORS_DTYPES, MAX_HEADER_BYTES,
  type SafetensorsDtype, type SafetensorsTensor, type SafetensorsFile,
} from './parse.js';
export {
  readSafetensorsFiles, loadSafetensorsFolder, SAFETENSORS_SINGLE, SAFETENSORS_INDEX, type SafetensorsCheckpoint,
} from './folder.js';
