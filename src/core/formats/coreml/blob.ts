/**
 * MIL blob storage v2 (weight.bin), formats.md §4: reading one blob with two ranged reads, validating
 * the records a program references, and writing a new file in chunks.
 */
import { ShrinkrayError } from '../../errors';
import type { ByteSource } from '../../io/source';
import type { OutputFile } from '../../model/types';
import { BY_BLOB, BY_NAME } from './dtypes';

export const SENTINEL = 0xdeadbeef;
const HEADER = 64;
const META = 64;

export interface BlobMeta {
  /** offset of the metadata record (what BlobFileValue.offset holds) */
  metaOffset: number;
  blobDtype: number;
  size: number;
  dataOffset: number;
  paddingBits: number;
}

function u64(dv: DataView, at: number): number {
  return dv.getUint32(at, true) + dv.getUint32(at + 4, true) * 2 ** 32;
}

function hex(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}

/** Checks the 64-byte file header (count, version 2). */
export async function checkHeader(src: ByteSource, file: string): Promise<number> {
  if (src.size < HEADER) {
    throw new ShrinkrayError('blob-truncated', `${file} truncated: ${src.size} bytes, shorter than the 64-byte storage header`, file);
  }
  const h = await src.read(0, HEADER);
  const dv = new DataView(h.buffer, h.byteOffset, h.byteLength);
  const version = dv.getUint32(4, true);
  if (version !== 2) {
    throw new ShrinkrayError('blob-header', `${file}: unsupported blob storage version ${version} at offset 4 (expected 2)`, file);
  }
  return dv.getUint32(0, true);
}

/**
 * Reads and validates one blob_metadata record: sentinel, dtype (against the MIL type the program
 * declares), and the data range against the file size. `who` names the weight that refers to it.
 */
export async function readMeta(src: ByteSource, file: string, offset: number, dtype: string, who: string): Promise<BlobMeta> {
  if (offset < HEADER) {
    throw new ShrinkrayError('blob-header', `${file}: blob ${who} has offset ${offset}, inside the storage header`, file);
  }
  if (offset + META > src.size) {
    throw new ShrinkrayError(
      'blob-truncated',
      `${file} truncated: blob ${who} has its metadata record at offset ${offset}, past end of file (${src.size} bytes)`,
      file,
    );
  }
  const m = await src.read(offset, META);
  const dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
  const sentinel = dv.getUint32(0, true);
  if (sentinel !== SENTINEL) {
    throw new ShrinkrayError(
      'blob-header',
      `${file}: bad blob header at offset ${offset} (sentinel ${hex(sentinel)}, expected ${hex(SENTINEL)}) for blob ${who}`,
      file,
    );
  }
  const blobDtype = dv.getUint32(4, true);
  const size = u64(dv, 8);
  const dataOffset = u64(dv, 16);
  const paddingBits = u64(dv, 24);
  const want = BY_NAME.get(dtype)?.blob;
  if (want === undefined || blobDtype !== want) {
    const got = BY_BLOB.get(blobDtype)?.name ?? `unknown (${blobDtype})`;
    throw new ShrinkrayError(
      'blob-header',
      `${file}: blob ${who} at offset ${offset} stores dtype ${got}, but the program declares ${dtype}`,
      file,
    );
  }
  if (dataOffset + size > src.size || !Number.isSafeInteger(dataOffset + size)) {
    throw new ShrinkrayError(
      'blob-truncated',
      `${file} truncated: blob ${who} at offset ${offset} has data [${dataOffset}, ${dataOffset + size}), past end of file (${src.size} bytes)`,
      file,
    );
  }
  if (dataOffset < offset + META) {
    throw new ShrinkrayError('blob-header', `${file}: blob ${who} at offset ${offset} has its data at ${dataOffset}, inside its own header`, file);
  }
  const subByte = (BY_NAME.get(dtype)?.bits ?? 8) < 8;
  if (subByte && paddingBits > 7) {
    throw new ShrinkrayError('blob-header', `${file}: blob ${who} at offset ${offset} has padding_size_in_bits ${paddingBits} (must be < 8)`, file);
  }
  // older writers leave garbage in padding_size_in_bits of byte-sized types: ignore it there
  return { metaOffset: offset, blobDtype, size, dataOffset, paddingBits: subByte ? paddingBits : 0 };
}

