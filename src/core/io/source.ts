/**
 * The core never touches the DOM or node:fs. Files reach it as ByteSources (random access, read in pieces)
 * grouped in a FileTree (a dropped folder, a zip, a set of dropped files, a folder on disk).
 */
export interface ByteSource {
  /** Path of the file inside its tree, '/'-separated (for a single file: its name). */
  readonly name: string;
  readonly size: number;
  /**
   * Reads [offset, offset+length). Must throw if the range is past the end. `into` (optional, exactly `length`
   * bytes): a buffer the caller lends, which a source may fill and return instead of allocating one (sources
   * holding the bytes in memory return their own view; the caller uses what is returned).
   */
  read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
}

export interface FileTree {
  /** Display name of what the user gave us: a file name, a folder name or a zip name. */
  readonly name: string;
  /** Every file, as '/'-separated paths relative to the tree root. */
  paths(): string[];
  get(path: string): ByteSource | undefined;
}

export function memorySource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    size: bytes.length,
    async read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > bytes.length) {
        throw new RangeError(`${name}: read [${offset}, ${offset + length}) past end of file (${bytes.length} bytes)`);
      }
      return bytes.subarray(offset, offset + length);
    },
  };
}

export function memoryTree(name: string, files: Record<string, Uint8Array>): FileTree {
  const map = new Map(Object.entries(files).map(([p, b]) => [p, memorySource(p, b)]));
  return { name, paths: () => [...map.keys()], get: (p) => map.get(p) };
}

export async function readAll(src: ByteSource): Promise<Uint8Array> {
  return src.read(0, src.size);
}

/** The common prefix folder of a tree, if every path sits under one folder (e.g. `X.mlpackage/`). */
export function subTree(tree: FileTree, prefix: string, name = prefix.replace(/\/$/, '')): FileTree {
  const pre = prefix.endsWith('/') ? prefix : prefix + '/';
  return {
    name,
    paths: () => tree.paths().filter((p) => p.startsWith(pre)).map((p) => p.slice(pre.length)),
    get: (p) => tree.get(pre + p),
  };
}
