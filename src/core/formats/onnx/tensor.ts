/** Where a TensorProto's values live (raw_data, typed fields, external file) and reading them as raw LE bytes. */
import { ShrinkrayError } from '../../errors';
import type { ByteSource, FileTree } from '../../io/source';
import type { WeightLocation } from '../../model/types';
import { readFields } from '../../proto/wire';
import { DT, dtypeBits, dtypeName, isKnownDtype, rawBytes } from './dtypes';
import { STRIP_FIELD, type StrippedData } from './scan';
import { big, num, type TensorP } from './schema';

export interface ExternalRef {
  /** true when the data is the tensor's own raw_data, left in the .onnx by the scan */
  inModel?: boolean;
  file: string;
  src: ByteSource;
  offset: number;
  length: number;
}

export interface TensorRef {
  name: string;
  dt: number;
  dims: number[];
  count: number;
  decoded: TensorP;
  /** TensorProto payload bytes (a view into the model file) */
  wire: Uint8Array;
  external?: ExternalRef;
  /** data bytes on disk */
  bytes: number;
  location: WeightLocation;
}

export interface TensorContext {
  tree: FileTree;
  /** path of the .onnx in the tree */
  modelPath: string;
  /** the .onnx itself and the raw_data ranges the scan left in it (scan.ts) */
  main?: ByteSource;
  stripped?: StrippedData[];
}

/** Index of the scan's marker field in a TensorProto (raw_data left in the file), or -1. */
export function markerOf(wire: Uint8Array): number {
  for (const f of readFields(wire)) if (f.no === STRIP_FIELD && f.wt === 0) return f.varint ?? -1;
  return -1;
}

const DATA_FIELDS = new Set([4, 5, 6, 7, 9, 10, 11]);

function dataBytesOnWire(wire: Uint8Array): number {
  let n = 0;
  for (const f of readFields(wire)) if (DATA_FIELDS.has(f.no)) n += f.wt === 2 ? f.dataEnd - f.dataStart : f.end - f.start;
  return n;
}

/** Checks a location string and resolves it against the folder of the model file. */
export function resolveExternalPath(modelPath: string, location: string, tensor: string): string {
  const loc = location.replace(/\\/g, '/');
  if (loc === '' || loc.startsWith('/') || /^[a-zA-Z]:/.test(loc)) {
    throw new ShrinkrayError(
      'external-data-range',
      `${modelPath}: external data location "${location}" of tensor ${tensor} is an absolute path: refused (it must be relative to the model's folder)`,
      modelPath,
    );
  }
  const parts: string[] = [];
  for (const seg of loc.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      throw new ShrinkrayError(
        'external-data-range',
        `${modelPath}: external data location "${location}" of tensor ${tensor} leaves the model's folder: refused`,
        modelPath,
      );
    }
    parts.push(seg);
  }
  const dir = modelPath.includes('/') ? modelPath.slice(0, modelPath.lastIndexOf('/') + 1) : '';
  return dir + parts.join('/');
}

function parseDecimal(s: string | undefined, what: string, t: string, file: string): number | undefined {
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s.trim())) {
    throw new ShrinkrayError('external-data-range', `${file}: external data ${what} "${s}" of tensor ${t} is not a non-negative integer`, file);
  }
  return Number(s.trim());
}

