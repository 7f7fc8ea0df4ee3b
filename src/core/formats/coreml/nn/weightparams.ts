/**
 * WeightParams at the wire level (formats.md §6.1-§6.3): where its values sit, how they are stored, their
 * decoding to float32, and the encoding of a compressed representation back into a WeightParams message.
 */
import { ShrinkrayError } from '../../../errors';
import { readFields, encodeLenField, encodeVarintField, concatBytes } from '../../../proto/wire';
import { packedBytes } from '../../../tensor/pack';
import { packMSBFast, unpackMSBFast } from './msb';
import { f16View, f16ArrayToF32, f32ArrayToF16 } from '../../../tensor/fp16';
import type { Compressed } from '../../../compress/types';
import { nnType } from './schema';

export type StorageKind = 'float32' | 'float16' | 'linearQuantization' | 'lookupTableQuantization' | 'int8' | 'raw' | 'empty';

export interface WPInfo {
  kind: StorageKind;
  /** float32: [start, end) byte ranges of the floatValue data (packed runs or single unpacked values) */
  floatParts: [number, number][];
  /** float32 element count, fp16 element count, or raw byte count */
  storedCount: number;
  /** bytes (absolute) of float16Value / rawValue / int8RawValue */
  data?: [number, number];
  nbits?: number;
  scale?: Float32Array;
  bias?: Float32Array;
  lut?: Float32Array;
  isUpdatable: boolean;
}

function f32Array(v: unknown): Float32Array {
  return Float32Array.from((v as number[] | undefined) ?? []);
}

/** Parses the WeightParams payload at [start, end) of `root`. `where` names the weight in errors. */
export function parseWeightParams(root: Uint8Array, start: number, end: number, where: string, file: string): WPInfo {
  const buf = root.subarray(start, end);
  const info: WPInfo = { kind: 'empty', floatParts: [], storedCount: 0, isUpdatable: false };
  let f16: [number, number] | undefined;
  let raw: [number, number] | undefined;
  let i8: [number, number] | undefined;
  let q: any;
  let floatBytes = 0;
  try {
    for (const f of readFields(buf)) {
      switch (f.no) {
        case 1:
          if (f.wt === 2) {
            info.floatParts.push([start + f.dataStart, start + f.dataEnd]);
            floatBytes += f.dataEnd - f.dataStart;
          } else if (f.wt === 5) {
            info.floatParts.push([start + f.start + (f.end - f.start - 4), start + f.end]);
            floatBytes += 4;
          }
          break;
        case 2:
          if (f.wt === 2) f16 = [start + f.dataStart, start + f.dataEnd];
          break;
        case 30:
          if (f.wt === 2) raw = [start + f.dataStart, start + f.dataEnd];
          break;
        case 31:
          if (f.wt === 2) i8 = [start + f.dataStart, start + f.dataEnd];
          break;
        case 40:
          if (f.wt === 2) q = nnType('QuantizationParams').decode(buf.subarray(f.dataStart, f.dataEnd));
          break;
        case 50:
          info.isUpdatable = !!f.varint;
          break;
      }
    }
  } catch (e) {
    throw new ShrinkrayError('protobuf-decode', `${file}: weights of ${where} are malformed (${(e as Error).message})`, file);
  }
  if (floatBytes % 4) {
    throw new ShrinkrayError('protobuf-decode', `${file}: floatValue of ${where} is ${floatBytes} bytes, not a multiple of 4`, file);
  }
  const rawLen = raw ? raw[1] - raw[0] : 0;
  const i8Len = i8 ? i8[1] - i8[0] : 0;
  const f16Len = f16 ? f16[1] - f16[0] : 0;
  if (floatBytes > 0) {
    info.kind = 'float32';
    info.storedCount = floatBytes / 4;
  } else if (f16Len > 0) {
    if (f16Len % 2) {
      throw new ShrinkrayError('protobuf-decode', `${file}: float16Value of ${where} has an odd byte count (${f16Len})`, file);
    }
    info.kind = 'float16';
    info.data = f16;
    info.storedCount = f16Len / 2;
  } else if (rawLen > 0 || i8Len > 0) {
    info.data = i8Len > 0 ? i8 : raw;
    info.storedCount = i8Len > 0 ? i8Len : rawLen;
    const which = q?.QuantizationType ?? (q?.linearQuantization ? 'linearQuantization' : q?.lookupTableQuantization ? 'lookupTableQuantization' : undefined);
    if (i8Len > 0) {
      info.kind = 'int8';
      info.nbits = 8;
      info.scale = f32Array(q?.linearQuantization?.scale);
      info.bias = new Float32Array(0);
    } else if (which === 'linearQuantization') {
      info.kind = 'linearQuantization';
      info.nbits = Number(q.numberOfBits ?? 0);
      info.scale = f32Array(q.linearQuantization.scale);
      info.bias = f32Array(q.linearQuantization.bias);
    } else if (which === 'lookupTableQuantization') {
      info.kind = 'lookupTableQuantization';
      info.nbits = Number(q.numberOfBits ?? 0);
      info.lut = f32Array(q.lookupTableQuantization.floatValue);
    } else {
      info.kind = 'raw';
    }
    if ((info.kind === 'linearQuantization' || info.kind === 'lookupTableQuantization') && !(info.nbits! >= 1 && info.nbits! <= 8)) {
      throw new ShrinkrayError('protobuf-decode', `${file}: ${where} is quantized with numberOfBits=${info.nbits} (expected 1-8)`, file);
    }
  }
  return info;
}

