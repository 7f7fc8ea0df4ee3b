/** Output assembled from pieces: byte views of the input, new bytes, and lazily read external data. */
import { encodeVarint } from '../../proto/wire';

export interface LazyPart {
  size: number;
  chunks(): AsyncIterable<Uint8Array>;
}
export type Part = Uint8Array | LazyPart;

export function partSize(p: Part): number {
  return p instanceof Uint8Array ? p.length : p.size;
}

export function partsSize(ps: Part[]): number {
  let n = 0;
  for (const p of ps) n += partSize(p);
  return n;
}

/** A length-delimited field whose payload is `payload`. */
export function lenFieldParts(no: number, payload: Part[]): Part[] {
  const tag = encodeVarint(no * 8 + 2);
  return [tag, encodeVarint(partsSize(payload)), ...payload];
}

export async function* emitParts(ps: Part[]): AsyncIterable<Uint8Array> {
  // coalesce small views into ~1 MiB chunks so that consumers see few, large writes
  const LIMIT = 1 << 20;
  let buf: Uint8Array[] = [];
  let n = 0;
  const flush = () => {
    const out = new Uint8Array(n);
    let o = 0;
    for (const b of buf) {
      out.set(b, o);
      o += b.length;
    }
    buf = [];
    n = 0;
    return out;
  };
  for (const p of ps) {
    if (p instanceof Uint8Array) {
      if (p.length >= LIMIT) {
        if (n) yield flush();
        yield p;
        continue;
      }
      buf.push(p);
      n += p.length;
      if (n >= LIMIT) yield flush();
    } else {
      if (n) yield flush();
      let got = 0;
      for await (const c of p.chunks()) {
        got += c.length;
        yield c;
      }
      if (got !== p.size) throw new Error(`lazy part produced ${got} bytes, expected ${p.size}`);
    }
  }
  if (n) yield flush();
}

/** Bytes [offset, offset+length) of a source, read in pieces. */
export function rangePart(read: (o: number, l: number) => Promise<Uint8Array>, offset: number, length: number): LazyPart {
  const STEP = 16 << 20;
  return {
    size: length,
    async *chunks() {
      for (let o = 0; o < length; o += STEP) yield read(offset + o, Math.min(STEP, length - o));
    },
  };
}
