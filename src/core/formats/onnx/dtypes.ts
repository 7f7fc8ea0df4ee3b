/** ONNX TensorProto.DataType (formats.md §8.2): names, storage widths, and decoding to float32. */
import { F16_TABLE } from '../../tensor/fp16';

export const DT = {
  FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, FLOAT16: 10,
  DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16, FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18, FLOAT8E5M2: 19, FLOAT8E5M2FNUZ: 20, UINT4: 21, INT4: 22, FLOAT4E2M1: 23, FLOAT8E8M0: 24,
  UINT2: 25, INT2: 26,
} as const;

interface DtInfo { name: string; bits: number; float: boolean; ir?: number }

const INFO: Record<number, DtInfo> = {
  1: { name: 'fp32', bits: 32, float: true },
  2: { name: 'uint8', bits: 8, float: false },
  3: { name: 'int8', bits: 8, float: false },
  4: { name: 'uint16', bits: 16, float: false },
  5: { name: 'int16', bits: 16, float: false },
  6: { name: 'int32', bits: 32, float: false },
  7: { name: 'int64', bits: 64, float: false },
  8: { name: 'string', bits: 0, float: false },
  9: { name: 'bool', bits: 8, float: false },
  10: { name: 'fp16', bits: 16, float: true },
  11: { name: 'fp64', bits: 64, float: true },
  12: { name: 'uint32', bits: 32, float: false },
  13: { name: 'uint64', bits: 64, float: false },
  14: { name: 'complex64', bits: 64, float: false },
  15: { name: 'complex128', bits: 128, float: false },
  16: { name: 'bf16', bits: 16, float: true, ir: 4 },
  17: { name: 'fp8e4m3fn', bits: 8, float: true, ir: 9 },
  18: { name: 'fp8e4m3fnuz', bits: 8, float: true, ir: 9 },
  19: { name: 'fp8e5m2', bits: 8, float: true, ir: 9 },
  20: { name: 'fp8e5m2fnuz', bits: 8, float: true, ir: 9 },
  21: { name: 'uint4', bits: 4, float: false, ir: 10 },
  22: { name: 'int4', bits: 4, float: false, ir: 10 },
  23: { name: 'fp4e2m1', bits: 4, float: true, ir: 11 },
  24: { name: 'fp8e8m0', bits: 8, float: true, ir: 12 },
  25: { name: 'uint2', bits: 2, float: false, ir: 13 },
  26: { name: 'int2', bits: 2, float: false, ir: 13 },
};

export function dtypeName(dt: number): string {
  return INFO[dt]?.name ?? `onnx-dtype-${dt}`;
}
export function dtypeBits(dt: number): number {
  return INFO[dt]?.bits ?? 0;
}
export function isFloatDtype(dt: number): boolean {
  return INFO[dt]?.float ?? false;
}
export function isKnownDtype(dt: number): boolean {
  return dt in INFO;
}
/** Bytes of `count` elements in raw_data (sub-byte types packed over the flattened tensor). */
export function rawBytes(dt: number, count: number): number {
  return Math.ceil((count * dtypeBits(dt)) / 8);
}

// --- small float formats (fp8 / fp4 / e8m0) -------------------------------------------------------

function makeTable(size: number, decode: (b: number) => number): Float32Array {
  const t = new Float32Array(size);
  for (let b = 0; b < size; b++) t[b] = decode(b);
  return t;
}
/** Generic minifloat: e exponent bits, m mantissa bits, bias; `nanRule` says which codes are NaN / inf. */
function minifloat(b: number, e: number, m: number, bias: number, kind: 'fn' | 'fnuz' | 'ieee' | 'none'): number {
  const total = 1 + e + m;
  const sign = (b >> (total - 1)) & 1;
  const ex = (b >> m) & ((1 << e) - 1);
  const man = b & ((1 << m) - 1);
  if (kind === 'fnuz' && b === 1 << (total - 1)) return NaN;
  if (kind === 'fn' && ex === (1 << e) - 1 && man === (1 << m) - 1) return NaN;
  if (kind === 'ieee' && ex === (1 << e) - 1) return man ? NaN : sign ? -Infinity : Infinity;
  const v = ex === 0 ? man * 2 ** (1 - bias - m) : (1 + man / (1 << m)) * 2 ** (ex - bias);
  return sign ? -v : v;
}
const FP8_TABLES: Record<number, Float32Array> = {
  17: makeTable(256, (b) => minifloat(b, 4, 3, 7, 'fn')),
  18: makeTable(256, (b) => minifloat(b, 4, 3, 8, 'fnuz')),
  19: makeTable(256, (b) => minifloat(b, 5, 2, 15, 'ieee')),
  20: makeTable(256, (b) => minifloat(b, 5, 2, 16, 'fnuz')),
  23: makeTable(16, (b) => minifloat(b, 2, 1, 1, 'none')),
  24: makeTable(256, (b) => (b === 255 ? NaN : 2 ** (b - 127))),
};