/** Bytes the stored weight takes: values plus scale / bias / LUT floats. */
export function storedBytes(wp: WPInfo): number {
  let n = 0;
  for (const [a, b] of wp.floatParts) n += b - a;
  if (wp.data) n += wp.data[1] - wp.data[0];
  n += 4 * ((wp.scale?.length ?? 0) + (wp.bias?.length ?? 0) + (wp.lut?.length ?? 0));
  return n;
}

/** The floatValue data as a Float32Array (a view when it is one aligned packed run). */
export function floatValues(root: Uint8Array, wp: WPInfo): Float32Array {
  if (wp.floatParts.length === 1) {
    const [a, b] = wp.floatParts[0];
    const off = root.byteOffset + a;
    if (off % 4 === 0) return new Float32Array(root.buffer, off, (b - a) >> 2);
  }
  const out = new Float32Array(wp.storedCount);
  const bytes = new Uint8Array(out.buffer);
  let o = 0;
  for (const [a, b] of wp.floatParts) {
    bytes.set(root.subarray(a, b), o);
    o += b - a;
  }
  return out;
}

export function float16Bits(root: Uint8Array, wp: WPInfo): Uint16Array {
  return f16View(root.subarray(wp.data![0], wp.data![1]));
}

/** Unpacks the quantized codes of a linear or LUT weight (MSB-first below 8 bits). */
export function quantCodes(root: Uint8Array, wp: WPInfo, count: number, where: string, file: string): Uint8Array {
  const bytes = root.subarray(wp.data![0], wp.data![1]);
  const nbits = wp.nbits!;
  if (bytes.length < packedBytes(count, nbits)) {
    throw new ShrinkrayError(
      'protobuf-decode',
      `${file}: rawValue of ${where} holds ${bytes.length} bytes, ${count} ${nbits}-bit values need ${packedBytes(count, nbits)}`,
      file,
    );
  }
  return unpackMSBFast(bytes, nbits, count);
}

/**
 * Channel index for every element of a per-channel linear weight: scale/bias of length 1 broadcast; a rank-1
 * weight with per-element scales uses one per element; otherwise one per index along `axis`.
 */
export function channelLayout(shape: number[], axis: number, nScale: number): { outer: number; dim: number; inner: number } | null {
  const n = shape.reduce((a, b) => a * b, 1);
  if (nScale === 1) return { outer: 1, dim: 1, inner: n };
  if (shape.length === 1) return nScale === n ? { outer: 1, dim: n, inner: 1 } : null;
  if (axis >= shape.length || shape[axis] !== nScale) return null;
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return { outer, dim: shape[axis], inner };
}

/** W = q * scale + bias per channel, computed in float64 and rounded to float32 (as coremltools dequantizes). */
export function dequantLinear(
  codes: ArrayLike<number>,
  scale: Float32Array,
  bias: Float32Array,
  shape: number[],
  axis: number,
  where: string,
  file: string,
): Float32Array {
  const lay = channelLayout(shape, axis, scale.length);
  if (!lay || (bias.length !== scale.length && bias.length !== 0)) {
    throw new ShrinkrayError(
      'protobuf-decode',
      `${file}: ${where} has ${scale.length} scales and ${bias.length} biases for shape [${shape.join(', ')}]`,
      file,
    );
  }
  const out = new Float32Array(codes.length);
  const { outer, dim, inner } = lay;
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < dim; c++) {
      const s = scale[c];
      const b = bias.length ? bias[c] : 0;
      for (let k = 0; k < inner; k++, i++) out[i] = codes[i] * s + b;
    }
  }
  return out;
}

