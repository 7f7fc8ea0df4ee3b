/**
 * FileTrees over browser File objects. Reads go through File.slice(a, b).arrayBuffer(), so a weight file
 * is never read into one buffer as a whole.
 */
import type { ByteSource, FileTree } from '../../core/io/source';

/**
 * A ByteSource over a browser Blob that also hands out the Blob itself: a worker given the Blob and a byte range
 * reads the range there (src/store/locate.ts), so big weights never pass through the page's thread.
 */
export interface BlobSource extends ByteSource {
  readonly blob: Blob;
}

export function isBlobSource(s: ByteSource | undefined): s is BlobSource {
  return !!s && typeof Blob !== 'undefined' && (s as Partial<BlobSource>).blob instanceof Blob;
}

export function fileSource(file: Blob, name: string): BlobSource {
  return {
    name,
    blob: file,
    size: file.size,
    async read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > file.size) {
        throw new RangeError(`${name}: read [${offset}, ${offset + length}) past end of file (${file.size} bytes)`);
      }
      return new Uint8Array(await file.slice(offset, offset + length).arrayBuffer());
    },
  };
}

export interface NamedFile {
  /** '/'-separated path relative to what the user gave (e.g. `X.mlpackage/Manifest.json` or `model.onnx`) */
  path: string;
  file: Blob;
}

/** Builds a tree from files with paths. The display name is the top folder when all share one, else the first file's name. */
export function browserTree(files: NamedFile[], name?: string): FileTree {
  const map = new Map<string, ByteSource>();
  for (const f of files) {
    const p = f.path.replace(/^\/+/, '');
    map.set(p, fileSource(f.file, p));
  }
  const paths = [...map.keys()];
  return {
    name: name ?? treeName(paths),
    paths: () => [...paths],
    get: (p) => map.get(p),
  };
}

export function treeName(paths: string[]): string {
  if (paths.length === 0) return '(nothing)';
  const tops = new Set(paths.map((p) => p.split('/')[0]));
  if (tops.size === 1) return [...tops][0];
  // several loose files (ONNX + external data): name it after the model file
  const main = paths.find((p) => /\.(onnx|mlmodel)$/i.test(p)) ?? paths[0];
  return main.split('/').pop()!;
}

/** Files from an <input type=file> (with or without webkitdirectory): webkitRelativePath keeps the folder. */
export function filesFromInput(list: FileList | File[]): NamedFile[] {
  return [...list].map((f) => ({ path: (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name, file: f }));
}

// --- drag and drop --------------------------------------------------------------------------------

interface EntryLike {
  isFile: boolean;
  isDirectory: boolean;
  name: string;
  fullPath: string;
}
interface FileEntryLike extends EntryLike {
  file(ok: (f: File) => void, err: (e: unknown) => void): void;
}
interface DirEntryLike extends EntryLike {
  createReader(): { readEntries(ok: (e: EntryLike[]) => void, err: (e: unknown) => void): void };
}

/** Reads every entry of a directory: readEntries hands them over in batches (at most 100 in Chromium) until an empty one. */
export async function readAllEntries(dir: DirEntryLike): Promise<EntryLike[]> {
  const reader = dir.createReader();
  const out: EntryLike[] = [];
  for (;;) {
    const batch = await new Promise<EntryLike[]>((ok, err) => reader.readEntries(ok, err));
    if (batch.length === 0) return out;
    out.push(...batch);
  }
}

async function walkEntry(entry: EntryLike, prefix: string, out: NamedFile[]): Promise<void> {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) {
    const file = await new Promise<File>((ok, err) => (entry as FileEntryLike).file(ok, err));
    out.push({ path, file });
  } else if (entry.isDirectory) {
    for (const child of await readAllEntries(entry as DirEntryLike)) await walkEntry(child, path, out);
  }
}

/**
 * Files from a drop: folders (through webkitGetAsEntry, read fully) and loose files. The entries must be
 * taken synchronously in the drop handler, before any await, or the DataTransfer is emptied.
 */
export function collectDrop(dt: DataTransfer): Promise<NamedFile[]> {
  const entries: EntryLike[] = [];
  const loose: File[] = [];
  const items = dt.items ? [...dt.items] : [];
  for (const item of items) {
    if (item.kind !== 'file') continue;
    const entry = (item as DataTransferItem & { webkitGetAsEntry?: () => EntryLike | null }).webkitGetAsEntry?.();
    if (entry) entries.push(entry);
    else {
      const f = item.getAsFile();
      if (f) loose.push(f);
    }
  }
  if (items.length === 0 && dt.files) loose.push(...dt.files);
  return (async () => {
    const out: NamedFile[] = [];
    for (const e of entries) await walkEntry(e, '', out);
    for (const f of loose) out.push({ path: f.name, file: f });
    return out;
  })();
}
