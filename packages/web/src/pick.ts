// What the user picked or dropped, as files plus the folder's name when it was a folder: a file
// input (several files), a folder input (webkitdirectory: every file under it, with its relative
// path), or a drop of files or of one folder. A model folder's own files are its top level;
// subfolders (onnx/, .git/, …) are left out. The bytes are read later, in the worker.
export interface Picked { files: File[]; folder?: string }

/** From an <input type=file> (with or without webkitdirectory). */
export function pickedFromInput(list: FileList | null): Picked | null {
  const all = Array.from(list ?? []);
  if (all.length === 0) return null;
  const rel = all[0]!.webkitRelativePath;
  if (!rel) return { files: all };
  // "folder/config.json": the folder's own files have exactly one '/' in their relative path.
  return { files: all.filter((f) => f.webkitRelativePath.split('/').length === 2), folder: rel.split('/')[0] };
}

const entryFile = (e: FileSystemFileEntry) => new Promise<File>((ok, fail) => e.file(ok, fail));

/** Every entry of a dropped folder (readEntries returns them in batches until an empty one). */
async function folderEntries(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader(), out: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
    if (batch.length === 0) return out;
    out.push(...batch);
  }
}

/** Names a model's files go by (the file picker's accept list): weights, or a Hugging Face folder's config. */
const MODEL_FILE = /\.(bin|gguf|safetensors)$|^config\.json$/;
const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
/** Names for a message: the first few, then how many more. */
const listed = (names: string[]) => names.length <= 4 ? names.join(', ') : `${names.slice(0, 4).join(', ')} and ${names.length - 4} more`;

/** From a drop: files, or one folder (its top-level files). */
export async function pickedFromDrop(data: DataTransfer | null): Promise<Picked | null> {
  if (!data) return null;
  // Entries must be taken now: the drop's DataTransfer is emptied once its event handler returns.
  const entries = Array.from(data.items).map((i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  const dirs = entries.filter((e) => e.isDirectory) as FileSystemDirectoryEntry[];
  if (dirs.length === 0) return data.files.length ? { files: Array.from(data.files) } : null;
  if (entries.length > 1) {
    const files = entries.length - dirs.length;
    throw new Error(`drop one model folder, or model files, not ${count(dirs.length, 'folder')}${files ? ` and ${count(files, 'file')}` : ''} (${listed(entries.map((e) => e.name))})`);
  }
  const dir = dirs[0]!;
  const inside = await folderEntries(dir);
  const files = await Promise.all(inside.filter((e) => e.isFile).map((e) => entryFile(e as FileSystemFileEntry)));
  const sub = inside.filter((e) => e.isDirectory).map((e) => e.name).sort();
  // A folder of model folders (its own files a README, checksums…): say so rather than try its files as a model.
  if (!files.some((f) => MODEL_FILE.test(f.name)) && sub.length > 0) {
    throw new Error(`the folder ${dir.name} holds no model files${files.length ? ` (${listed(files.map((f) => f.name))})` : ''}, only folders (${listed(sub)}): drop one model folder`);
  }
  if (files.length === 0) throw new Error(`the folder ${dir.name} holds no files`);
  return { files, folder: dir.name };
}
