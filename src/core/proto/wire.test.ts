import { describe, expect, it } from 'vitest';
import { concatBytes, encodeLenField, encodeVarint, encodeVarintField, readFields, spliceFields } from './wire';

describe('wire-level protobuf', () => {
  const msg = concatBytes([
    encodeVarintField(1, 7),
    encodeLenField(2, new TextEncoder().encode('hello')),
    Uint8Array.from([0x1d, 1, 2, 3, 4]), // field 3 fixed32
    encodeVarintField(500, 300),
  ]);

  it('lists fields with their payloads', () => {
    const f = readFields(msg);
    expect(f.map((x) => [x.no, x.wt])).toEqual([[1, 0], [2, 2], [3, 5], [500, 0]]);
    expect(f[0].varint).toBe(7);
    expect(new TextDecoder().decode(msg.subarray(f[1].dataStart, f[1].dataEnd))).toBe('hello');
    expect(f[3].varint).toBe(300);
  });

  it('splices one field and keeps the others byte for byte', () => {
    const out = spliceFields(msg, (f) => (f.no === 2 ? encodeLenField(2, new TextEncoder().encode('hi')) : undefined));
    const f = readFields(out);
    expect(f.map((x) => x.no)).toEqual([1, 2, 3, 500]);
    expect(new TextDecoder().decode(out.subarray(f[1].dataStart, f[1].dataEnd))).toBe('hi');
    expect(out.subarray(f[2].start, f[2].end)).toEqual(Uint8Array.from([0x1d, 1, 2, 3, 4]));
  });

  it('rejects truncated messages unless asked for a partial listing', () => {
    const cut = msg.subarray(0, 5);
    expect(() => readFields(cut)).toThrow(RangeError);
    expect(readFields(cut, true).map((x) => x.no)).toEqual([1, 2]);
  });

  it('encodes varints above 2^31', () => {
    const big = 2 ** 40 + 5;
    expect(readFields(encodeVarintField(1, big))[0].varint).toBe(big);
    expect(encodeVarint(127).length).toBe(1);
    expect(encodeVarint(128).length).toBe(2);
  });
});
