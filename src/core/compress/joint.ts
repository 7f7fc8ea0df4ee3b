/**
 * Joint compression (coremltools joint_compression, formats.md §5.10):
 * - prune → palettize: the LUT is fitted to the nonzeros only (better than coremltools, which clusters the
 *   restored dense tensor zeros included); SparseRepr.inner = LutRepr with one index per nonzero;
 * - prune → quantize: scales over the dense (pruned) blocks, as coremltools; inner = AffineRepr with one code
 *   per nonzero;
 * - palettize → quantize the LUT: per-tensor linear quantization of the LUT (int8/uint8), then every element
 *   re-assigned to the nearest dequantized entry (scalar LUTs without per-channel scale).
 */
import { F16_TABLE, f32ToF16 } from '../tensor/fp16';
import type { DenseTensor } from '../model/types';
import type { AffineRepr, LutRepr, OpLinearQuantizerConfig, OpPalettizerConfig, SparseRepr, WeightContext } from './types';
import { palettize, type PalettizeOptions, type Skip } from './palettize/palettize';
import { quantizeGrid, quantBlockSizes, quantGrid } from './quantize/quantize';
import { dequantLut } from './decompress';
import { numel } from './numeric';
import { CHUNK } from '../tensor/pieces';

/** The dense tensor with pruned positions set to 0 (the "restored dense" form). */
export function prunedDense(dense: DenseTensor, sp: SparseRepr): DenseTensor {
  const n = sp.mask.length;
  if (dense.dtype === 'fp16') {
    const src = dense.data as Uint16Array;
    const out = new Uint16Array(n);
    for (let a = 0; a < n; a += CHUNK) maskedCopyPiece(sp.mask, src, a, n - a > CHUNK ? a + CHUNK : n, out);
    return { dtype: 'fp16', shape: dense.shape, data: out };
  }
  const src = dense.data as Float32Array;
  const out = new Float32Array(n);
  for (let a = 0; a < n; a += CHUNK) maskedCopyPiece(sp.mask, src, a, n - a > CHUNK ? a + CHUNK : n, out);
  return { dtype: 'fp32', shape: dense.shape, data: out };
}

// Per-element loops over a whole tensor run in pieces of CHUNK elements, one call each (pieces.ts).

function maskedCopyPiece<T extends Uint16Array | Float32Array>(mask: Uint8Array, src: T, a: number, e: number, out: T): void {
  for (let i = a; i < e; i++) if (mask[i]) out[i] = src[i];
}

function compact<T extends Uint8Array | Int8Array>(codes: T, mask: Uint8Array, D: number): T {
  const out = new (codes.constructor as { new (n: number): T })(D);
  const n = mask.length;
  for (let a = 0, j = 0; a < n; a += CHUNK) j = compactPiece(codes, mask, a, n - a > CHUNK ? a + CHUNK : n, j, out);
  return out;
}

function compactPiece<T extends Uint8Array | Int8Array>(codes: T, mask: Uint8Array, a: number, e: number, j: number, out: T): number {
  for (let i = a; i < e; i++) if (mask[i]) out[j++] = codes[i];
  return j;
}

export function prunePalettize(
  dense: DenseTensor,
  sp: SparseRepr,
  cfg: OpPalettizerConfig,
  ctx: WeightContext,
  opts: PalettizeOptions = {},
): SparseRepr | Skip {
  const r = palettize(dense, cfg, ctx, { ...opts, include: sp.mask });
  if ('skip' in r) return r;
  return attachLut(sp, r);
}

export function attachLut(sp: SparseRepr, r: LutRepr): SparseRepr {
  const D = sp.values.length;
  const inner: LutRepr = { ...r, indices: compact(r.indices, sp.mask, D) };
  const out: SparseRepr = { ...sp, inner };
  out.values = decodeInner(out);
  return out;
}

export function pruneQuantize(dense: DenseTensor, sp: SparseRepr, cfg: OpLinearQuantizerConfig, ctx: WeightContext): SparseRepr | Skip {
  const blocks = quantBlockSizes(cfg, dense.shape, ctx);
  if (!Array.isArray(blocks)) return blocks;
  const grid = quantGrid(dense.shape, blocks);
  if (!Array.isArray(grid)) return grid;
  const q = quantizeGrid(prunedDense(dense, sp), cfg.mode, cfg.dtype, grid);
  if ('skip' in q) return q;
  const D = sp.values.length;
  const inner: AffineRepr = { ...q, data: compact(q.data, sp.mask, D) };
  const out: SparseRepr = { ...sp, inner };
  out.values = decodeInner(out);
  return out;
}

