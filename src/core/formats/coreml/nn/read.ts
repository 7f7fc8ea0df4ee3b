/**
 * Reads the weights of a NeuralNetwork / NeuralNetworkClassifier / NeuralNetworkRegressor message
 * (formats.md §1.2, §6): every WeightParams of every layer, in branch and loop sub-networks too, named as
 * coremltools' inspection names them (`<layer>.<field>`, op type `<layerType>.<field>`).
 */
import { ShrinkrayError } from '../../../errors';
import type { DenseTensor, WeightInfo } from '../../../model/types';
import type { Compressed } from '../../../compress/types';
import { walkNetwork, type NNSite } from './layers';
import {
  parseWeightParams,
  storedBytes,
  floatValues,
  float16Bits,
  quantCodes,
  dequantLinear,
  f16ArrayToF32,
  type WPInfo,
} from './weightparams';

export interface NNWeights {
  weights: WeightInfo[];
  readRepr(id: string): Compressed;
  readDense(id: string): DenseTensor;
  readFloat32(id: string): Float32Array;
}

export interface NNEntry {
  info: WeightInfo;
  site: NNSite;
  wp: WPInfo;
}

/** Sites with their ids, unique within the network (a `#n` suffix disambiguates repeated layer names). */
export function nnEntries(nnBytes: Uint8Array, scope: string, file: string): NNEntry[] {
  const sites = walkNetwork(nnBytes, { file });
  const seen = new Map<string, number>();
  const out: NNEntry[] = [];
  for (const s of sites) {
    const name = `${s.layer}.${s.field}`;
    const where = `layer '${s.layer}' (${s.layerType}.${s.field})`;
    const wp = parseWeightParams(nnBytes, s.start, s.end, where, file);
    if (wp.kind === 'empty' || wp.kind === 'raw') continue; // absent field, or custom-layer bytes that are not a float tensor
    let shape = s.shape;
    let quantizable = s.quantizable;
    const isFloat = wp.kind === 'float32' || wp.kind === 'float16';
    const expected = shape ? shape.reduce((a, b) => a * b, 1) : undefined;
    if (isFloat) {
      if (expected === undefined || expected !== wp.storedCount) {
        // the layer's parameters do not describe this tensor: show it flat; coremltools would refuse to quantize it
        if (expected !== undefined) quantizable = false;
        shape = [wp.storedCount];
      }
    } else if (!shape) {
      // quantized data whose element count the layer does not give (e.g. custom layers): count from the bytes
      shape = [Math.floor((wp.storedCount * 8) / wp.nbits!)];
    }
    const base = scope ? `${scope}/${s.subPath}${name}` : `${s.subPath}${name}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    const id = n ? `${base}#${n}` : base;
    const count = shape!.reduce((a, b) => a * b, 1);
    const info: WeightInfo = {
      id,
      name,
      baseName: name,
      opType: `${s.layerType}.${s.field}`,
      consumers: [{ name: s.layer, type: s.layerType, param: s.field }],
      shape: shape!,
      dtype: wp.kind === 'int8' ? 'linearQuantization' : wp.kind,
      count,
      bytes: storedBytes(wp),
      location: { kind: 'inline' },
      scope: s.subPath ? (scope ? `${scope}/` : '') + s.subPath.replace(/\/$/, '') : scope,
      nn: { axis: s.axis, quantizable },
    };
    if (wp.kind === 'float16') info.compression = { kind: 'fp16', opChain: ['float16'] };
    else if (wp.kind === 'linearQuantization' || wp.kind === 'int8') {
      info.compression = {
        kind: 'linear',
        nbits: wp.nbits,
        granularity: (wp.scale?.length ?? 1) > 1 ? 'per_channel' : 'per_tensor',
        opChain: [wp.kind === 'int8' ? 'int8DynamicQuantize' : 'linearQuantization'],
      };
    } else if (wp.kind === 'lookupTableQuantization') {
      info.compression = { kind: 'lut', nbits: wp.nbits, granularity: 'per_tensor', opChain: ['lookupTableQuantization'] };
    }
    out.push({ info, site: s, wp });
  }
  return out;
}