/** Checks that a blob holds exactly `count` elements of `dtype`. */
export function checkCount(meta: BlobMeta, dtype: string, count: number, file: string, who: string): void {
  const bits = BY_NAME.get(dtype)!.bits;
  const have = bits >= 8 ? meta.size / (bits / 8) : (meta.size * 8 - meta.paddingBits) / bits;
  if (have !== count) {
    throw new ShrinkrayError(
      'blob-header',
      `${file}: blob ${who} at offset ${meta.metaOffset} holds ${have} ${dtype} elements, but its type says ${count}`,
      file,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Data for one blob: bytes in memory, or a reader producing it in pieces. */
export type BlobData = Uint8Array | { size: number; pieces(): AsyncIterable<Uint8Array> };

interface Entry {
  dtype: string;
  meta: number;
  data: BlobData;
  size: number;
  paddingBits: number;
}

const align64 = (x: number) => Math.ceil(x / 64) * 64;

export class BlobWriter {
  /** entries not yet written out (all of them unless the writer is drained while streaming) */
  private entries: Entry[] = [];
  private end = HEADER;
  private added = 0;
  /** bytes produced by drain() so far (the header included) */
  private written = 0;

  /** blobs added so far */
  get count(): number {
    return this.added;
  }

  /** blobs added and not yet drained */
  get pending(): number {
    return this.entries.length;
  }

  /** the file size so far */
  get size(): number {
    return this.end;
  }

  /** Appends a blob; returns the metadata offset to put in BlobFileValue.offset. */
  add(dtype: string, data: BlobData, elements: number): number {
    const d = BY_NAME.get(dtype);
    if (!d || d.blob === undefined) throw new Error(`dtype ${dtype} cannot be stored in weight.bin`);
    const size = data instanceof Uint8Array ? data.length : data.size;
    const paddingBits = d.bits < 8 ? (8 - ((elements * d.bits) % 8)) % 8 : 0;
    const meta = align64(this.end);
    this.entries.push({ dtype, meta, data, size, paddingBits });
    this.end = meta + META + size;
    this.added++;
    return meta;
  }

  /** The 64-byte storage header for `count` blobs. */
  header(count = this.added): Uint8Array {
    const head = new Uint8Array(HEADER);
    const hv = new DataView(head.buffer);
    hv.setUint32(0, count, true);
    hv.setUint32(4, 2, true);
    return head;
  }

  /**
   * Streaming: the bytes of the entries added since the last drain (the header first, with a count of 0 that the
   * caller patches once all blobs are known), after which the writer forgets them. Together, the drains produce
   * exactly what file() would, but for the blob count at offset 0.
   */
  async *drain(path: string): AsyncGenerator<Uint8Array> {
    const list = this.entries;
    this.entries = [];
    if (this.written === 0) {
      this.written = HEADER;
      yield this.header(0);
    }
    yield* entryBytes(list, this.written, path);
    if (list.length) {
      const last = list[list.length - 1];
      this.written = last.meta + META + last.size;
    }
  }

  file(path: string): OutputFile {
    const entries = this.entries;
    const total = this.end;
    const head = this.header();
    return {
      path,
      size: total,
      async *chunks() {
        yield head;
        yield* entryBytes(entries, HEADER, path);
      },
    };
  }
}

/** Alignment padding, metadata record and data of each entry, the file position being `pos` at the start. */
async function* entryBytes(entries: Entry[], pos: number, path: string): AsyncGenerator<Uint8Array> {
  for (const e of entries) {
    if (e.meta > pos) yield new Uint8Array(e.meta - pos);
    const m = new Uint8Array(META);
    const mv = new DataView(m.buffer);
    mv.setUint32(0, SENTINEL, true);
    mv.setUint32(4, BY_NAME.get(e.dtype)!.blob!, true);
    setU64(mv, 8, e.size);
    setU64(mv, 16, e.meta + META);
    setU64(mv, 24, e.paddingBits);
    yield m;
    if (e.data instanceof Uint8Array) {
      if (e.data.length) yield e.data;
    } else {
      let n = 0;
      for await (const p of e.data.pieces()) {
        n += p.length;
        yield p;
      }
      if (n !== e.size) throw new Error(`${path}: blob at ${e.meta} produced ${n} bytes, expected ${e.size}`);
    }
    pos = e.meta + META + e.size;
  }
}

function setU64(dv: DataView, at: number, v: number): void {
  dv.setUint32(at, v % 2 ** 32, true);
  dv.setUint32(at + 4, Math.floor(v / 2 ** 32), true);
}

/** Reads [offset, offset+size) of a source in pieces of at most `piece` bytes. */
export function rangePieces(src: ByteSource, offset: number, size: number, piece = 8 << 20): BlobData {
  return {
    size,
    async *pieces() {
      for (let o = 0; o < size; o += piece) yield await src.read(offset + o, Math.min(piece, size - o));
    },
  };
}
