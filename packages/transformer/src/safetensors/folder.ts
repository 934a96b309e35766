// A checkpoint's safetensors, single (model.safetensors) or sharded (model.safetensors.index.json
// names each tensor's shard), from a map of file name -> bytes, so browsers and Node load the same
// way, or from byte sources whose headers alone are read (a streaming load).
import { fileBytes, jsonFile, readFolderFiles, type FileMap } from '../files.js';
import { parseSafetensors, parseSafetensorsIndex, safetensorsHeaderBytes, SafetensorsError, type SafetensorsEntry, type SafetensorsIndex, type SafetensorsTensor } from './parse.js';
import { bytesSource, readBytes, type ByteSource } from '../byte-source.js';
import { ModelFileError } from '../file-errors.js';

export const SAFETENSORS_SINGLE = 'model.safetensors';
export const SAFETENSORS_INDEX = 'model.safetensors.index.json';

/** A tensor and the file (shard) its bytes are in. */
export type Located<T extends SafetensorsEntry> = T & { readonly file: ByteSource };

export interface SafetensorsCheckpoint<T extends SafetensorsEntry = SafetensorsTensor> {
  readonly source: string;
  readonly tensors: ReadonlyMap<string, Located<T>>;
  /** The index's "metadata" (sharded) merged over each file's __metadata__. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** The safetensors files read, in order. */
  readonly files: readonly string[];
}

/** Reads the checkpoint of a folder's files: the index and its shards when there is an index, else model.safetensors. */
export function readSafetensorsFiles(files: FileMap, source = '<folder>'): SafetensorsCheckpoint {
  const shard = (name: string): SafetensorsIndex<Located<SafetensorsTensor>> | undefined => {
    const bytes = fileBytes(files, name);
    if (bytes === undefined) return undefined;
    const where = `${source}/${name}`, file = parseSafetensors(bytes, where), at = bytesSource(bytes, where);
    const tensors = file.tensors.map((t) => ({ ...t, file: at }));
    return { ...file, tensors, tensorsByName: new Map(tensors.map((t) => [t.name, t])) };
  };
  return checkpoint(jsonFile(files, SAFETENSORS_INDEX, source), shard, source);
}

/**
 * The checkpoint of a folder whose safetensors are byte sources (`shards`: file name → source;
 * `index`: the parsed model.safetensors.index.json, or undefined): only the headers are read.
 */
export async function readSafetensorsSources(shards: ReadonlyMap<string, ByteSource>, index: unknown, source: string): Promise<SafetensorsCheckpoint<SafetensorsEntry>> {
  const names = index === undefined ? [SAFETENSORS_SINGLE] : [...new Set(shardMap(index, `${source}/${SAFETENSORS_INDEX}`).values())];
  const parsed = new Map<string, SafetensorsIndex<Located<SafetensorsEntry>>>();
  for (const name of names) {
    const file = shards.get(name);
    if (!file) continue; // named by checkpoint() below, as for a folder in memory
    const where = `${source}/${name}`;
    const end = safetensorsHeaderBytes(await readBytes(file, 0, Math.min(8, file.size), 'the header length'), file.size, where);
    const header = parseSafetensorsIndex(await readBytes(file, 0, end, 'the header'), file.size, where);
    const tensors = header.tensors.map((t) => ({ ...t, file }));
    parsed.set(name, { ...header, tensors, tensorsByName: new Map(tensors.map((t) => [t.name, t])) });
  }
  return checkpoint(index, (name) => parsed.get(name), source);
}

/** The checkpoint from the index (undefined: a single model.safetensors) and each shard's parsed header (undefined: the folder lacks it). */
function checkpoint<T extends SafetensorsEntry>(index: unknown, shard: (name: string) => SafetensorsIndex<Located<T>> | undefined, source: string): SafetensorsCheckpoint<T> {
  if (index === undefined) {
    const file = shard(SAFETENSORS_SINGLE);
    if (file === undefined) throw new ModelFileError(`${source}: no ${SAFETENSORS_SINGLE} and no ${SAFETENSORS_INDEX}`);
    return { source, tensors: file.tensorsByName, metadata: { ...file.metadata }, files: [SAFETENSORS_SINGLE] };
  }
  const where = `${source}/${SAFETENSORS_INDEX}`;
  const weightMap = shardMap(index, where);
  const shards = [...new Set(weightMap.values())];
  const tensors = new Map<string, Located<T>>();
  const metadata: Record<string, unknown> = {};
  for (const name of shards) {
    const file = shard(name);
    if (file === undefined) throw new ModelFileError(`${where} lists shard ${JSON.stringify(name)}, which the folder does not have`);
    Object.assign(metadata, file.metadata);
    for (const t of file.tensors) {
      if (tensors.has(t.name)) throw new SafetensorsError(`${source}/${name}`, `tensor ${JSON.stringify(t.name)} is also in another shard`);
      const listed = weightMap.get(t.name);
      if (listed !== name) {
        throw new ModelFileError(`${where}: tensor ${JSON.stringify(t.name)} is in ${name} but the index ${listed === undefined ? 'does not list it' : `puts it in ${listed}`}`);
      }
      tensors.set(t.name, t);
    }
  }
  for (const [name, file] of weightMap) if (!tensors.has(name)) throw new ModelFileError(`${where} puts tensor ${JSON.stringify(name)} in ${file}, which does not have it`);
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
