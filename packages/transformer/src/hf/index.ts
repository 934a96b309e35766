// Hugging Face folders: config.json + model.safetensors (or shards through the index) → a Model.
// From a map of file name → bytes (browsers: fetch or <input type=file>) or a folder path (Node, Deno, Bun).
import type { QuantAlloc } from '@msrnn/tensor';
import { jsonFile, readFolderFiles, type FileMap } from '../files.js';
import { readSafetensorsFiles, readSafetensorsSources, SAFETENSORS_INDEX, SAFETENSORS_SINGLE, type SafetensorsCheckpoint } from '../safetensors/folder.js';
import type { SafetensorsEntry } from '../safetensors/parse.js';
import type { ByteSource } from '../byte-source.js';
import type { ReadPlan } from '../read-plan.js';
import { hfLayout, type HfLayout } from './config.js';
import { hfModelParts, hfWeightBytes, type HfModelParts } from './load.js';
import { ModelFileError } from '../file-errors.js';

export { HF_ARCHITECTURES, hfLayout, type HfFamily, type HfLayout } from './config.js';
export { hfModelParts, type HfModelParts } from './load.js';

/** Whether a file map looks like a Hugging Face model folder. */
export function isHfFolder(files: FileMap): boolean {
  return jsonFile(files, 'config.json', '<folder>') !== undefined;
}

/** Config and weights of a folder given as name → bytes; `plan` receives the reads that fill the weights. */
export function hfPartsFromFiles(files: FileMap, mem: QuantAlloc, plan: ReadPlan, source = '<folder>', room?: (bytes: number) => void): HfModelParts {
  const layout = hfLayout(configJson(files, source), `${source}/config.json`);
  return hfModelParts(layout, checkedRoom(layout, readSafetensorsFiles(files, source), room), mem, plan);
}

/**
 * Config and weights of a folder whose JSON files are in `files` and whose safetensors are byte
 * sources (`shards`: file name → source): only the safetensors headers are read here.
 */
export async function hfPartsFromSources(files: FileMap, shards: ReadonlyMap<string, ByteSource>, mem: QuantAlloc, plan: ReadPlan, source: string,
  room?: (bytes: number) => void): Promise<HfModelParts> {
  const layout = hfLayout(configJson(files, source), `${source}/config.json`);
  return hfModelParts(layout, checkedRoom(layout, await readSafetensorsSources(shards, jsonFile(files, SAFETENSORS_INDEX, source), source), room), mem, plan);
}

/** `ckpt` after `room` (a check that the weights fit the backend) heard the bytes its weights will take (hfWeightBytes). */
function checkedRoom<T extends SafetensorsCheckpoint<SafetensorsEntry>>(layout: HfLayout, ckpt: T, room?: (bytes: number) => void): T {
  room?.(hfWeightBytes(layout, ckpt));
  return ckpt;
}

function configJson(files: FileMap, source: string): unknown {
  const json = jsonFile(files, 'config.json', source);
  if (json === undefined) throw new ModelFileError(`${source}: not a Hugging Face model folder (no config.json)`);
  return json;
}

/** Reads config.json, the index and every shard it names (or model.safetensors) from a folder. */
export async function readHfFolder(dir: string): Promise<Map<string, Uint8Array>> {
  const files = await readFolderFiles(dir, ['config.json', SAFETENSORS_INDEX]);
  for (const [name, bytes] of await readFolderFiles(dir, hfShardNames(files, dir))) files.set(name, bytes);
  return files;
}

/** The safetensors files a folder's index names (or model.safetensors), given its config.json and index. */
export function hfShardNames(files: ReadonlyMap<string, Uint8Array>, dir: string): string[] {
  if (!files.has('config.json')) throw new ModelFileError(`${dir}: not a model folder (no config.json)`);
  const index = jsonFile(files, SAFETENSORS_INDEX, dir) as { weight_map?: Record<string, unknown> } | undefined;
  const shards = index?.weight_map && typeof index.weight_map === 'object'
    ? [...new Set(Object.values(index.weight_map).filter((v): v is string => typeof v === 'string'))]
    : [SAFETENSORS_SINGLE];
  // Shard names come from the file: refuse anything that would leave the folder.
  for (const name of shards) if (/(^|[\\/])\.\.([\\/]|$)|^[\\/]/.test(name)) throw new ModelFileError(`${dir}/${SAFETENSORS_INDEX}: shard name ${JSON.stringify(name)} leaves the folder`);
  return shards;
}