import { innerNonzeros } from './decompress';
function decodeInner(sp: SparseRepr): Float32Array {
  return innerNonzeros(sp);
}

/**
 * Quantize the LUT per tensor (coremltools allows only per_tensor here) and re-assign indices to the nearest
 * dequantized entry. `values(i)` gives the value each element was clustered on (scaled for per-channel scale).
 */
export function quantizeLut(
  r: LutRepr,
  cfg: Pick<OpLinearQuantizerConfig, 'mode' | 'dtype'>,
  original: DenseTensor | null,
  include?: Uint8Array,
): LutRepr | Skip {
  if (cfg.dtype !== 'int8' && cfg.dtype !== 'uint8') return { skip: `the LUT can be quantized to int8 or uint8 only (got ${cfg.dtype})` };
  const lutDense: DenseTensor =
    r.dtype === 'fp16'
      ? { dtype: 'fp16', shape: r.lutShape, data: Uint16Array.from(r.lut, (v) => f32ToF16(v)) }
      : { dtype: 'fp32', shape: r.lutShape, data: r.lut };
  const q = quantizeGrid(lutDense, cfg.mode, cfg.dtype, r.lutShape.map(() => 1));
  if ('skip' in q) return q;
  const lutQuant: LutRepr['lutQuant'] = {
    qdtype: cfg.dtype,
    data: q.data,
    scale: q.scale,
    scaleShape: q.scaleShape,
  };
  if (q.offset) lutQuant.offset = q.offset;
  const out: LutRepr = { ...r, lutQuant };
  const V = r.lutShape[r.lutShape.length - 1];
  if (original && V === 1 && !r.perChannelScale && r.indices.length === numel(r.shape)) {
    out.indices = reassign(out, original, include);
  }
  return out;
}

function reassign(r: LutRepr, original: DenseTensor, include?: Uint8Array): Uint8Array {
  const deq = dequantLut(r.lutQuant!, r.dtype, r.lut.length);
  const rank = r.shape.length;
  const K = r.lutShape[rank];
  const idx = new Uint8Array(r.indices);
  const bits = original.dtype === 'fp16' ? (original.data as Uint16Array) : null;
  const fl = bits ? null : (original.data as Float32Array);
  const G = deq.length / K;
  // which slots are in use per group (slots never assigned must not attract elements: they hold padding 0)
  const used = new Uint8Array(deq.length);
  if (G !== 1) return idx; // grouped LUT quantization is refused upstream (per-tensor only)
  for (let a = 0; a < idx.length; a += CHUNK) usedPiece(idx, a, idx.length - a > CHUNK ? a + CHUNK : idx.length, used);
  const nearest = (w: number, cur: number): number => {
    let best = Infinity;
    let bk = cur;
    for (let k = 0; k < K; k++) {
      if (!used[k]) continue;
      const d = Math.abs(w - deq[k]);
      if (d < best) {
        best = d;
        bk = k;
      }
    }
    return bk;
  };
  if (bits) {
    // one decision per fp16 bit pattern
    const memo = new Int16Array(65536).fill(-1);
    for (let a = 0; a < idx.length; a += CHUNK) reassignF16Piece(bits, include, memo, nearest, a, idx.length - a > CHUNK ? a + CHUNK : idx.length, idx);
    return idx;
  }
  for (let a = 0; a < idx.length; a += CHUNK) reassignF32Piece(fl!, include, nearest, a, idx.length - a > CHUNK ? a + CHUNK : idx.length, idx);
  return idx;
}

/** used[idx[i]] = 1 (one group: the LUT is per-tensor). */
function usedPiece(idx: Uint8Array, a: number, e: number, used: Uint8Array): void {
  for (let i = a; i < e; i++) used[idx[i]] = 1;
}

/** One decision per fp16 bit pattern (memo), elements [a, e) not excluded by include. */
function reassignF16Piece(
  bits: Uint16Array,
  include: Uint8Array | undefined,
  memo: Int16Array,
  nearest: (w: number, cur: number) => number,
  a: number,
  e: number,
  idx: Uint8Array,
): void {
  for (let i = a; i < e; i++) {
    if (include && !include[i]) continue;
    const h = bits[i];
    let q = memo[h];
    if (q < 0) memo[h] = q = nearest(F16_TABLE[h], idx[i]);
    idx[i] = q;
  }
}

function reassignF32Piece(
  fl: Float32Array,
  include: Uint8Array | undefined,
  nearest: (w: number, cur: number) => number,
  a: number,
  e: number,
  idx: Uint8Array,
): void {
  for (let i = a; i < e; i++) {
    if (include && !include[i]) continue;
    idx[i] = nearest(fl[i], idx[i]);
  }
}
