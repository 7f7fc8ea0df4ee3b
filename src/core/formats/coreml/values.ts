/**
 * MIL Values: decoding immediate and blob tensors into one raw form (the bytes a blob would hold), and
 * building Values, types and ops for the writer (formats.md §3.4-§3.7).
 */
import { packLSB } from '../../tensor/pack';
import { BY_NAME, dtypeName, milOf } from './dtypes';
import type { PDim, PNamedValueType, POperation, PTensorValue, PValue, PValueType } from './schema';

export function num(v: number | string | undefined | null): number {
  return v === undefined || v === null ? 0 : typeof v === 'number' ? v : Number(v);
}

export function dimsOf(t: PValueType | undefined): number[] | undefined {
  const tt = t?.tensorType;
  if (!tt) return undefined;
  return (tt.dimensions ?? []).map((d: PDim) => (d.constant ? num(d.constant.size) : -1));
}

export function dtypeOf(t: PValueType | undefined): string | undefined {
  const tt = t?.tensorType;
  return tt ? dtypeName(tt.dataType ?? 0) : undefined;
}

export const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/**
 * The bytes of an immediate tensor in blob layout (LE, sub-byte packed LSB-first), from whichever
 * TensorValue field carries it (§3.5; ints accepted for 8-bit types too).
 */
export function immediateRaw(t: PTensorValue, dtype: string, count: number): Uint8Array {
  const info = BY_NAME.get(dtype);
  if (!info) throw new Error(`unsupported dtype ${dtype}`);
  if (t.bytes) return t.bytes.values ?? new Uint8Array(0);
  const bits = info.bits;
  if (t.floats) {
    const f = Float32Array.from(t.floats.values ?? []);
    if (dtype === 'fp32') return new Uint8Array(f.buffer);
    return fromNumbers(Array.from(f), dtype, count);
  }
  if (t.doubles) {
    const d = Float64Array.from(t.doubles.values ?? []);
    if (dtype === 'fp64') return new Uint8Array(d.buffer);
    return fromNumbers(Array.from(d), dtype, count);
  }
  if (t.ints) return fromNumbers(t.ints.values ?? [], dtype, count);
  if (t.longInts) return fromNumbers((t.longInts.values ?? []).map(num), dtype, count);
  if (t.bools) return Uint8Array.from((t.bools.values ?? []).map((b) => (b ? 1 : 0)));
  if (bits === 0) return new Uint8Array(0);
  return new Uint8Array(0);
}

function fromNumbers(vals: ArrayLike<number>, dtype: string, count: number): Uint8Array {
  const n = vals.length;
  switch (dtype) {
    case 'fp32': return new Uint8Array(Float32Array.from(vals).buffer);
    case 'fp64': return new Uint8Array(Float64Array.from(vals).buffer);
    case 'int8': return new Uint8Array(Int8Array.from(vals).buffer);
    case 'uint8': case 'bool': return Uint8Array.from(vals);
    case 'int16': return new Uint8Array(Int16Array.from(vals).buffer);
    case 'uint16': return new Uint8Array(Uint16Array.from(vals).buffer);
    case 'int32': return new Uint8Array(Int32Array.from(vals).buffer);
    case 'uint32': return new Uint8Array(Uint32Array.from(vals).buffer);
    case 'fp16': return new Uint8Array(Uint16Array.from(vals).buffer);
    case 'int64': case 'uint64': {
      const out = new Uint8Array(n * 8);
      const dv = new DataView(out.buffer);
      for (let i = 0; i < n; i++) {
        const v = vals[i];
        dv.setUint32(i * 8, v >>> 0, true);
        dv.setInt32(i * 8 + 4, Math.floor(v / 2 ** 32), true);
      }
      return out;
    }
    default: {
      const bits = BY_NAME.get(dtype)?.bits ?? 8;
      return packLSB(vals, bits, Math.min(count, n));
    }
  }
}

