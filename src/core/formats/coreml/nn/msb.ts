/**
 * NeuralNetwork rawValue bit streams (formats.md §6.3): each code's bits from most to least significant,
 * filling each byte from bit 7, zero-padded to a whole byte and to at least one byte. Same result as
 * packMSB / unpackMSB in tensor/pack.ts, with a bit accumulator instead of a loop per bit (these run over
 * every element of big weights).
 */
export function packMSBFast(values: ArrayLike<number>, bits: number, count = values.length): Uint8Array {
  const out = new Uint8Array(Math.max(1, Math.ceil((count * bits) / 8)));
  if (bits === 8) {
    for (let i = 0; i < count; i++) out[i] = values[i];
    return out;
  }
  const mask = (1 << bits) - 1;
  let acc = 0;
  let n = 0;
  let o = 0;
  for (let i = 0; i < count; i++) {
    acc = ((acc << bits) | (values[i] & mask)) & 0xffff;
    n += bits;
    if (n >= 8) {
      n -= 8;
      out[o++] = (acc >>> n) & 0xff;
    }
  }
  if (n > 0) out[o] = (acc << (8 - n)) & 0xff;
  return out;
}

export function unpackMSBFast(bytes: Uint8Array, bits: number, count: number, out = new Uint8Array(count)): Uint8Array {
  if (bits === 8) {
    out.set(bytes.subarray(0, count));
    return out;
  }
  const mask = (1 << bits) - 1;
  let acc = 0;
  let n = 0;
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (n < bits) {
      acc = ((acc << 8) | bytes[p++]) & 0xffff;
      n += 8;
    }
    n -= bits;
    out[i] = (acc >>> n) & mask;
  }
  return out;
}
