/** Block indexing for scales / LUT groups, and sparse → dense. (Affine and LUT decompression: compress/decompress.) */
import type { SparseRepr } from '../../compress/types';

/**
 * Calls fn(flatIndex, blockIndex) for every element of `shape`, where blockIndex is the row-major index into a
 * tensor of shape `blocks` (blocks[d] divides shape[d]; element j along d belongs to block floor(j / (shape[d]/blocks[d]))).
 */
export function forEachBlock(shape: number[], blocks: number[], fn: (i: number, b: number) => void): void {
  const r = shape.length;
  const n = shape.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  if (r === 0) {
    fn(0, 0);
    return;
  }
  const per = shape.map((s, d) => s / blocks[d]);
  const bStride = new Array<number>(r);
  let acc = 1;
  for (let d = r - 1; d >= 0; d--) {
    bStride[d] = acc;
    acc *= blocks[d];
  }
  const idx = new Array<number>(r).fill(0);
  let b = 0;
  for (let i = 0; i < n; i++) {
    fn(i, b);
    // increment the odometer and update the block index incrementally
    for (let d = r - 1; d >= 0; d--) {
      const old = idx[d];
      idx[d]++;
      if (idx[d] < shape[d]) {
        b += (Math.floor(idx[d] / per[d]) - Math.floor(old / per[d])) * bStride[d];
        break;
      }
      b -= Math.floor(old / per[d]) * bStride[d];
      idx[d] = 0;
    }
  }
}

export function sparseToFloat(r: SparseRepr): Float32Array {
  const n = r.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) if (r.mask[i]) out[i] = r.values[k++];
  return out;
}