/** Numbers of a raw (blob-layout) array, for small params (shapes, axes, zero points). */
export function rawNumbers(raw: Uint8Array, dtype: string, count: number): number[] {
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: number[] = [];
  const bits = BY_NAME.get(dtype)?.bits ?? 8;
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case 'fp32': out.push(dv.getFloat32(i * 4, true)); break;
      case 'fp64': out.push(dv.getFloat64(i * 8, true)); break;
      case 'int8': out.push(dv.getInt8(i)); break;
      case 'uint8': case 'bool': out.push(dv.getUint8(i)); break;
      case 'int16': out.push(dv.getInt16(i * 2, true)); break;
      case 'uint16': case 'fp16': out.push(dv.getUint16(i * 2, true)); break;
      case 'int32': out.push(dv.getInt32(i * 4, true)); break;
      case 'uint32': out.push(dv.getUint32(i * 4, true)); break;
      case 'int64': case 'uint64': out.push(dv.getUint32(i * 8, true) + dv.getInt32(i * 8 + 4, true) * 2 ** 32); break;
      default: {
        const bit = i * bits;
        let v = 0;
        for (let b = 0; b < bits; b++) v |= ((raw[(bit + b) >> 3] >> ((bit + b) & 7)) & 1) << b;
        if (dtype === 'int4' && v >= 8) v -= 16;
        out.push(v);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Building

export function tensorType(dtype: string, shape: number[]): PValueType {
  return {
    tensorType: {
      dataType: milOf(dtype),
      rank: shape.length,
      dimensions: shape.map((s) => ({ constant: { size: s } })),
    },
  };
}

export function scalarType(dtype: string): PValueType {
  return { tensorType: { dataType: milOf(dtype), rank: 0, dimensions: [] } };
}

export function stringValue(s: string): PValue {
  return { type: scalarType('string'), immediateValue: { tensor: { strings: { values: [s] } } } };
}

export function blobValue(dtype: string, shape: number[], offset: number, file = '@model_path/weights/weight.bin'): PValue {
  return { type: tensorType(dtype, shape), blobFileValue: { fileName: file, offset } };
}

/** An immediate tensor in the field coremltools uses for its dtype (§3.5), from blob-layout bytes. */
export function immediateValue(dtype: string, shape: number[], raw: Uint8Array): PValue {
  const count = prod(shape);
  const t: PTensorValue = {};
  const nums = () => rawNumbers(raw, dtype, count);
  switch (dtype) {
    case 'fp32': t.floats = { values: nums() }; break;
    case 'fp64': t.doubles = { values: nums() }; break;
    case 'int16': case 'uint16': case 'int32': t.ints = { values: nums() }; break;
    case 'int64': case 'uint64': t.longInts = { values: nums() }; break;
    case 'bool': t.bools = { values: nums().map((v) => v !== 0) }; break;
    default: t.bytes = { values: raw };
  }
  return { type: shape.length ? tensorType(dtype, shape) : scalarType(dtype), immediateValue: { tensor: t } };
}

export function intsValue(vals: number[], shape: number[] = [vals.length]): PValue {
  return { type: shape.length ? tensorType('int32', shape) : scalarType('int32'), immediateValue: { tensor: { ints: { values: vals } } } };
}

export function boolValue(b: boolean): PValue {
  return { type: scalarType('bool'), immediateValue: { tensor: { bools: { values: [b] } } } };
}

export function namedType(name: string, dtype: string, shape: number[]): PNamedValueType {
  return { name, type: shape.length ? tensorType(dtype, shape) : scalarType(dtype) };
}

/** A `const` op as coremltools writes it (§3.7). */
export function constOp(name: string, val: PValue): POperation {
  return {
    type: 'const',
    inputs: {},
    outputs: [{ name, type: val.type }],
    blocks: [],
    attributes: { name: stringValue(name), val },
  };
}

/** A generic op whose inputs are names of earlier vars. */
export function op(type: string, name: string, inputs: Record<string, string | string[]>, outputs: PNamedValueType[]): POperation {
  const ins: POperation['inputs'] = {};
  for (const [k, v] of Object.entries(inputs)) {
    ins[k] = { arguments: (Array.isArray(v) ? v : [v]).map((n) => ({ name: n })) };
  }
  return { type, inputs: ins, outputs, blocks: [], attributes: { name: stringValue(name) } };
}
