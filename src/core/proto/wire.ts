/**
 * Wire-level protobuf access. protobufjs drops fields its schema does not know; to rewrite a model without
 * losing anything we only decode what we change and splice the new bytes between the untouched ones.
 */

export interface WireField {
  /** field number */
  no: number;
  /** wire type: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32 */
  wt: number;
  /** [start, end) of the whole field (tag included) in the message bytes */
  start: number;
  end: number;
  /** [start, end) of the payload for wt 2 (the bytes after the length prefix) */
  dataStart: number;
  dataEnd: number;
  /** value for wt 0 (as a number; exact below 2^53) */
  varint?: number;
}

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new RangeError('truncated varint');
    const b = buf[pos++];
    result += (b & 0x7f) * mul;
    if (!(b & 0x80)) return [result, pos];
    mul *= 128;
  }
  throw new RangeError('varint too long');
}

/** Lists the fields of one message (not recursive). Throws RangeError on malformed input. */
/** With `partial`, a last field cut off by the end of `buf` is listed (truncated) instead of throwing. */
export function readFields(buf: Uint8Array, partial = false): WireField[] {
  const out: WireField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [tag, p1] = readVarint(buf, pos);
    pos = p1;
    const no = Math.floor(tag / 8);
    const wt = tag & 7;
    if (no === 0) throw new RangeError(`invalid field number 0 at byte ${start}`);
    const f: WireField = { no, wt, start, end: 0, dataStart: pos, dataEnd: pos };
    switch (wt) {
      case 0: {
        const [v, p] = readVarint(buf, pos);
        f.varint = v;
        pos = p;
        break;
      }
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      case 2: {
        const [len, p] = readVarint(buf, pos);
        f.dataStart = p;
        pos = p + len;
        f.dataEnd = pos;
        break;
      }
      default:
        throw new RangeError(`unsupported wire type ${wt} at byte ${start}`);
    }
    if (pos > buf.length) {
      if (partial) {
        out.push({ ...f, end: buf.length, dataEnd: buf.length });
        return out;
      }
      throw new RangeError(`field ${no} at byte ${start} runs past the end (${buf.length} bytes)`);
    }
    f.end = pos;
    f.dataEnd = wt === 2 ? f.dataEnd : pos;
    out.push(f);
  }
  return out;
}

export function encodeVarint(v: number): Uint8Array {
  const bytes: number[] = [];
  let x = v;
  while (x >= 128) {
    bytes.push((x % 128) | 0x80);
    x = Math.floor(x / 128);
  }
  bytes.push(x);
  return Uint8Array.from(bytes);
}

/** Encodes a length-delimited field (tag + length + payload). */
export function encodeLenField(no: number, payload: Uint8Array): Uint8Array {
  const tag = encodeVarint(no * 8 + 2);
  const len = encodeVarint(payload.length);
  const out = new Uint8Array(tag.length + len.length + payload.length);
  out.set(tag, 0);
  out.set(len, tag.length);
  out.set(payload, tag.length + len.length);
  return out;
}

export function encodeVarintField(no: number, v: number): Uint8Array {
  const tag = encodeVarint(no * 8);
  const val = encodeVarint(v);
  const out = new Uint8Array(tag.length + val.length);
  out.set(tag, 0);
  out.set(val, tag.length);
  return out;
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Rewrites a message: for each field, `edit` returns undefined to keep its bytes as they are, or the
 * complete replacement bytes (zero or more encoded fields). `append` adds fields at the end.
 */
export function spliceFields(
  buf: Uint8Array,
  edit: (f: WireField, payload: Uint8Array) => Uint8Array | undefined,
  append: Uint8Array[] = [],
): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of readFields(buf)) {
    const rep = edit(f, buf.subarray(f.dataStart, f.dataEnd));
    parts.push(rep ?? buf.subarray(f.start, f.end));
  }
  parts.push(...append);
  return concatBytes(parts);
}
