/**
 * Node-only: a model on disk → FileTree → LoadedModel (the core does the rest).
 * A folder (an .mlpackage) or a .zip is read as itself; an .onnx brings the files beside it (external
 * data); any other single file (.mlmodel, or a model without the usual extension) is read alone.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ShrinkrayError } from '../core/errors';
import { loadModel } from '../core/formats';
import type { ByteSource, FileTree } from '../core/io/source';
import type { LoadedModel } from '../core/model/types';
import { fileSource, fileWithSiblings, pathTree } from './fs-tree';

export function treeForPath(path: string): FileTree {
  if (!existsSync(path)) throw new ShrinkrayError('not-a-model', `${path}: no such file or folder`, path);
  const st = statSync(path);
  if (st.isDirectory()) return pathTree(path);
  if (!st.isFile()) throw new ShrinkrayError('not-a-model', `${path}: not a regular file or folder`, path);
  if (/\.onnx$/i.test(path)) return onnxTree(path);
  return pathTree(path);
}

/**
 * An .onnx with the files beside it; external data in a sub-folder (`location: "data/w.bin"`) is found on
 * demand. Paths that climb out of the folder are never resolved (the ONNX reader refuses them anyway).
 */
function onnxTree(path: string): FileTree {
  const base = fileWithSiblings(path);
  const dir = dirname(path);
  const found = new Map<string, ByteSource>();
  return {
    name: base.name,
    paths: () => base.paths(),
    get(p) {
      const hit = base.get(p) ?? found.get(p);
      if (hit) return hit;
      const parts = p.split('/');
      if (p.startsWith('/') || parts.some((x) => x === '..' || x === '')) return undefined;
      const full = join(dir, ...parts);
      if (!existsSync(full) || !statSync(full).isFile()) return undefined;
      const src = fileSource(full, p);
      found.set(p, src);
      return src;
    },
  };
}

export async function loadPath(path: string): Promise<LoadedModel> {
  return loadModel(treeForPath(path));
}
