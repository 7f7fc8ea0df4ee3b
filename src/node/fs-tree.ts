/** Node-only: FileTrees over files and folders on disk, read in pieces with positioned reads. */
import { openSync, readSync, closeSync, statSync, readdirSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import type { ByteSource, FileTree } from '../core/io/source';

export function fileSource(path: string, name = basename(path)): ByteSource {
  const size = statSync(path).size;
  return {
    name,
    size,
    async read(offset, length, into) {
      if (offset < 0 || length < 0 || offset + length > size) {
        throw new RangeError(`${name}: read [${offset}, ${offset + length}) past end of file (${size} bytes)`);
      }
      const out = into && into.length === length ? into : new Uint8Array(length);
      const fd = openSync(path, 'r');
      try {
        let done = 0;
        while (done < length) {
          const n = readSync(fd, out, done, length - done, offset + done);
          if (n === 0) throw new RangeError(`${name}: unexpected end of file at ${offset + done}`);
          done += n;
        }
      } finally {
        closeSync(fd);
      }
      return out;
    },
  };
}

function walk(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
}

/** A tree for a path: a folder (e.g. an .mlpackage) or one file; `extra` adds sibling files (ONNX external data). */
export function pathTree(path: string, extra: string[] = []): FileTree {
  const st = statSync(path);
  const files = new Map<string, ByteSource>();
  if (st.isDirectory()) {
    const list: string[] = [];
    walk(path, list);
    for (const f of list) {
      const rel = relative(path, f).split(sep).join('/');
      files.set(rel, fileSource(f, rel));
    }
  } else {
    files.set(basename(path), fileSource(path));
    for (const x of extra) files.set(basename(x), fileSource(x));
  }
  return { name: basename(path), paths: () => [...files.keys()], get: (p) => files.get(p) };
}

/** For a single model file: the file plus every other file in its folder (ONNX external data lives there). */
export function fileWithSiblings(path: string): FileTree {
  const dir = join(path, '..');
  const siblings = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && join(dir, e.name) !== path)
    .map((e) => join(dir, e.name));
  return pathTree(path, siblings);
}
