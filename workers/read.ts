/**
 * A dense weight read inside the worker: the page posts the File (a handle, not its bytes) with the byte range of
 * the stored tensor (src/store/locate.ts) and the worker reads it with Blob.slice().arrayBuffer(). The page's thread
 * never holds the weight's bytes: no read, no copy, no transfer, no garbage for its collector.
 */
import type { DenseTensor } from '../src/core/model/types';

export interface BlobRange {
  blob: Blob;
  /** first byte of the tensor's data in the blob */
  offset: number;
  /** bytes: count × 2 (fp16) or × 4 (fp32) */
  size: number;
  dtype: 'fp16' | 'fp32';
  shape: number[];
}

/** What a job's tensor travels as: the tensor itself (transferred), or where to read it. */
export type DenseInput = DenseTensor | BlobRange;

export function isBlobRange(x: DenseInput): x is BlobRange {
  return 'blob' in x;
}

export async function readRange(r: BlobRange): Promise<DenseTensor> {
  const buf = await r.blob.slice(r.offset, r.offset + r.size).arrayBuffer();
  if (buf.byteLength !== r.size) throw new Error(`read ${buf.byteLength} bytes at ${r.offset}, expected ${r.size}`);
  const data = r.dtype === 'fp16' ? new Uint16Array(buf) : new Float32Array(buf);
  return { dtype: r.dtype, shape: r.shape, data };
}

export async function denseOf(x: DenseInput): Promise<DenseTensor> {
  return isBlobRange(x) ? readRange(x) : x;
}
