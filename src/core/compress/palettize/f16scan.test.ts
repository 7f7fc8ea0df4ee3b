import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { countF16, gatherF16 } from './f16scan';
import { CHUNK } from '../../tensor/pieces';

describe('countF16 / gatherF16', () => {
  const code = new Uint8Array(65536);
  for (let h = 0; h < 65536; h++) code[h] = (h * 2654435761) >>> 28;
  it('equal the plain element loops for any run, at any alignment of the patterns and of the output', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e9 }),
        fc.integer({ min: 0, max: 70 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 5 }),
        (seed, len, inOff, outOff, a) => {
          let s = seed;
          const rnd = () => (s = (s * 48271) % 2147483647);
          // patterns at element offset inOff of their buffer, indices at byte offset outOff of theirs
          const bits = new Uint16Array(new ArrayBuffer(2 * (inOff + a + len)), 2 * inOff, a + len);
          for (let i = 0; i < bits.length; i++) bits[i] = rnd() % 7 === 0 ? 0x3c00 : rnd() & 0xffff;
          const b = a + len;
          const cnt = new Float64Array(65536);
          cnt[0x3c00] = 5; // counts add to what is there
          countF16(bits, a, b, cnt);
          const ref = new Float64Array(65536);
          ref[0x3c00] = 5;
          for (let i = a; i < b; i++) ref[bits[i]]++;
          let diff = 0;
          for (let h = 0; h < 65536; h++) if (cnt[h] !== ref[h]) diff++;
          expect(diff).toBe(0);

          const out = new Uint8Array(new ArrayBuffer(outOff + b + 3), outOff, b + 3).fill(0xee);
          gatherF16(bits, a, b, code, out);
          const want = new Uint8Array(b + 3).fill(0xee);
          for (let i = a; i < b; i++) want[i] = code[bits[i]];
          expect(Array.from(out)).toEqual(Array.from(want));
        },
      ),
      { numRuns: 150 },
    );
  });
  it('runs longer than a piece (CHUNK) equal the plain loops, across piece boundaries at odd alignments', () => {
    for (const [inOff, outOff, a, extra] of [[1, 0, 3, 37], [0, 1, 2, 0], [1, 1, 1, 1], [0, 0, 0, CHUNK - 1]]) {
      const len = 2 * CHUNK + extra;
      const bits = new Uint16Array(new ArrayBuffer(2 * (inOff + a + len)), 2 * inOff, a + len);
      let s = 7 + extra;
      for (let i = 0; i < bits.length; i++) bits[i] = (s = (s * 48271) % 2147483647) & 0xffff;
      const b = a + len;
      const cnt = new Float64Array(65536);
      countF16(bits, a, b, cnt);
      const ref = new Float64Array(65536);
      for (let i = a; i < b; i++) ref[bits[i]]++;
      let diff = 0;
      for (let h = 0; h < 65536; h++) if (cnt[h] !== ref[h]) diff++;
      expect(diff).toBe(0);
      const out = new Uint8Array(new ArrayBuffer(outOff + b + 1), outOff, b + 1).fill(0xee);
      gatherF16(bits, a, b, code, out);
      let bad = out[b] === 0xee ? 0 : 1;
      for (let i = 0; i < a; i++) if (out[i] !== 0xee) bad++;
      for (let i = a; i < b; i++) if (out[i] !== code[bits[i]]) bad++;
      expect(bad).toBe(0);
    }
  });
});
