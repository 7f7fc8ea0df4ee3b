import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { packLSB, packMSB, unpackLSB, unpackMSB } from './pack';

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join(' ');

describe('bit packing', () => {
  it('matches the LSB-first worked examples of formats.md §4.6', () => {
    expect(hex(packLSB([1, 2, 3], 4))).toBe('21 03');
    expect(hex(packLSB([-3 & 15, 5], 4))).toBe('5D');
    expect(hex(packLSB([1, 2, 3, 4, 5], 3))).toBe('D1 58');
    expect(hex(packLSB([3, 1, 2, 0, 1], 2))).toBe('27 01');
    expect(hex(packLSB([1, 0, 1, 1, 0, 0, 0, 1, 1], 1))).toBe('8D 01');
  });

  it('matches the MSB-first NeuralNetwork examples of formats.md §6.3', () => {
    expect(hex(packMSB([1, 2, 3], 4))).toBe('12 30');
    expect(hex(packMSB([1, 2, 3, 4, 5], 3))).toBe('29 CA');
    expect(packMSB([], 4).length).toBe(1);
  });

  for (const bits of [1, 2, 3, 4, 6, 8]) {
    it(`round-trips ${bits}-bit codes both ways`, () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: 2 ** bits - 1 }), { maxLength: 200 }), (vals) => {
          const a = unpackLSB(packLSB(vals, bits), bits, vals.length);
          const b = unpackMSB(packMSB(vals, bits), bits, vals.length);
          return a.every((v, i) => v === vals[i]) && b.every((v, i) => v === vals[i]);
        }),
      );
    });
  }

  it('refuses packed data that is too short', () => {
    expect(() => unpackLSB(new Uint8Array(1), 4, 3)).toThrow(/too short/);
  });
});
