/**
 * Builds a chain-of-layers ML program (.mlpackage) from dense weights: the models the tests and the
 * benchmark compress. fp16 weights become `const` ops with weight.bin blobs, exactly as the writer stores them.
 */
import type { DenseTensor, OutputFile, WrittenModel } from '../../model/types';
import { f32ArrayToF16 } from '../../tensor/fp16';
import { concatBytes, encodeLenField, encodeVarintField } from '../../proto/wire';
import { BlobWriter } from './blob';
import { bytesFile, manifestFile } from './manifest';
import { ModelDescriptionT, ProgramT, type POperation, type PValue } from './schema';
import {
  blobValue, boolValue, constOp, immediateValue, intsValue, namedType, op, prod, stringValue, tensorType,
} from './values';

export interface BuildLayer {
  name: string;
  /**
   * conv: weight [C_out, C_in/groups, kh, kw]; linear: weight [C_out, C_in]; matmul: the weight is `y`,
   * [C_in, C_out], or [C_out, C_in] with transposeY (transpose_x is passed as an immediate value, transpose_y as a const)
   */
  op: 'conv' | 'linear' | 'matmul';
  weight: DenseTensor;
  bias?: DenseTensor;
  /** conv groups (default 1) */
  groups?: number;
  /** matmul transpose_y (default false) */
  transposeY?: boolean;
}

export interface BuildOptions {
  layers: BuildLayer[];
  target?: 'iOS16' | 'iOS18';
  /** spatial size of the image input when the first layer is a conv (default 8) */
  spatial?: number;
  /** package base name (default 'Model') */
  name?: string;
}

export const WEIGHT_FILE = '@model_path/weights/weight.bin';
export const MODEL_PATH = 'Data/com.apple.CoreML/model.mlmodel';
export const WEIGHTS_PATH = 'Data/com.apple.CoreML/weights/weight.bin';

function fp16Bytes(t: DenseTensor): Uint8Array {
  const bits = t.dtype === 'fp16' ? (t.data as Uint16Array) : f32ArrayToF16(t.data as Float32Array);
  return new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength);
}

/** A const holding fp16 data: a blob when it has ≥ 10 elements, else immediate (formats.md §3.6). */
function weightConst(name: string, t: DenseTensor, blobs: BlobWriter): POperation {
  const raw = fp16Bytes(t);
  const n = prod(t.shape);
  const val: PValue = n >= 10 ? blobValue('fp16', t.shape, blobs.add('fp16', raw, n), WEIGHT_FILE) : immediateValue('fp16', t.shape, raw);
  return constOp(name, val);
}

function feature(name: string, shape: number[]): object {
  return { name, type: { multiArrayType: { shape, dataType: 65568 } } };
}

export function encodeModel(spec: number, description: Uint8Array, program: Uint8Array): Uint8Array {
  return concatBytes([encodeVarintField(1, spec), encodeLenField(2, description), encodeLenField(502, program)]);
}

