/**
 * Where a dense weight's bytes sit in a file the user gave: the Blob and the byte range, so that a worker reads them
 * itself (workers/read.ts) instead of the page reading and transferring them. Only for what is exactly the bytes
 * readDense returns: an uncompressed fp16/fp32 ML program const stored in a weight blob of a folder or file picked
 * from disk (a File). Everything else (zips held in memory, NeuralNetwork and ONNX weights, fused models, compressed
 * weights) gives undefined and goes the usual way (readDense on the page, transferred).
 */
import { readMeta } from '../core/formats/coreml/blob';
import type { FileTree } from '../core/io/source';
import type { LoadedModel } from '../core/model/types';
import { isBlobSource } from '../ui/files/tree';
import type { BlobRange, DenseInput } from '../../workers/read';
import { transferable } from './pool';

const found = new WeakMap<LoadedModel, Map<string, Promise<BlobRange | undefined>>>();

export function locateDense(model: LoadedModel, id: string): Promise<BlobRange | undefined> {
  let m = found.get(model);
  if (!m) found.set(model, (m = new Map()));
  let p = m.get(id);
  if (!p) {
    p = locate(model, id).catch(() => undefined);
    m.set(id, p);
  }
  return p;
}

async function locate(model: LoadedModel, id: string): Promise<BlobRange | undefined> {
  const format = model.summary.format;
  if (format !== 'mlpackage' && format !== 'mlmodel') return undefined;
  const w = model.weights.find((x) => x.id === id);
  if (!w || w.compression || w.location.kind !== 'blob' || (w.dtype !== 'fp16' && w.dtype !== 'fp32')) return undefined;
  // the Core ML reader's tree (blob paths are relative to it)
  const tree = (model.internal as { tree?: FileTree } | null)?.tree;
  const src = tree?.get(w.location.file);
  if (!isBlobSource(src)) return undefined;
  // the 64-byte record the reader validated at load: data offset and size (throws on anything unexpected)
  const meta = await readMeta(src, src.name, w.location.offset, w.dtype, w.name);
  const size = w.count * (w.dtype === 'fp16' ? 2 : 4);
  if (meta.size !== size) return undefined;
  return { blob: src.blob, offset: meta.dataOffset, size, dtype: w.dtype, shape: w.shape };
}

/**
 * A weight's tensor for a worker call: where to read it (a File and a byte range, read by the worker) when
 * locateDense knows, else read here and transferred. With the transfer list for Comlink.transfer.
 */
export async function denseInput(model: LoadedModel, id: string): Promise<{ input: DenseInput; transfer: Transferable[] }> {
  const at = await locateDense(model, id);
  if (at) return { input: at, transfer: [] };
  const dense = await model.readDense(id);
  const data = transferable(dense.data);
  return { input: { ...dense, data }, transfer: [data.buffer] };
}

