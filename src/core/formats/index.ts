/**
 * Entry point of the model readers: detects the format by content and hands the tree to its reader.
 */
import { ShrinkrayError } from '../errors';
import type { FileTree } from '../io/source';
import type { LoadedModel } from '../model/types';
import { detectFormat } from './detect';
import { loadCoreML } from './coreml';
import { loadOnnx } from './onnx';

export async function loadModel(tree: FileTree): Promise<LoadedModel> {
  const found = await detectFormat(tree);
  switch (found.format) {
    case 'mlpackage':
    case 'mlmodel':
      return loadCoreML(tree, found);
    case 'onnx':
      return loadOnnx(tree, found);
    default:
      throw new ShrinkrayError('not-a-model', `${tree.name}: not a Core ML or ONNX model`, tree.name);
  }
}