export function makeTensorRef(t: TensorP, wire: Uint8Array, ctx: TensorContext, nameOverride?: string): TensorRef {
  const name = nameOverride ?? t.name ?? '';
  const dt = t.data_type ?? 0;
  const dims = (t.dims ?? []).map(num);
  const count = dims.reduce((a, b) => a * b, 1);
  const file = ctx.modelPath;
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0) || !Number.isSafeInteger(count)) {
    throw new ShrinkrayError('protobuf-decode', `${file}: tensor ${name} has an invalid shape [${dims.join(',')}]`, file);
  }
  if (!isKnownDtype(dt)) {
    throw new ShrinkrayError('unsupported-model', `${file}: tensor ${name} has unknown data type ${dt}`, file);
  }
  const mark = ctx.stripped && ctx.main ? markerOf(wire) : -1;
  if (mark >= 0) {
    const st = ctx.stripped![mark];
    if (!st) throw new ShrinkrayError('internal', `${file}: tensor ${name}: unknown raw_data marker ${mark}`, file);
    if (dt !== DT.STRING && st.length !== rawBytes(dt, count)) {
      throw new ShrinkrayError(
        'protobuf-decode',
        `${file}: tensor ${name} has ${st.length} bytes of raw_data but shape [${dims.join(',')}] of ${dtypeName(dt)} needs ${rawBytes(dt, count)}`,
        file,
      );
    }
    return {
      name, dt, dims, count, decoded: t, wire,
      external: { inModel: true, file, src: ctx.main!, offset: st.offset, length: st.length },
      bytes: st.length,
      location: { kind: 'inline' },
    };
  }
  if (t.data_location === 1) {
    const kv = new Map((t.external_data ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = kv.get('location');
    if (location === undefined) {
      throw new ShrinkrayError('external-data-missing', `${file}: tensor ${name} is marked external but has no location`, file);
    }
    const path = resolveExternalPath(file, location, name);
    const src = ctx.tree.get(path);
    if (!src) {
      throw new ShrinkrayError(
        'external-data-missing',
        `${file}: external data file ${location} (tensor ${name}) not found: drop it together with the .onnx`,
        location,
      );
    }
    const offset = parseDecimal(kv.get('offset'), 'offset', name, file) ?? 0;
    const expect = dt === DT.STRING ? undefined : rawBytes(dt, count);
    const length = parseDecimal(kv.get('length'), 'length', name, file) ?? (expect ?? src.size - offset);
    if (offset + length > src.size) {
      throw new ShrinkrayError(
        'external-data-range',
        `${location}: tensor ${name} at offset ${offset} with length ${length} runs past the end of the file (${src.size} bytes)`,
        location,
      );
    }
    if (expect !== undefined && length !== expect) {
      throw new ShrinkrayError(
        'external-data-range',
        `${location}: tensor ${name} has length ${length} but its shape [${dims.join(',')}] of ${dtypeName(dt)} needs ${expect} bytes`,
        location,
      );
    }
    return {
      name, dt, dims, count, decoded: t, wire,
      external: { file: location, src, offset, length },
      bytes: length,
      location: { kind: 'external', file: location, offset, length },
    };
  }
  const bytes = dataBytesOnWire(wire);
  const bad = t.raw_data && t.raw_data.length > 0 ? undefined : typedMismatch(t, dt, count);
  if (bad) {
    throw new ShrinkrayError('protobuf-decode', `${file}: tensor ${name} has ${bad[1]} entries in ${bad[0]} but its shape [${dims.join(',')}] needs ${bad[2]}`, file);
  }
  if (t.raw_data && t.raw_data.length > 0 && dt !== DT.STRING && t.raw_data.length !== rawBytes(dt, count)) {
    throw new ShrinkrayError(
      'protobuf-decode',
      `${file}: tensor ${name} has ${t.raw_data.length} bytes of raw_data but shape [${dims.join(',')}] of ${dtypeName(dt)} needs ${rawBytes(dt, count)}`,
      file,
    );
  }
  return { name, dt, dims, count, decoded: t, wire, bytes, location: { kind: 'inline' } };
}

/** [field, entries, entries the shape needs] when a typed data field does not fit the shape. */
function typedMismatch(t: TensorP, dt: number, count: number): [string, number, number] | undefined {
  if (dt === DT.STRING || dt === DT.COMPLEX64 || dt === DT.COMPLEX128 || count === 0) return undefined;
  const field: Record<number, [string, unknown[] | undefined]> = {
    [DT.FLOAT]: ['float_data', t.float_data],
    [DT.DOUBLE]: ['double_data', t.double_data],
    [DT.INT64]: ['int64_data', t.int64_data],
    [DT.UINT32]: ['uint64_data', t.uint64_data],
    [DT.UINT64]: ['uint64_data', t.uint64_data],
  };
  const [name, arr] = field[dt] ?? ['int32_data', t.int32_data];
  const need = field[dt] || dtypeBits(dt) >= 8 ? count : rawBytes(dt, count);
  const have = (arr ?? []).length;
  return have === need ? undefined : [name, have, need];
}

/** Raw little-endian bytes of the tensor (typed fields converted), read on demand. */
export async function readRaw(ref: TensorRef): Promise<Uint8Array> {
  const { dt, count, decoded: t } = ref;
  if (ref.external) return ref.external.src.read(ref.external.offset, ref.external.length);
  if (t.raw_data && t.raw_data.length > 0) return t.raw_data;
  const n = rawBytes(dt, count);
  const fail = (field: string, have: number, need: number) =>
    new ShrinkrayError('protobuf-decode', `tensor ${ref.name}: ${field} has ${have} entries, shape needs ${need}`);
  if (count === 0) return new Uint8Array(0);
  // check the typed field's length before allocating anything for the shape
  const bad = typedMismatch(t, dt, count);
  if (bad) throw fail(...bad);
  const out = new Uint8Array(n);
  const dv = new DataView(out.buffer);
  switch (dt) {
    case DT.FLOAT: {
      const a = t.float_data ?? [];
      if (a.length !== count) throw fail('float_data', a.length, count);
      for (let i = 0; i < count; i++) dv.setFloat32(i * 4, a[i], true);
      return out;
    }
    case DT.DOUBLE: {
      const a = t.double_data ?? [];
      if (a.length !== count) throw fail('double_data', a.length, count);
      for (let i = 0; i < count; i++) dv.setFloat64(i * 8, a[i], true);
      return out;
    }
    case DT.INT64: {
      const a = t.int64_data ?? [];
      if (a.length !== count) throw fail('int64_data', a.length, count);
      for (let i = 0; i < count; i++) dv.setBigInt64(i * 8, BigInt.asIntN(64, big(a[i])), true);
      return out;
    }
    case DT.UINT32:
    case DT.UINT64: {
      const a = t.uint64_data ?? [];
      if (a.length !== count) throw fail('uint64_data', a.length, count);
      for (let i = 0; i < count; i++) {
        if (dt === DT.UINT32) dv.setUint32(i * 4, num(a[i]), true);
        else dv.setBigUint64(i * 8, BigInt.asUintN(64, big(a[i])), true);
      }
      return out;
    }
    case DT.STRING:
    case DT.COMPLEX64:
    case DT.COMPLEX128:
      throw new ShrinkrayError('unsupported-model', `tensor ${ref.name}: ${dtypeName(dt)} values are not numeric weights`);
    default: {
      const a = t.int32_data ?? [];
      const bits = dtypeBits(dt);
      if (bits < 8) {
        // one packed byte per int32 entry
        if (a.length !== n) throw fail('int32_data', a.length, n);
        for (let i = 0; i < n; i++) out[i] = a[i] & 0xff;
        return out;
      }
      if (a.length !== count) throw fail('int32_data', a.length, count);
      if (bits === 8) for (let i = 0; i < count; i++) out[i] = a[i] & 0xff;
      else if (bits === 16) for (let i = 0; i < count; i++) dv.setUint16(i * 2, a[i] & 0xffff, true);
      else for (let i = 0; i < count; i++) dv.setInt32(i * 4, a[i], true);
      return out;
    }
  }
}
