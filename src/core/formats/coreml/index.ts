/** Core ML reader (in progress). */
import { ShrinkrayError } from '../../errors';
import type { FileTree } from '../../io/source';
import type { LoadedModel } from '../../model/types';
import type { Detected } from '../detect';

export async function loadCoreML(tree: FileTree, found: Detected): Promise<LoadedModel> {
  throw new ShrinkrayError('internal', `${found.tree.name || tree.name}: Core ML reader not available yet`);
}
