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

/** From a drop: files, or one folder (its top-level files). */
export async function pickedFromDrop(data: DataTransfer | null): Promise<Picked | null> {
  if (!data) return null;
  const entries = Array.from(data.items).map((i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  const dirs = entries.filter((e) => e.isDirectory) as FileSystemDirectoryEntry[];
  if (dirs.length === 0) return data.files.length ? { files: Array.from(data.files) } : null;
  if (entries.length > 1) throw new Error(`drop one model folder, or model files, not ${dirs.length} folder(s) and ${entries.length - dirs.length} file(s)`);
  const dir = dirs[0]!;
  const files = await Promise.all((await folderEntries(dir)).filter((e) => e.isFile).map((e) => entryFile(e as FileSystemFileEntry)));
  if (files.length === 0) throw new Error(`the folder ${dir.name} holds no files`);
  return { files, folder: dir.name };
}
