/**
 * One compressed weight → what the ONNX writer stores for it (a dequantization chain, a FLOAT16 initializer, a
 * dense initializer or a COO sparse_initializer), and onnxStoredBytes: the data bytes of exactly those
 * tensors, computed by running the same emitters on a measuring Chain (no data made). The engine reports
 * these bytes for ONNX models, so the app and the CLI show what the written file holds.
 */
import type { Compressed } from '../../compress/types';
import { ShrinkrayError } from '../../errors';
import { encodeVarintField } from '../../proto/wire';
import { Chain, Names, tensorPayload } from './build';
import { DT, dtypeName } from './dtypes';
import { emitAffine, emitFp16, emitLut, floatBytes, type EmitEnv } from './emit';
import { lenFieldParts, type Part } from './parts';
import { sparseToFloat } from './repr';

/** What the writer needs to know about the weight a representation replaces. */
export interface OnnxWeightTarget {
  /** the tensor name the consumers read */
  name: string;
  /** element count */
  count: number;
  /** ONNX element type the consumers read (FLOAT, FLOAT16, ...) */
  outDt: number;
  /** the weight lives in an If/Loop/Scan body (no sparse_initializer there) */
  inSubgraph: boolean;
}

export interface EmittedWeight {
  note?: string;
  /** a sparse_initializer (SparseTensorProto payload) to add to the weight's graph */
  sparse?: Part[];
  /** data bytes of that sparse_initializer (values + int64 indices) */
  sparseBytes?: number;
}

export function emitWeight(c: Chain, w: OnnxWeightTarget, rep: Compressed, env: EmitEnv): EmittedWeight {
  const { name, count, outDt } = w;
  switch (rep.kind) {
    case 'affine':
      emitAffine(c, rep, name, outDt, env);
      return {};
    case 'lut':
      emitLut(c, rep, name, outDt, env);
      return {};
    case 'dense':
      writeDense(c, () => rep.values, rep.shape, rep.dtype === 'fp16' ? DT.FLOAT16 : DT.FLOAT, name, outDt);
      return {};
    case 'sparse': {
      const dense = () => sparseToFloat(rep);
      const valDt = rep.dtype === 'fp16' || outDt === DT.FLOAT16 ? DT.FLOAT16 : DT.FLOAT;
      const nnz = rep.values.length;
      const esz = valDt === DT.FLOAT16 ? 2 : 4;
      const sparseBytes = nnz * (esz + 8);
      const denseBytes = count * esz;
      if (rep.inner) {
        writeDense(c, dense, rep.shape, valDt, name, outDt);
        return {
          note: `${name}: sparse + ${rep.inner.kind} has no ONNX form; written dense (${dtypeName(valDt)}) with the pruned and ${rep.inner.kind === 'lut' ? 'palettized' : 'quantized'} values`,
        };
      }
      if (env.ir >= 6 && !w.inSubgraph && valDt === outDt && sparseBytes < denseBytes) {
        const note = `${name}: sparse_initializer (${nnz} of ${count} values, ${sparseBytes} bytes instead of ${denseBytes}; onnxruntime densifies it at load)`;
        if (c.measure) return { note, sparseBytes };
        const vals = floatBytes(rep.values, valDt);
        const idx = new BigInt64Array(nnz);
        for (let i = 0, k = 0; i < count; i++) if (rep.mask[i]) idx[k++] = BigInt(i);
        const sparse: Part[] = [
          ...lenFieldParts(1, tensorPayload(name, valDt, [nnz], vals)),
          ...lenFieldParts(2, tensorPayload(`${name}_indices`, DT.INT64, [nnz], new Uint8Array(idx.buffer))),
          ...rep.shape.map((d) => encodeVarintField(3, d)),
        ];
        return { note, sparse, sparseBytes };
      }
      writeDense(c, dense, rep.shape, valDt, name, outDt);
      const why = env.ir < 6 ? `IR ${env.ir} has no sparse_initializer` : w.inSubgraph ? 'it lives in a subgraph' : `COO with int64 indices would take ${sparseBytes} bytes against ${denseBytes} dense`;
      return { note: `${name}: pruned weight written dense (${why}); the zeros only pay off after zip/gzip` };
    }
    default:
      throw new ShrinkrayError('invalid-option', `${env.file}: ${name}: representation ${rep.kind} cannot be written to ONNX`, env.file);
  }
}

function writeDense(c: Chain, values: () => Float32Array, shape: number[], storeDt: number, out: string, outDt: number): void {
  if (storeDt === DT.FLOAT16 && outDt !== DT.FLOAT16) {
    emitFp16(c, values, shape, out, outDt);
    return;
  }
  // same type as the consumers read: a plain initializer under the weight's own name
  c.named(out, outDt, shape, () => floatBytes(values(), outDt === DT.FLOAT16 ? DT.FLOAT16 : DT.FLOAT));
}

/** The ONNX facts the byte count depends on: default-domain opset, IR version, where and what the weight is. */
export interface OnnxByteContext {
  opset: number;
  ir: number;
  /** ONNX element type the consumers read */
  outDt: number;
  inSubgraph: boolean;
}

/**
 * Exact data bytes the ONNX writer stores for `rep` (every initializer of its chain, or the sparse
 * initializer's values and indices): the bytes the ONNX reader reports for that weight in the written file.
 * Throws the writer's own error when the representation has no ONNX form in this opset.
 */
export function onnxStoredBytes(rep: Compressed, count: number, ctx: OnnxByteContext, name = 'weight', file = 'model.onnx'): number {
  const c = new Chain(new Names(new Set()), 'w', true);
  const r = emitWeight(c, { name, count, outDt: ctx.outDt, inSubgraph: ctx.inSubgraph }, rep, { opset: ctx.opset, ir: ctx.ir, file });
  return c.inits.reduce((a, t) => a + t.bytes, 0) + (r.sparseBytes ?? 0);
}