export function readNeuralNetwork(nnBytes: Uint8Array, scope: string, file: string): NNWeights {
  const entries = nnEntries(nnBytes, scope, file);
  const byId = new Map(entries.map((e) => [e.info.id, e]));
  const get = (id: string): NNEntry => {
    const e = byId.get(id);
    if (!e) throw new ShrinkrayError('internal', `${file}: no neural-network weight with id '${id}'`, file);
    return e;
  };
  const where = (e: NNEntry): string => `layer '${e.site.layer}' (${e.info.opType})`;

  const readRepr = (id: string): Compressed => {
    const e = get(id);
    const { info, wp } = e;
    const shape = info.shape.slice();
    switch (wp.kind) {
      case 'float32':
        return { kind: 'dense', dtype: 'fp32', shape, values: floatValues(nnBytes, wp) };
      case 'float16':
        return { kind: 'dense', dtype: 'fp16', shape, values: f16ArrayToF32(float16Bits(nnBytes, wp)) };
      case 'linearQuantization':
        return {
          kind: 'nnlinear',
          dtype: 'fp32',
          nbits: wp.nbits!,
          shape,
          data: quantCodes(nnBytes, wp, info.count, where(e), file),
          scale: wp.scale!,
          bias: wp.bias!,
          axis: e.site.axis,
        };
      case 'lookupTableQuantization': {
        const k = 1 << wp.nbits!;
        if (wp.lut!.length !== k) {
          throw new ShrinkrayError(
            'protobuf-decode',
            `${file}: ${where(e)} has a lookup table of ${wp.lut!.length} entries, ${wp.nbits}-bit indices need ${k}`,
            file,
          );
        }
        return {
          kind: 'lut',
          dtype: 'fp32',
          nbits: wp.nbits!,
          shape,
          indices: quantCodes(nnBytes, wp, info.count, where(e), file),
          indicesShape: shape.slice(),
          lut: wp.lut!,
          lutShape: [...shape.map(() => 1), k, 1],
        };
      }
      case 'int8': {
        const bytes = nnBytes.subarray(wp.data![0], wp.data![1]);
        if (bytes.length !== info.count) {
          throw new ShrinkrayError('protobuf-decode', `${file}: int8RawValue of ${where(e)} has ${bytes.length} bytes for ${info.count} values`, file);
        }
        return {
          kind: 'affine',
          dtype: 'fp32',
          qdtype: 'int8',
          shape,
          data: new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length),
          scale: wp.scale!.length ? wp.scale! : Float32Array.of(1),
          scaleShape: shape.map(() => 1),
        };
      }
      default:
        throw new ShrinkrayError('unsupported-model', `${file}: ${where(e)} holds no float values`, file);
    }
  };

  const readDense = (id: string): DenseTensor => {
    const e = get(id);
    if (e.wp.kind === 'float32') return { dtype: 'fp32', shape: e.info.shape.slice(), data: floatValues(nnBytes, e.wp) };
    if (e.wp.kind === 'float16') return { dtype: 'fp16', shape: e.info.shape.slice(), data: float16Bits(nnBytes, e.wp) };
    throw new ShrinkrayError(
      'invalid-option',
      `${file}: ${where(e)} is stored as ${e.wp.kind}, not as dense floats; read it decompressed instead`,
      file,
    );
  };

  const readFloat32 = (id: string): Float32Array => {
    const e = get(id);
    const r = readRepr(id);
    switch (r.kind) {
      case 'dense':
        return r.values;
      case 'nnlinear':
        return dequantLinear(r.data, r.scale, r.bias, r.shape, r.axis, where(e), file);
      case 'lut': {
        const out = new Float32Array(r.indices.length);
        for (let i = 0; i < out.length; i++) out[i] = r.lut[r.indices[i]];
        return out;
      }
      case 'affine': {
        const out = new Float32Array(r.data.length);
        const s = r.scale[0];
        for (let i = 0; i < out.length; i++) out[i] = r.data[i] * s;
        return out;
      }
      default:
        throw new ShrinkrayError('internal', `${file}: unexpected representation for ${where(e)}`, file);
    }
  };

  return { weights: entries.map((e) => e.info), readRepr, readDense, readFloat32 };
}
