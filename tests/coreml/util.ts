/** Test helpers shared by the Core ML tests (Node only). */
import { memoryTree, type FileTree } from '../../src/core/io/source';
import { outputBytes, type LoadedModel, type WrittenModel } from '../../src/core/model/types';
import { pathTree } from '../../src/node/fs-tree';
import { detectFormat } from '../../src/core/formats/detect';
import { loadCoreML } from '../../src/core/formats/coreml/index';

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