function packedFloats(no: number, v: Float32Array): Uint8Array {
  const le = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return encodeLenField(no, le);
}

function isSingleLut(r: { lut: Float32Array; lutShape: number[]; nbits: number }): boolean {
  const k = 1 << r.nbits;
  const groups = r.lutShape.slice(0, -2).reduce((a, b) => a * b, 1);
  const v = r.lutShape[r.lutShape.length - 1];
  return groups === 1 && v === 1 && r.lutShape[r.lutShape.length - 2] === k && r.lut.length === k;
}

/** Minimum specificationVersion a representation needs in a NeuralNetwork (§1.5, §6.7). */
export function minSpecOf(repr: Compressed): number {
  if (repr.kind === 'dense') return repr.dtype === 'fp16' ? 2 : 1;
  return 3;
}

/**
 * The new WeightParams payload for `repr`: value fields in field-number order, then every other field of
 * the old payload (isUpdatable, unknown fields) as it was.
 */
export function encodeWeightParams(repr: Compressed, old: Uint8Array, where: string, file: string): Uint8Array {
  const parts: Uint8Array[] = [];
  const count = repr.shape.reduce((a, b) => a * b, 1);
  const bad = (why: string): never => {
    throw new ShrinkrayError('invalid-option', `${file}: cannot store ${where} in a neural network: ${why}`, file);
  };
  switch (repr.kind) {
    case 'dense':
      if (repr.values.length !== count) bad(`${repr.values.length} values for shape [${repr.shape.join(', ')}]`);
      if (repr.dtype === 'fp32') parts.push(packedFloats(1, repr.values));
      else {
        const bits = f32ArrayToF16(repr.values);
        parts.push(encodeLenField(2, new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength)));
      }
      break;
    case 'nnlinear': {
      if (!(repr.nbits >= 1 && repr.nbits <= 8)) bad(`linear quantization needs 1-8 bits, got ${repr.nbits}`);
      if (repr.data.length !== count) bad(`${repr.data.length} codes for shape [${repr.shape.join(', ')}]`);
      if (repr.scale.length !== repr.bias.length) bad('scale and bias lengths differ');
      parts.push(encodeLenField(30, repr.nbits === 8 ? repr.data.subarray(0, count) : packMSBFast(repr.data, repr.nbits, count)));
      const lin = concatBytes([packedFloats(1, repr.scale), packedFloats(2, repr.bias)]);
      parts.push(encodeLenField(40, concatBytes([encodeVarintField(1, repr.nbits), encodeLenField(101, lin)])));
      break;
    }
    case 'lut': {
      if (!(repr.nbits >= 1 && repr.nbits <= 8)) bad(`a lookup table needs 1-8 bits, got ${repr.nbits}`);
      if (!isSingleLut(repr)) bad('only one lookup table per weight (per_tensor, cluster_dim 1) is possible');
      if (repr.lutQuant) bad('a quantized lookup table is not possible');
      if (repr.perChannelScale) bad('a per-channel scale after the lookup table is not possible');
      if (repr.indices.length !== count) bad(`${repr.indices.length} indices for shape [${repr.shape.join(', ')}]`);
      parts.push(encodeLenField(30, repr.nbits === 8 ? repr.indices.subarray(0, count) : packMSBFast(repr.indices, repr.nbits, count)));
      const lut = encodeLenField(102, packedFloats(1, Float32Array.from(repr.lut)));
      parts.push(encodeLenField(40, concatBytes([encodeVarintField(1, repr.nbits), lut])));
      break;
    }
    default:
      bad(`the ${repr.kind} representation has no NeuralNetwork form (use quantize_weights modes)`);
  }
  for (const f of readFields(old)) {
    if (f.no === 1 || f.no === 2 || f.no === 30 || f.no === 31 || f.no === 40) continue;
    parts.push(old.subarray(f.start, f.end));
  }
  return concatBytes(parts);
}

export { f16ArrayToF32 };
