/**
 * Node-only: a model on disk → FileTree → LoadedModel (the core does the rest).
 * A folder (an .mlpackage) or a .zip is read as itself; an .onnx brings the files beside it (external
 * data); any other single file (.mlmodel, or a model without the usual extension) is read alone.
 */
import { existsSync, statSync } from 'node:fs';
import { ShrinkrayError } from '../core/errors';
import { loadModel } from '../core/formats';
import type { FileTree } from '../core/io/source';
import type { LoadedModel } from '../core/model/types';
import { fileWithSiblings, pathTree } from './fs-tree';

export function treeForPath(path: string): FileTree {
  if (!existsSync(path)) throw new ShrinkrayError('not-a-model', `${path}: no such file or folder`, path);
  const st = statSync(path);
  if (st.isDirectory()) return pathTree(path);
  if (!st.isFile()) throw new ShrinkrayError('not-a-model', `${path}: not a regular file or folder`, path);
  if (/\.onnx$/i.test(path)) return fileWithSiblings(path);
  return pathTree(path);
}

export async function loadPath(path: string): Promise<LoadedModel> {
  return loadModel(treeForPath(path));
}