export function buildMLProgram(opts: BuildOptions): WrittenModel {
  const target = opts.target ?? 'iOS16';
  const spec = target === 'iOS18' ? 9 : 7;
  const opset = target === 'iOS18' ? 'CoreML8' : 'CoreML6';
  const spatial = opts.spatial ?? 8;
  const layers = opts.layers;
  if (!layers.length) throw new Error('buildMLProgram: no layers');
  const blobs = new BlobWriter();
  const ops: POperation[] = [];

  const first = layers[0];
  const inCh = first.op === 'matmul' && !first.transposeY ? first.weight.shape[0] : first.weight.shape[1] * (first.op === 'conv' ? (first.groups ?? 1) : 1);
  const inShape = first.op === 'conv' ? [1, inCh, spatial, spatial] : [1, inCh];
  ops.push(constOp('cast_in_dtype_0', stringValue('fp16')));
  ops.push(op('cast', 'x_to_fp16', { x: 'x', dtype: 'cast_in_dtype_0' }, [namedType('x_to_fp16', 'fp16', inShape)]));
  let cur = 'x_to_fp16';
  let curShape = inShape;

  layers.forEach((l, i) => {
    const w = l.weight;
    const cout = l.op === 'matmul' && !l.transposeY ? w.shape[1] : w.shape[0];
    const wName = `${l.name}_weight_to_fp16`;
    const bName = `${l.name}_bias_to_fp16`;
    if (l.op === 'conv') {
      if (curShape.length === 2) {
        const sName = `${l.name}_reshape_shape_0`;
        ops.push(constOp(sName, intsValue([1, curShape[1], 1, 1])));
        curShape = [1, curShape[1], 1, 1];
        ops.push(op('reshape', `${l.name}_reshape`, { x: cur, shape: sName }, [namedType(`${l.name}_reshape`, 'fp16', curShape)]));
        cur = `${l.name}_reshape`;
      }
      const p = (k: string) => `${l.name}_${k}_0`;
      ops.push(constOp(p('pad_type'), stringValue('same')));
      ops.push(constOp(p('strides'), intsValue([1, 1])));
      ops.push(constOp(p('pad'), intsValue([0, 0, 0, 0])));
      ops.push(constOp(p('dilations'), intsValue([1, 1])));
      ops.push(constOp(p('groups'), intsValue([l.groups ?? 1], [])));
      ops.push(weightConst(wName, w, blobs));
      const ins: Record<string, string> = {
        x: cur, weight: wName, strides: p('strides'), pad_type: p('pad_type'), pad: p('pad'), dilations: p('dilations'), groups: p('groups'),
      };
      if (l.bias) {
        ops.push(weightConst(bName, l.bias, blobs));
        ins.bias = bName;
      }
      curShape = [1, cout, curShape[2], curShape[3]];
      ops.push(op('conv', `${l.name}_cast_fp16`, ins, [namedType(`${l.name}_cast_fp16`, 'fp16', curShape)]));
    } else {
      if (curShape.length === 4) {
        const aName = `${l.name}_pool_axes_0`;
        const kName = `${l.name}_pool_keep_dims_0`;
        ops.push(constOp(aName, intsValue([2, 3])));
        ops.push(constOp(kName, boolValue(false)));
        curShape = [1, curShape[1]];
        ops.push(op('reduce_mean', `${l.name}_pool`, { x: cur, axes: aName, keep_dims: kName }, [namedType(`${l.name}_pool`, 'fp16', curShape)]));
        cur = `${l.name}_pool`;
      }
      ops.push(weightConst(wName, w, blobs));
      curShape = [1, cout];
      if (l.op === 'matmul') {
        const tyName = `${l.name}_transpose_y_0`;
        ops.push(constOp(tyName, boolValue(!!l.transposeY)));
        const mm = op('matmul', `${l.name}_cast_fp16`, { x: cur, y: wName, transpose_y: tyName }, [namedType(`${l.name}_cast_fp16`, 'fp16', curShape)]);
        mm.inputs.transpose_x = { arguments: [{ value: boolValue(false) }] };
        ops.push(mm);
      } else {
        const ins: Record<string, string> = { x: cur, weight: wName };
        if (l.bias) {
          ops.push(weightConst(bName, l.bias, blobs));
          ins.bias = bName;
        }
        ops.push(op('linear', `${l.name}_cast_fp16`, ins, [namedType(`${l.name}_cast_fp16`, 'fp16', curShape)]));
      }
    }
    cur = `${l.name}_cast_fp16`;
    if (i < layers.length - 1) {
      ops.push(op('relu', `${l.name}_relu`, { x: cur }, [namedType(`${l.name}_relu`, 'fp16', curShape)]));
      cur = `${l.name}_relu`;
    }
  });
  ops.push(constOp('cast_out_dtype_0', stringValue('fp32')));
  ops.push(op('cast', 'y', { x: cur, dtype: 'cast_out_dtype_0' }, [namedType('y', 'fp32', curShape)]));

  const program = {
    version: 1,
    functions: {
      main: {
        inputs: [namedType('x', 'fp32', inShape)],
        opset,
        block_specializations: { [opset]: { inputs: [], outputs: ['y'], operations: ops, attributes: {} } },
        attributes: {},
      },
    },
    docString: '',
    attributes: {
      buildInfo: {
        type: { dictionaryType: { keyType: tensorType('string', []), valueType: tensorType('string', []) } },
        immediateValue: {
          dictionary: {
            values: [{ key: stringValue('shrinkray-builder'), value: stringValue('buildMLProgram') }],
          },
        },
      },
    },
  };
  const progBytes = ProgramT.encode(ProgramT.fromObject(program)).finish();
  const desc = ModelDescriptionT.encode(
    ModelDescriptionT.fromObject({
      input: [feature('x', inShape)],
      output: [feature('y', curShape)],
      metadata: { userDefined: { 'com.github.apple.coremltools.source': 'shrinkray.buildMLProgram' } },
    }),
  ).finish();
  const model = encodeModel(spec, desc, progBytes);
  const files: OutputFile[] = [manifestFile(true), bytesFile(MODEL_PATH, model), blobs.file(WEIGHTS_PATH)];
  return { format: 'mlpackage', name: `${opts.name ?? 'Model'}.mlpackage`, files };
}
