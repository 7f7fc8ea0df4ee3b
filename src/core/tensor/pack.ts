/**
 * Sub-byte packing. MIL (blob storage, immediates, iOS16 indices and masks) and ONNX int4/uint4 use an
 * LSB-first bit stream; the old NeuralNetwork rawValue uses an MSB-first stream (formats.md §4.6, §6.3).
 * Values are unsigned codes 0..2^bits-1 (for int4, pass the two's-complement nibble: v & 15).
 */
import { CHUNK } from './pieces';

export function packedBytes(count: number, bits: number): number {
  return Math.ceil((count * bits) / 8);
}

/** Per-element loops run in pieces of CHUNK values, one call each (pieces.ts). */
export function packLSB(values: ArrayLike<number>, bits: number, count = values.length): Uint8Array {
  const out = new Uint8Array(packedBytes(count, bits));
  if (bits === 8) {
    for (let s = 0; s < count; s += CHUNK) pack8Run(values, s, count - s > CHUNK ? s + CHUNK : count, out);
    return out;
  }
  if (bits === 4) {
    if (values instanceof Uint8Array && (values.byteOffset & 3) === 0) return packNibbles(values, count, out);
    // whole bytes first (one store per byte instead of a read-modify-write per value)
    const whole = count >> 1;
    const P = CHUNK >> 1;
    for (let s = 0; s < whole; s += P) pack4Run(values, s, whole - s > P ? s + P : whole, out);
    if (count & 1) out[whole] = values[count - 1] & 15;
    return out;
  }
  if (bits === 1) {
    if (values instanceof Uint8Array && (values.byteOffset & 3) === 0) return packBits(values, count, out);
    const whole = count >> 3;
    const P = CHUNK >> 3;
    for (let s = 0; s < whole; s += P) pack1Run(values, s, whole - s > P ? s + P : whole, out);
    for (let i = whole << 3; i < count; i++) out[i >> 3] |= (values[i] & 1) << (i & 7);
    return out;
  }
  for (let s = 0; s < count; s += CHUNK) packBitsRun(values, bits, s, count - s > CHUNK ? s + CHUNK : count, out);
  return out;
}

function pack8Run(values: ArrayLike<number>, a: number, b: number, out: Uint8Array): void {
  for (let i = a; i < b; i++) out[i] = values[i] & 0xff;
}

/** Output bytes j in [a, b), two values each. */
function pack4Run(values: ArrayLike<number>, a: number, b: number, out: Uint8Array): void {
  for (let j = a, i = 2 * a; j < b; j++, i += 2) out[j] = (values[i] & 15) | ((values[i + 1] & 15) << 4);
}

/** Output bytes j in [a, b), eight values each. */
function pack1Run(values: ArrayLike<number>, a: number, b: number, out: Uint8Array): void {
  for (let j = a, i = 8 * a; j < b; j++, i += 8) {
    out[j] =
      (values[i] & 1) | ((values[i + 1] & 1) << 1) | ((values[i + 2] & 1) << 2) | ((values[i + 3] & 1) << 3) |
      ((values[i + 4] & 1) << 4) | ((values[i + 5] & 1) << 5) | ((values[i + 6] & 1) << 6) | ((values[i + 7] & 1) << 7);
  }
}

/** Values [a, b) of any width; a piece starts at a whole byte or ORs into the byte its predecessor began. */
function packBitsRun(values: ArrayLike<number>, bits: number, a: number, b: number, out: Uint8Array): void {
  const mask = (1 << bits) - 1;
  let bit = a * bits;
  for (let i = a; i < b; i++, bit += bits) {
    const v = values[i] & mask;
    const byte = bit >>> 3;
    const off = bit & 7;
    out[byte] |= (v << off) & 0xff;
    if (off + bits > 8) out[byte + 1] |= v >>> (8 - off);
  }
}

/**
 * 4-bit LSB-first packing of bytes (low nibble of each), eight values per step: in a 32-bit word of four
 * codes, w | w >>> 4 holds bytes 0 and 2 of the output pair in its bytes 0 and 2.
 */
function packNibbles(values: Uint8Array, count: number, out: Uint8Array): Uint8Array {
  const words = count >> 3;
  const u = new Uint32Array(values.buffer, values.byteOffset, words * 2);
  const o32 = new Uint32Array(out.buffer, out.byteOffset, words);
  const P = CHUNK >> 3;
  for (let s = 0; s < words; s += P) nibblesRun(u, o32, s, words - s > P ? s + P : words);
  for (let i = words << 3; i < count; i++) out[i >> 1] |= (values[i] & 15) << ((i & 1) << 2);
  return out;
}

/** Output words j in [a, b). */
function nibblesRun(u: Uint32Array, o32: Uint32Array, a: number, b: number): void {
  for (let j = a, k = 2 * a; j < b; j++, k += 2) {
    const x = u[k] & 0x0f0f0f0f;
    const y = u[k + 1] & 0x0f0f0f0f;
    const p = x | (x >>> 4);
    const q = y | (y >>> 4);
    o32[j] = (p & 0xff) | ((p >>> 8) & 0xff00) | ((q & 0xff) << 16) | ((q << 8) & 0xff000000);
  }
}

/**
 * 1-bit LSB-first packing of bytes (bit 0 of each), 32 values per step: each group of four bytes, read as one
 * little-endian 32-bit word with bits at positions 0, 8, 16, 24, is gathered into a nibble by one multiply
 * (0x10204080 moves them to bits 28..31; the cross products land on distinct lower bits, so no carries).
 */