/**
 * Decodes little-endian raw_data bytes of `count` elements to float32 (integers converted exactly where
 * float32 can hold them).
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function rawToFloat32(dt: number, bytes: Uint8Array, count: number): Float32Array {
  if (LITTLE_ENDIAN && dt === DT.FLOAT) {
    // one memcpy into a fresh buffer (never a view of the model bytes: callers may transfer it)
    const copy = new Uint8Array(count * 4);
    copy.set(bytes.subarray(0, count * 4));
    return new Float32Array(copy.buffer);
  }
  if (LITTLE_ENDIAN && dt === DT.FLOAT16) {
    const copy = new Uint8Array(count * 2);
    copy.set(bytes.subarray(0, count * 2));
    const h = new Uint16Array(copy.buffer);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = F16_TABLE[h[i]];
    return out;
  }
  const out = new Float32Array(count);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dt) {
    case DT.FLOAT:
      for (let i = 0; i < count; i++) out[i] = dv.getFloat32(i * 4, true);
      break;
    case DT.FLOAT16:
      for (let i = 0; i < count; i++) out[i] = F16_TABLE[dv.getUint16(i * 2, true)];
      break;
    case DT.BFLOAT16: {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = dv.getUint16(i * 2, true) << 16;
      break;
    }
    case DT.DOUBLE:
      for (let i = 0; i < count; i++) out[i] = dv.getFloat64(i * 8, true);
      break;
    case DT.UINT8:
    case DT.BOOL:
      for (let i = 0; i < count; i++) out[i] = bytes[i];
      break;
    case DT.INT8:
      for (let i = 0; i < count; i++) out[i] = (bytes[i] << 24) >> 24;
      break;
    case DT.UINT16:
      for (let i = 0; i < count; i++) out[i] = dv.getUint16(i * 2, true);
      break;
    case DT.INT16:
      for (let i = 0; i < count; i++) out[i] = dv.getInt16(i * 2, true);
      break;
    case DT.INT32:
      for (let i = 0; i < count; i++) out[i] = dv.getInt32(i * 4, true);
      break;
    case DT.UINT32:
      for (let i = 0; i < count; i++) out[i] = dv.getUint32(i * 4, true);
      break;
    case DT.INT64:
      for (let i = 0; i < count; i++) out[i] = Number(dv.getBigInt64(i * 8, true));
      break;
    case DT.UINT64:
      for (let i = 0; i < count; i++) out[i] = Number(dv.getBigUint64(i * 8, true));
      break;
    case DT.UINT4:
    case DT.INT4:
    case DT.UINT2:
    case DT.INT2:
    case DT.FLOAT4E2M1: {
      const bits = dtypeBits(dt);
      const per = 8 / bits;
      const mask = (1 << bits) - 1;
      const signed = dt === DT.INT4 || dt === DT.INT2;
      const half = 1 << (bits - 1);
      const fp4 = FP8_TABLES[23];
      for (let i = 0; i < count; i++) {
        const v = (bytes[Math.floor(i / per)] >> ((i % per) * bits)) & mask;
        out[i] = dt === DT.FLOAT4E2M1 ? fp4[v] : signed && v >= half ? v - (1 << bits) : v;
      }
      break;
    }
    case DT.FLOAT8E4M3FN:
    case DT.FLOAT8E4M3FNUZ:
    case DT.FLOAT8E5M2:
    case DT.FLOAT8E5M2FNUZ:
    case DT.FLOAT8E8M0: {
      const t = FP8_TABLES[dt];
      for (let i = 0; i < count; i++) out[i] = t[bytes[i]];
      break;
    }
    default:
      throw new RangeError(`data type ${dtypeName(dt)} has no numeric float32 view`);
  }
  return out;
}

/** Integer codes (for quantized data) from raw bytes: int8/uint8/int4/uint4/int16/uint16. */
export function rawToCodes(dt: number, bytes: Uint8Array, count: number): Int8Array | Uint8Array {
  const f = rawToFloat32(dt, bytes, count);
  const signed = dt === DT.INT8 || dt === DT.INT4 || dt === DT.INT2;
  const out = signed ? new Int8Array(count) : new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = f[i];
  return out;
}
