/** Decompression of the representations this reader produces (affine, LUT, sparse) back to float32. */
import type { AffineRepr, LutRepr, SparseRepr } from '../../compress/types';
import { roundF16 } from '../../tensor/fp16';

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

function finish(out: Float32Array, dtype: 'fp16' | 'fp32'): Float32Array {
  if (dtype === 'fp16') for (let i = 0; i < out.length; i++) out[i] = roundF16(out[i]);
  return out;
}

export function affineToFloat(r: AffineRepr): Float32Array {
  const n = r.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const { data, scale, offset } = r;
  forEachBlock(r.shape, r.scaleShape, (i, b) => {
    out[i] = Math.fround((data[i] - (offset ? offset[b] : 0)) * scale[b]);
  });
  return finish(out, r.dtype);
}

export function lutToFloat(r: LutRepr): Float32Array {
  const K = r.shape.length;
  const n = r.shape.reduce((a, b) => a * b, 1);
  const L = r.lutShape[K];
  const V = r.lutShape[K + 1] ?? 1;
  const groups = r.lutShape.slice(0, K);
  const out = new Float32Array(n);
  const axis = r.vectorAxis ?? -1;
  if (V === 1) {
    forEachBlock(r.shape, groups, (i, g) => {
      out[i] = r.lut[g * L + r.indices[i]];
    });
  } else {
    // the index tensor has the vector axis divided by V; element p along it reads lut entry component p % V
    const I = r.indicesShape;
    const strideI = new Array<number>(K);
    let acc = 1;
    for (let d = K - 1; d >= 0; d--) {
      strideI[d] = acc;
      acc *= I[d];
    }
    const pos = new Array<number>(K).fill(0);
    forEachBlock(r.shape, groups, (i, g) => {
      let ii = 0;
      for (let d = 0; d < K; d++) ii += (d === axis ? Math.floor(pos[d] / V) : pos[d]) * strideI[d];
      const v = pos[axis] % V;
      out[i] = r.lut[(g * L + r.indices[ii]) * V + v];
      for (let d = K - 1; d >= 0; d--) {
        if (++pos[d] < r.shape[d]) break;
        pos[d] = 0;
      }
    });
  }
  if (r.perChannelScale) {
    const s = r.perChannelScale;
    forEachBlock(r.shape, s.shape, (i, b) => {
      out[i] = Math.fround(out[i] * s.scale[b]);
    });
  }
  return finish(out, r.dtype);
}

export function sparseToFloat(r: SparseRepr): Float32Array {
  const n = r.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) if (r.mask[i]) out[i] = r.values[k++];
  return out;
}