function packBits(values: Uint8Array, count: number, out: Uint8Array): Uint8Array {
  const u = new Uint32Array(values.buffer, values.byteOffset, count >> 2);
  const words = count >> 5;
  const o32 = new Uint32Array(out.buffer, out.byteOffset, words);
  const P = CHUNK >> 5;
  for (let s = 0; s < words; s += P) bitsRun(u, o32, s, words - s > P ? s + P : words);
  for (let i = words << 5; i < count; i++) out[i >> 3] |= (values[i] & 1) << (i & 7);
  return out;
}

function nib(w: number): number {
  return Math.imul(w & 0x01010101, 0x10204080) >>> 28;
}

/** Output words j in [a, b). */
function bitsRun(u: Uint32Array, o32: Uint32Array, a: number, b: number): void {
  for (let j = a, k = 8 * a; j < b; j++, k += 8) {
    o32[j] =
      nib(u[k]) | (nib(u[k + 1]) << 4) | (nib(u[k + 2]) << 8) | (nib(u[k + 3]) << 12) |
      (nib(u[k + 4]) << 16) | (nib(u[k + 5]) << 20) | (nib(u[k + 6]) << 24) | (nib(u[k + 7]) << 28);
  }
}

export function unpackLSB(bytes: Uint8Array, bits: number, count: number, out = new Uint8Array(count)): Uint8Array {
  if (bytes.length < packedBytes(count, bits)) {
    throw new RangeError(`packed data too short: ${bytes.length} bytes for ${count} × ${bits}-bit values`);
  }
  if (bits === 8) {
    out.set(bytes.subarray(0, count));
    return out;
  }
  if (bits === 4) {
    for (let s = 0; s < count; s += CHUNK) unpack4Run(bytes, s, count - s > CHUNK ? s + CHUNK : count, out);
    return out;
  }
  if (bits === 1 && (out.byteOffset & 3) === 0 && out.length >= count) return unpackBits(bytes, count, out);
  for (let s = 0; s < count; s += CHUNK) unpackBitsRun(bytes, bits, s, count - s > CHUNK ? s + CHUNK : count, out);
  return out;
}

function unpack4Run(bytes: Uint8Array, a: number, b: number, out: Uint8Array): void {
  for (let i = a; i < b; i++) out[i] = (bytes[i >> 1] >>> ((i & 1) << 2)) & 15;
}

function unpackBitsRun(bytes: Uint8Array, bits: number, a: number, b: number, out: Uint8Array): void {
  const mask = (1 << bits) - 1;
  let bit = a * bits;
  for (let i = a; i < b; i++, bit += bits) {
    const byte = bit >>> 3;
    const off = bit & 7;
    let v = bytes[byte] >>> off;
    if (off + bits > 8) v |= bytes[byte + 1] << (8 - off);
    out[i] = v & mask;
  }
}

/** The four bits of a nibble spread to the low bit of four bytes (a little-endian 32-bit word). */
const SPREAD = Uint32Array.from({ length: 16 }, (_, v) => (v & 1) | ((v & 2) << 7) | ((v & 4) << 14) | ((v & 8) << 21));

/** 1-bit LSB-first unpacking, eight values per byte as two 32-bit stores (out 4-byte aligned). */
function unpackBits(bytes: Uint8Array, count: number, out: Uint8Array): Uint8Array {
  const whole = count >> 3;
  const o32 = new Uint32Array(out.buffer, out.byteOffset, whole * 2);
  const P = CHUNK >> 3;
  for (let s = 0; s < whole; s += P) spreadRun(bytes, o32, s, whole - s > P ? s + P : whole);
  for (let i = whole << 3; i < count; i++) out[i] = (bytes[i >> 3] >>> (i & 7)) & 1;
  return out;
}

/** Packed bytes j in [a, b). */
function spreadRun(bytes: Uint8Array, o32: Uint32Array, a: number, b: number): void {
  const sp = SPREAD;
  for (let j = a; j < b; j++) {
    const v = bytes[j];
    o32[2 * j] = sp[v & 15];
    o32[2 * j + 1] = sp[v >>> 4];
  }
}

/** NeuralNetwork rawValue packing: MSB-first, at least one byte. */
export function packMSB(values: ArrayLike<number>, bits: number, count = values.length): Uint8Array {
  const out = new Uint8Array(Math.max(1, packedBytes(count, bits)));
  let bit = 0;
  for (let i = 0; i < count; i++) {
    const v = values[i];
    for (let b = bits - 1; b >= 0; b--, bit++) {
      if ((v >>> b) & 1) out[bit >>> 3] |= 0x80 >>> (bit & 7);
    }
  }
  return out;
}

export function unpackMSB(bytes: Uint8Array, bits: number, count: number, out = new Uint8Array(count)): Uint8Array {
  if (bytes.length < packedBytes(count, bits)) {
    throw new RangeError(`packed data too short: ${bytes.length} bytes for ${count} × ${bits}-bit values`);
  }
  if (bits === 8) {
    out.set(bytes.subarray(0, count));
    return out;
  }
  let bit = 0;
  for (let i = 0; i < count; i++) {
    let v = 0;
    for (let b = 0; b < bits; b++, bit++) v = (v << 1) | ((bytes[bit >>> 3] >>> (7 - (bit & 7))) & 1);
    out[i] = v;
  }
  return out;
}
