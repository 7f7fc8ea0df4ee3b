/**
 * Format detection by content (names are only a tie-breaker): zip → expand and look again; a folder with
 * Manifest.json → .mlpackage; a protobuf whose top-level fields are Core ML's or ONNX's.
 */
import { ShrinkrayError } from '../errors';
import { subTree, type ByteSource, type FileTree } from '../io/source';
import { openZip } from '../io/zip';
import { readFields } from '../proto/wire';

export interface Detected {
  format: 'mlpackage' | 'mlmodel' | 'onnx';
  /** the tree the reader should use: for a package, rooted at the package folder */
  tree: FileTree;
  /** the main protobuf file (model.mlmodel is found by the package reader through the manifest) */
  main?: ByteSource;
}

const PACKAGE_MARKERS = ['Manifest.json', 'Data/com.apple.CoreML/model.mlmodel'];

function packageRoot(tree: FileTree): string | undefined {
  // '' when the tree itself is the package, 'X.mlpackage/' when it holds one package folder
  const paths = tree.paths();
  for (const marker of PACKAGE_MARKERS) {
    for (const p of paths) {
      if (p === marker) return '';
      if (p.endsWith('/' + marker)) return p.slice(0, p.length - marker.length);
    }
  }
  return undefined;
}

async function sniffProtobuf(src: ByteSource): Promise<'mlmodel' | 'onnx' | undefined> {
  const head = await src.read(0, Math.min(src.size, 1 << 16));
  // Only the first fields are needed: parse what fits in the first 64 KiB.
  let nos: number[];
  try {
    nos = readFields(head, head.length < src.size).map((f) => f.no);
  } catch {
    return undefined;
  }
  if (nos.some((n) => n >= 200)) return 'mlmodel';
  if (nos.includes(7) || nos.includes(8)) return 'onnx';
  if (nos.includes(1) && nos.includes(2)) return 'mlmodel';
  return undefined;
}

function isZip(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) && (head[3] === 4 || head[3] === 6);
}

export async function detectFormat(tree: FileTree, depth = 0): Promise<Detected> {
  const paths = tree.paths();
  if (paths.length === 0) throw new ShrinkrayError('not-a-model', `${tree.name}: no files`, tree.name);

  const root = packageRoot(tree);
  if (root !== undefined) {
    const pkg = root === '' ? tree : subTree(tree, root);
    if (!pkg.get('Manifest.json')) {
      throw new ShrinkrayError('manifest-missing', `${pkg.name}: not an .mlpackage: Manifest.json missing`, pkg.name);
    }
    return { format: 'mlpackage', tree: pkg };
  }
  if (paths.some((p) => /\.mlpackage(\/|$)/i.test(p) || p === 'Manifest.json')) {
    throw new ShrinkrayError('manifest-missing', `${tree.name}: not an .mlpackage: Manifest.json missing`, tree.name);
  }

  // Candidate main files: .onnx / .mlmodel first, then anything else (external data files are not candidates).
  const ranked = [...paths].sort((a, b) => rank(a) - rank(b));
  for (const p of ranked) {
    const src = tree.get(p)!;
    if (rank(p) > 1 && ranked.length > 1) continue;
    if (src.size === 0) {
      throw new ShrinkrayError('empty-file', `${p} is empty (0 bytes): not a Core ML or ONNX model`, p);
    }
    const head = await src.read(0, Math.min(src.size, 8));
    if (isZip(head)) {
      if (depth > 0) throw new ShrinkrayError('zip-no-model', `${p}: a zip inside a zip is not supported`, p);
      const inner = await openZip(src);
      const found = await detectFormat(inner, depth + 1).catch((e) => {
        // A zip whose only files are not models (a readme, a photo) holds no model; a file named .onnx or
        // .mlmodel that fails to decode keeps its own error.
        const stray = e instanceof ShrinkrayError && (e.code === 'protobuf-decode' || e.code === 'empty-file') && rank(e.file ?? '') > 1;
        if (e instanceof ShrinkrayError && (e.code === 'not-a-model' || stray)) {
          throw new ShrinkrayError('zip-no-model', `${p}: the zip holds no .mlpackage, .mlmodel or .onnx model`, p);
        }
        throw e;
      });
      return found;
    }
    const kind = await sniffProtobuf(src);
    if (kind) return { format: kind, tree, main: src };
    throw new ShrinkrayError('protobuf-decode', `${p}: not a Core ML or ONNX model: protobuf decode failed`, p);
  }
  throw new ShrinkrayError('not-a-model', `${tree.name}: no .mlpackage, .mlmodel or .onnx model found`, tree.name);
}

function rank(p: string): number {
  const l = p.toLowerCase();
  if (l.endsWith('.onnx') || l.endsWith('.mlmodel')) return 0;
  if (l.endsWith('.zip')) return 1;
  return 2;
}
