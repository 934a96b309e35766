// A model folder as a map of file name -> bytes, so browsers (fetch, <input type=file>) and Node
// load folders the same way.
import { asBytes, readOptionalFileBytes, type BytesLike } from './bytes.js';

export type FileMap = ReadonlyMap<string, BytesLike> | Readonly<Record<string, BytesLike>>;

/** The bytes of `name` in `files`, or undefined when the folder has no such file. */
export function fileBytes(files: FileMap, name: string): Uint8Array | undefined {
  const value = files instanceof Map ? files.get(name) : Object.hasOwn(files, name) ? (files as Record<string, BytesLike>)[name] : undefined;
  return value === undefined ? undefined : asBytes(value, name);
}

/** Parses a JSON file of the folder (undefined when absent); a syntax error names the file. */
export function jsonFile(files: FileMap, name: string, where: string): unknown {
  const bytes = fileBytes(files, name);
  if (bytes === undefined) return undefined;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${where}/${name}: not valid UTF-8 text`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}/${name}: invalid JSON: ${(e as Error).message}`);
  }
}

/** Reads the named files of a folder that exist (Node, Deno, Bun) into a FileMap. */
export async function readFolderFiles(dir: string, names: readonly string[]): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const name of names) {
    // '/' joins on every OS (Windows accepts it); no node:path, so browser bundles stay Node-free.
    const bytes = await readOptionalFileBytes(`${dir.replace(/[\\/]+$/, '')}/${name}`, name);
    if (bytes) files.set(name, bytes);
  }
  return files;
}
