/** Helpers shared by the ONNX tests (no runtime code depends on this file). */
import type { Compressed, WeightResult } from '../../compress/types';
import type { FileTree } from '../../io/source';
import type { LoadedModel } from '../../model/types';
import { F16_TABLE, roundF16 } from '../../tensor/fp16';
import { onnxType } from './schema';
import { loadOnnx } from './index';
import { reprToFloat } from './write';

export { mulberry32 } from '../../tensor/random';

/** SNR in dB of `test` against `ref` (Infinity when equal). */
export function snrDb(ref: ArrayLike<number>, test: ArrayLike<number>): number {
  let s = 0;
  let e = 0;
  for (let i = 0; i < ref.length; i++) {
    s += ref[i] * ref[i];
    const d = ref[i] - test[i];
    e += d * d;
  }
  if (e === 0) return Infinity;
  return 10 * Math.log10(s / e);
}

export function asFloats(data: unknown, type: string): Float32Array {
  if (type === 'float16') {
    const u = data as Uint16Array;
    const out = new Float32Array(u.length);
    for (let i = 0; i < u.length; i++) out[i] = F16_TABLE[u[i]];
    return out;
  }
  return Float32Array.from(data as ArrayLike<number>);
}

export async function loadTree(tree: FileTree, path: string): Promise<LoadedModel> {
  const main = tree.get(path);
  if (!main) throw new Error(`${path} not in tree`);
  return loadOnnx(tree, { format: 'onnx', tree, main });
}

/** The decompressed values of every compressed weight, as plain dense results of the weight's own dtype. */
export function denseEquivalent(model: LoadedModel, results: Map<string, WeightResult>): Map<string, WeightResult> {
  const out = new Map<string, WeightResult>();
  for (const [id, r] of results) {
    if (r.status !== 'compressed' || !r.repr) continue;
    const w = model.weights.find((x) => x.id === id)!;
    const values = reprToFloat(r.repr);
    const dtype = w.dtype === 'fp16' ? 'fp16' : 'fp32';
    if (dtype === 'fp16') for (let i = 0; i < values.length; i++) values[i] = roundF16(values[i]);
    const repr: Compressed = { kind: 'dense', dtype, shape: w.shape, values };
    out.set(id, { ...r, repr });
  }
  return out;
}

type Obj = Record<string, unknown>;

export function modelBytes(graph: Obj, opset = 13, ir = 7): Uint8Array {
  return onnxType('ModelProto').encode({ ir_version: ir, producer_name: 'test', opset_import: [{ domain: '', version: opset }], graph }).finish();
}
export function raw(name: string, dt: number, dims: number[], data: ArrayBufferView): Obj {
  return { name, data_type: dt, dims, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
export function vi(name: string, dt: number, dims: (number | string)[]): Obj {
  return { name, type: { tensor_type: { elem_type: dt, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } } };
}
export function node(op: string, inputs: string[], outputs: string[], attribute: Obj[] = [], name?: string): Obj {
  return { op_type: op, input: inputs, output: outputs, attribute, name: name ?? `${op}_${outputs[0]}` };
}

