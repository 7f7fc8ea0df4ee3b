/** MIL DataType ↔ dtype names ↔ weight.bin BlobDataType (formats.md §3.3, §4.3). */

export interface DtypeInfo {
  name: string;
  mil: number;
  /** BlobDataType, when the type can live in weight.bin */
  blob?: number;
  /** bits per element */
  bits: number;
}

const TABLE: DtypeInfo[] = [
  { name: 'bool', mil: 1, bits: 8 },
  { name: 'string', mil: 2, bits: 0 },
  { name: 'fp16', mil: 10, blob: 1, bits: 16 },
  { name: 'fp32', mil: 11, blob: 2, bits: 32 },
  { name: 'fp64', mil: 12, bits: 64 },
  { name: 'bf16', mil: 13, blob: 5, bits: 16 },
  { name: 'int8', mil: 21, blob: 4, bits: 8 },
  { name: 'int16', mil: 22, blob: 6, bits: 16 },
  { name: 'int32', mil: 23, blob: 14, bits: 32 },
  { name: 'int64', mil: 24, bits: 64 },
  { name: 'int4', mil: 25, blob: 8, bits: 4 },
  { name: 'uint8', mil: 31, blob: 3, bits: 8 },
  { name: 'uint16', mil: 32, blob: 7, bits: 16 },
  { name: 'uint32', mil: 33, blob: 15, bits: 32 },
  { name: 'uint64', mil: 34, bits: 64 },
  { name: 'uint4', mil: 35, blob: 11, bits: 4 },
  { name: 'uint2', mil: 36, blob: 10, bits: 2 },
  { name: 'uint1', mil: 37, blob: 9, bits: 1 },
  { name: 'uint6', mil: 38, blob: 13, bits: 6 },
  { name: 'uint3', mil: 39, blob: 12, bits: 3 },
  { name: 'fp8e4m3fn', mil: 40, blob: 16, bits: 8 },
  { name: 'fp8e5m2', mil: 41, blob: 17, bits: 8 },
];

export const BY_MIL = new Map(TABLE.map((d) => [d.mil, d]));
export const BY_NAME = new Map(TABLE.map((d) => [d.name, d]));
export const BY_BLOB = new Map(TABLE.filter((d) => d.blob !== undefined).map((d) => [d.blob!, d]));

export function dtypeName(mil: number): string {
  return BY_MIL.get(mil)?.name ?? `dtype${mil}`;
}

export function milOf(name: string): number {
  const d = BY_NAME.get(name);
  if (!d) throw new Error(`unknown MIL dtype ${name}`);
  return d.mil;
}

export function isSubByte(name: string): boolean {
  const b = BY_NAME.get(name)?.bits ?? 8;
  return b < 8;
}

/** Stored byte size of n elements (sub-byte types packed). */
export function storedBytes(name: string, n: number): number {
  const d = BY_NAME.get(name);
  if (!d) throw new Error(`unknown MIL dtype ${name}`);
  return Math.ceil((n * d.bits) / 8);
}

/** OS implied by a specificationVersion (formats.md §1.4). */
export const SPEC_OS: Record<number, string> = {
  1: 'iOS11 / macOS10.13',
  2: 'iOS11.2 / macOS10.13.2',
  3: 'iOS12 / macOS10.14',
  4: 'iOS13 / macOS10.15',
  5: 'iOS14 / macOS11',
  6: 'iOS15 / macOS12',
  7: 'iOS16 / macOS13',
  8: 'iOS17 / macOS14',
  9: 'iOS18 / macOS15',
  10: 'iOS26 / macOS26',
};

/** The MIL opset name for a spec version ≥ 6 (CoreML5 … CoreML9). */
export function opsetForSpec(spec: number): string {
  return `CoreML${spec - 1}`;
}

export function specForOpset(opset: string): number | undefined {
  const m = /^CoreML(\d+)$/.exec(opset);
  return m ? Number(m[1]) + 1 : undefined;
}
