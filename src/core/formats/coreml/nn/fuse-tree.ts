/**
 * The fusion step of quantize_weights (nbits < 16) for a whole input: every `.mlmodel` file of the tree (a
 * bare .mlmodel, or the model.mlmodel of a package) whose networks have fusable layer pairs is replaced by
 * its fused bytes; every other file is passed through. Load the returned tree as usual, then compress.
 */
import { memorySource, type ByteSource, type FileTree } from '../../../io/source';
import { fuseModel, type Fusion } from './fuse';

export async function fuseTree(tree: FileTree): Promise<{ tree: FileTree; fusions: Fusion[] }> {
  const fusions: Fusion[] = [];
  const replaced = new Map<string, ByteSource>();
  for (const p of tree.paths()) {
    if (!/\.mlmodel$/i.test(p)) continue;
    const src = tree.get(p);
    if (!src || src.size === 0) continue;
    const bytes = await src.read(0, src.size);
    let r: { bytes: Uint8Array; fusions: Fusion[] };
    try {
      r = fuseModel(bytes, p);
    } catch {
      continue; // not a model we can fuse: the loader reports what is wrong with it
    }
    if (r.bytes !== bytes) {
      replaced.set(p, memorySource(p, r.bytes));
      fusions.push(...r.fusions);
    }
  }
  if (!replaced.size) return { tree, fusions };
  return {
    tree: { name: tree.name, paths: () => tree.paths(), get: (p) => replaced.get(p) ?? tree.get(p) },
    fusions,
  };
}
