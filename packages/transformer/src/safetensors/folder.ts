// A checkpoint's safetensors, single (model.safetensors) or sharded (model.safetensors.index.json
// names each tensor's shard), from a map of file name -> bytes, so browsers and Node load the same way.
import { fileBytes, jsonFile, readFolderFiles, type FileMap } from '../files.js';
import { parseSafetensors, SafetensorsError, type SafetensorsTensor } from './parse.js';
import { ModelFileError } from '../file-errors.js';

export const SAFETENSORS_SINGLE = 'model.safetensors';
export const SAFETENSORS_INDEX = 'model.safetensors.index.json';

export interface SafetensorsCheckpoint {
  readonly source: string;
  readonly tensors: ReadonlyMap<string, SafetensorsTensor>;
  /** The index's "metadata" (sharded) merged over each file's __metadata__. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** The safetensors files read, in order. */
  readonly files: readonly string[];
}

/** Reads the checkpoint of a folder's files: the index and its shards when there is an index, else model.safetensors. */
export function readSafetensorsFiles(files: FileMap, source = '<folder>'): SafetensorsCheckpoint {
  const index = jsonFile(files, SAFETENSORS_INDEX, source);
  if (index === undefined) {
    const bytes = fileBytes(files, SAFETENSORS_SINGLE);
    if (bytes === undefined) throw new ModelFileError(`${source}: no ${SAFETENSORS_SINGLE} and no ${SAFETENSORS_INDEX}`);
    const file = parseSafetensors(bytes, `${source}/${SAFETENSORS_SINGLE}`);
    return { source, tensors: file.tensorsByName, metadata: { ...file.metadata }, files: [SAFETENSORS_SINGLE] };
  }
  const where = `${source}/${SAFETENSORS_INDEX}`;
  const weightMap = shardMap(index, where);
  const shards = [...new Set(weightMap.values())];
  const tensors = new Map<string, SafetensorsTensor>();
  const metadata: Record<string, unknown> = {};
  for (const shard of shards) {
    const bytes = fileBytes(files, shard);
    if (bytes === undefined) throw new ModelFileError(`${where} lists shard ${JSON.stringify(shard)}, which the folder does not have`);
    const file = parseSafetensors(bytes, `${source}/${shard}`);
    Object.assign(metadata, file.metadata);
    for (const t of file.tensors) {
      if (tensors.has(t.name)) throw new SafetensorsError(`${source}/${shard}`, `tensor ${JSON.stringify(t.name)} is also in another shard`);
      const listed = weightMap.get(t.name);
      if (listed !== shard) {
        throw new ModelFileError(`${where}: tensor ${JSON.stringify(t.name)} is in ${shard} but the index ${listed === undefined ? 'does not list it' : `puts it in ${listed}`}`);
      }
      tensors.set(t.name, t);
    }
  }
  for (const [name, shard] of weightMap) if (!tensors.has(name)) throw new ModelFileError(`${where} puts tensor ${JSON.stringify(name)} in ${shard}, which does not have it`);
  Object.assign(metadata, (index as { metadata?: object }).metadata ?? {});
  return { source, tensors, metadata, files: shards };
}

function shardMap(index: unknown, where: string): Map<string, string> {
  if (index === null || typeof index !== 'object' || Array.isArray(index)) throw new ModelFileError(`${where}: must be a JSON object`);
  const wm = (index as { weight_map?: unknown }).weight_map;
  if (wm === null || typeof wm !== 'object' || Array.isArray(wm)) throw new ModelFileError(`${where}: has no "weight_map" object`);
  const map = new Map<string, string>();
  for (const [name, file] of Object.entries(wm)) {
    // A shard name is a file beside the index, never a path that climbs out of the folder.
    if (typeof file !== 'string' || !/^[^/\\]+\.safetensors$/.test(file) || file.startsWith('.')) {
      throw new ModelFileError(`${where}: weight_map[${JSON.stringify(name)}] = ${JSON.stringify(file)} is not a .safetensors file name in the folder`);
    }
    map.set(name, file);
  }
  if (map.size === 0) throw new ModelFileError(`${where}: weight_map is empty`);
  return map;
}

/** Reads a folder's checkpoint from disk (Node, Deno, Bun): the index first, then only the files it names. */
export async function loadSafetensorsFolder(dir: string): Promise<SafetensorsCheckpoint> {
  const index = await readFolderFiles(dir, [SAFETENSORS_INDEX]);
  const json = jsonFile(index, SAFETENSORS_INDEX, dir);
  const names = json === undefined ? [SAFETENSORS_SINGLE] : [...new Set(shardMap(json, `${dir}/${SAFETENSORS_INDEX}`).values())];
  const files = await readFolderFiles(dir, names);
  for (const [k, v] of index) files.set(k, v);
  return readSafetensorsFiles(files, dir);
}
