/**
 * Reads an .onnx file without holding its weights: the protobuf is walked with ranged reads, and the
 * raw_data of every initializer and Constant value (at any graph depth) of at least `minStrip` bytes is left in
 * the file. The compact copy keeps every other byte; where a raw_data field was, it holds a marker field
 * (STRIP_FIELD, varint = index into `stripped`), which protobufjs skips as unknown and the writer turns back
 * into the original raw_data, read lazily from the file.
 */
import type { ByteSource } from '../../io/source';
import { concatBytes, encodeLenField, encodeVarint, encodeVarintField } from '../../proto/wire';

export const STRIP_FIELD = 1000;

export interface StrippedData {
  offset: number;
  length: number;
}

interface Field {
  no: number;
  wt: number;
  start: number;
  end: number;
  dataStart: number;
  dataEnd: number;
}

// read-ahead window: small after a jump over skipped data, doubling while reads stay sequential
const MIN_CHUNK = 1 << 12;
const MAX_CHUNK = 1 << 18;

class Cursor {
  private buf: Uint8Array = new Uint8Array(0);
  private at = 0;
  private chunk = MIN_CHUNK;
  constructor(readonly src: ByteSource) {}

  private async fill(pos: number): Promise<void> {
    this.chunk = pos === this.at + this.buf.length ? Math.min(this.chunk * 2, MAX_CHUNK) : MIN_CHUNK;
    const len = Math.min(this.chunk, this.src.size - pos);
    if (len <= 0) throw new RangeError(`unexpected end of file at byte ${pos}`);
    this.buf = await this.src.read(pos, len);
    this.at = pos;
  }
  async byte(pos: number): Promise<number> {
    if (pos < this.at || pos >= this.at + this.buf.length) await this.fill(pos);
    return this.buf[pos - this.at];
  }
  async varint(pos: number): Promise<[number, number]> {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = await this.byte(pos++);
      v += (b & 0x7f) * mul;
      if (!(b & 0x80)) return [v, pos];
      mul *= 128;
    }
    throw new RangeError(`varint too long at byte ${pos}`);
  }
  async bytes(start: number, end: number): Promise<Uint8Array> {
    if (end - start > MIN_CHUNK) return this.src.read(start, end - start);
    if (start < this.at || end > this.at + this.buf.length) await this.fill(start);
    if (end > this.at + this.buf.length) return this.src.read(start, end - start);
    return this.buf.subarray(start - this.at, end - this.at);
  }
  async fields(start: number, end: number): Promise<Field[]> {
    const out: Field[] = [];
    let pos = start;
    while (pos < end) {
      const s = pos;
      const [tag, p1] = await this.varint(pos);
      pos = p1;
      const no = Math.floor(tag / 8);
      const wt = tag & 7;
      if (no === 0) throw new RangeError(`invalid field number 0 at byte ${s}`);
      let ds = pos;
      if (wt === 0) pos = (await this.varint(pos))[1];
      else if (wt === 1) pos += 8;
      else if (wt === 5) pos += 4;
      else if (wt === 2) {
        const [len, p2] = await this.varint(pos);
        ds = p2;
        pos = p2 + len;
      } else throw new RangeError(`unsupported wire type ${wt} at byte ${s}`);
      if (pos > end) throw new RangeError(`field ${no} at byte ${s} runs past the end of its message (byte ${end})`);
      out.push({ no, wt, start: s, end: pos, dataStart: ds, dataEnd: wt === 2 ? pos : pos });
    }
    return out;
  }
}

export interface Compacted {
  bytes: Uint8Array;
  stripped: StrippedData[];
}

export async function compactModel(src: ByteSource, minStrip = 4096): Promise<Compacted> {
  const c = new Cursor(src);
  const stripped: StrippedData[] = [];
  const copy = (f: Field) => c.bytes(f.start, f.end);

  const tensor = async (s: number, e: number): Promise<Uint8Array> => {
    const parts: Uint8Array[] = [];
    for (const f of await c.fields(s, e)) {
      if (f.no === 9 && f.wt === 2 && f.dataEnd - f.dataStart >= minStrip) {
        parts.push(encodeVarintField(STRIP_FIELD, stripped.length));
        stripped.push({ offset: f.dataStart, length: f.dataEnd - f.dataStart });
      } else parts.push(await copy(f));
    }
    return concatBytes(parts);
  };
  const text = async (f: Field) => new TextDecoder().decode(await c.bytes(f.dataStart, f.dataEnd));

  const attribute = async (s: number, e: number, isConstant: boolean): Promise<Uint8Array> => {
    const fs = await c.fields(s, e);
    const nameF = fs.find((f) => f.no === 1 && f.wt === 2);
    const name = nameF ? await text(nameF) : '';
    const parts: Uint8Array[] = [];
    for (const f of fs) {
      if (f.wt === 2 && (f.no === 6 || f.no === 11)) parts.push(encodeLenField(f.no, await graph(f.dataStart, f.dataEnd)));
      else if (f.wt === 2 && f.no === 5 && isConstant && name === 'value') parts.push(encodeLenField(5, await tensor(f.dataStart, f.dataEnd)));
      else parts.push(await copy(f));
    }
    return concatBytes(parts);
  };
  const node = async (s: number, e: number): Promise<Uint8Array> => {
    const fs = await c.fields(s, e);
    const opF = fs.find((f) => f.no === 4 && f.wt === 2);
    const domF = fs.find((f) => f.no === 7 && f.wt === 2);
    const dom = domF ? await text(domF) : '';
    const isConstant = !!opF && (await text(opF)) === 'Constant' && (dom === '' || dom === 'ai.onnx');
    const parts: Uint8Array[] = [];
    for (const f of fs) {
      if (f.no === 5 && f.wt === 2) parts.push(encodeLenField(5, await attribute(f.dataStart, f.dataEnd, isConstant)));
      else parts.push(await copy(f));
    }
    return concatBytes(parts);
  };
  const graph = async (s: number, e: number): Promise<Uint8Array> => {
    const parts: Uint8Array[] = [];
    for (const f of await c.fields(s, e)) {
      if (f.no === 5 && f.wt === 2) parts.push(encodeLenField(5, await tensor(f.dataStart, f.dataEnd)));
      else if (f.no === 1 && f.wt === 2) parts.push(encodeLenField(1, await node(f.dataStart, f.dataEnd)));
      else parts.push(await copy(f));
    }
    return concatBytes(parts);
  };

  const parts: Uint8Array[] = [];
  for (const f of await c.fields(0, src.size)) {
    if (f.no === 7 && f.wt === 2) parts.push(encodeLenField(7, await graph(f.dataStart, f.dataEnd)));
    else parts.push(await copy(f));
  }
  return { bytes: concatBytes(parts), stripped };
}

export { encodeVarint };
