/**
 * The two passes of per-tensor fp16 palettization over the elements: a histogram by bit pattern and a gather of
 * each element's index from a 65,536-entry pattern → index table. Both read two fp16 patterns per 32-bit load,
 * two loads per step (~10% faster than one), on little-endian hosts and 4-byte-aligned runs; the gather stores
 * two indices per 16-bit store. Any unaligned head or tail element, or a big-endian host, takes the plain loop.
 * Counts go to a Float64Array: V8 increments doubles in a typed array faster than uint32 (no int/uint range
 * checks), ~2.5x on 16M elements.
 *
 * Both are driven in pieces of CHUNK elements, one call of the loop function per piece. In Chromium's workers a
 * single call over a whole 16.8M-element weight sometimes ran unoptimised from start to end (baseline code:
 * every Float64Array count and every 32-bit load above 2^30 a boxed double, ~450 young-generation collections,
 * 3-4x the time of the job): when V8 marks the loop function for optimisation at the entry of a call (it has
 * become hot over the previous calls), the optimised code is only compiled at the next call, and the running
 * call was never moved to optimised code by on-stack replacement (--trace-osr: its OSR urgency raised hundreds
 * of times, no OSR compile). With pieces, the next piece is that next call: at most one piece runs slowly.
 */
import { CHUNK } from '../../tensor/pieces';

const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** cnt[p] += number of elements i in [a, b) with bits[i] = p. */
export function countF16(bits: Uint16Array, a: number, b: number, cnt: Float64Array): void {
  for (let s = a; s < b; s += CHUNK) countRun(bits, s, b - s > CHUNK ? s + CHUNK : b, cnt);
}

/** out[i] = code[bits[i]] for i in [a, b). */
export function gatherF16(bits: Uint16Array, a: number, b: number, code: Uint8Array, out: Uint8Array): void {
  for (let s = a; s < b; s += CHUNK) gatherRun(bits, s, b - s > CHUNK ? s + CHUNK : b, code, out);
}

function countRun(bits: Uint16Array, a: number, b: number, cnt: Float64Array): void {
  let i = a;
  // 32-bit loads need the element's byte address to be a multiple of 4
  if (LITTLE && b - a >= 8) {
    if (((bits.byteOffset >>> 1) + i) & 1) cnt[bits[i++]]++;
    const m = (b - i) >>> 1;
    const w = new Uint32Array(bits.buffer, bits.byteOffset + 2 * i, m);
    let t = 0;
    for (; t + 1 < m; t += 2) {
      const v = w[t];
      const u = w[t + 1];
      cnt[v & 0xffff]++;
      cnt[v >>> 16]++;
      cnt[u & 0xffff]++;
      cnt[u >>> 16]++;
    }
    if (t < m) {
      const v = w[t];
      cnt[v & 0xffff]++;
      cnt[v >>> 16]++;
    }
    i += 2 * m;
  }
  for (; i < b; i++) cnt[bits[i]]++;
}

function gatherRun(bits: Uint16Array, a: number, b: number, code: Uint8Array, out: Uint8Array): void {
  let i = a;
  if (LITTLE && b - a >= 8 && (((bits.byteOffset >>> 1) + i) & 1) === ((out.byteOffset + i) & 1)) {
    // both runs reach an even element together: then 32-bit loads of patterns, 16-bit stores of indices
    if (((bits.byteOffset >>> 1) + i) & 1) {
      out[i] = code[bits[i]];
      i++;
    }
    const m = (b - i) >>> 1;
    const w = new Uint32Array(bits.buffer, bits.byteOffset + 2 * i, m);
    const o = new Uint16Array(out.buffer, out.byteOffset + i, m);
    let t = 0;
    for (; t + 1 < m; t += 2) {
      const v = w[t];
      const u = w[t + 1];
      o[t] = code[v & 0xffff] | (code[v >>> 16] << 8);
      o[t + 1] = code[u & 0xffff] | (code[u >>> 16] << 8);
    }
    if (t < m) {
      const v = w[t];
      o[t] = code[v & 0xffff] | (code[v >>> 16] << 8);
    }
    i += 2 * m;
  }
  for (; i < b; i++) out[i] = code[bits[i]];
}
