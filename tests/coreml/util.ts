/** Test helpers shared by the Core ML tests (Node only). */
import { memoryTree, type FileTree } from '../../io/source';
import { outputBytes, type LoadedModel, type WrittenModel } from '../../model/types';
import { pathTree } from '../../../node/fs-tree';
import { detectFormat } from '../detect';
import { loadCoreML } from './index';

export async function loadTree(t: FileTree): Promise<LoadedModel> {
  return loadCoreML(t, await detectFormat(t));
}

export async function loadPath(p: string): Promise<LoadedModel> {
  return loadTree(pathTree(p));
}

/** A written model as an in-memory tree (files collected from their chunks). */
export async function writtenTree(w: WrittenModel): Promise<FileTree> {
  const files: Record<string, Uint8Array> = {};
  for (const f of w.files) files[f.path] = await outputBytes(f);
  return memoryTree(w.name, files);
}

export async function reload(w: WrittenModel): Promise<LoadedModel> {
  return loadTree(await writtenTree(w));
}
