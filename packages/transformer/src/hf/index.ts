// Hugging Face folders: config.json + model.safetensors (or shards through the index) → a Model.
// From a map of file name → bytes (browsers: fetch or <input type=file>) or a folder path (Node, Deno, Bun).
import type { QuantAlloc } from '@msrnn/tensor';
import { jsonFile, readFolderFiles, type FileMap } from '../files.js';
import { readSafetensorsFiles, SAFETENSORS_INDEX, SAFETENSORS_SINGLE } from '../safetensors/folder.js';
import { hfLayout } from './config.js';
import { hfModelParts, type HfModelParts } from './load.js';
import { ModelFileError } from '../file-errors.js';

export { HF_ARCHITECTURES, hfLayout, type HfFamily, type HfLayout } from './config.js';
export { hfModelParts, type HfModelParts } from './load.js';

/** Whether a file map looks like a Hugging Face model folder. */
export function isHfFolder(files: FileMap): boolean {
  return jsonFile(files, 'config.json', '<folder>') !== undefined;
}

/** Config and weights of a folder given as name → bytes. */
export function hfPartsFromFiles(files: FileMap, mem: QuantAlloc, source = '<folder>'): HfModelParts {
  const json = jsonFile(files, 'config.json', source);
  if (json === undefined) throw new ModelFileError(`${source}: not a Hugging Face model folder (no config.json)`);
  const layout = hfLayout(json, `${source}/config.json`);
  return hfModelParts(layout, readSafetensorsFiles(files, source), mem);
}

/** Reads config.json, the index and every shard it names (or model.safetensors) from a folder. */
export async function readHfFolder(dir: string): Promise<Map<string, Uint8Array>> {
  const files = await readFolderFiles(dir, ['config.json', SAFETENSORS_INDEX]);
  if (!files.has('config.json')) throw new ModelFileError(`${dir}: not a model folder (no config.json)`);
  const index = jsonFile(files, SAFETENSORS_INDEX, dir) as { weight_map?: Record<string, unknown> } | undefined;
  const shards = index?.weight_map && typeof index.weight_map === 'object'
    ? [...new Set(Object.values(index.weight_map).filter((v): v is string => typeof v === 'string'))]
    : [SAFETENSORS_SINGLE];
  // Shard names come from the file: refuse anything that would leave the folder.
  for (const name of shards) if (/(^|[\\/])\.\.([\\/]|$)|^[\\/]/.test(name)) throw new ModelFileError(`${dir}/${SAFETENSORS_INDEX}: shard name ${JSON.stringify(name)} leaves the folder`);
  for (const [name, bytes] of await readFolderFiles(dir, shards)) files.set(name, bytes);
  return files;
}
