/**
 * Zip input and output, DOM-free (page, workers, CLI, tests).
 *
 * openZip reads only the end-of-central-directory record (Zip64 too) and the central directory, then
 * serves each entry as a ByteSource: stored entries as ranged reads into the zip, deflated entries
 * inflated once on first read (size and CRC-32 checked). zipFiles streams a store-only, Zip64-capable zip.
 */
import { Inflate } from 'fflate';
import { makeZip, predictLength } from 'client-zip';
import { ShrinkrayError } from '../errors';
import type { ByteSource, FileTree } from './source';
import type { OutputFile } from '../model/types';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_Z64_LOCATOR = 0x07064b50;
const SIG_Z64_EOCD = 0x06064b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;

const METHOD_NAMES: Record<number, string> = {
  1: 'shrink', 6: 'implode', 9: 'deflate64', 12: 'bzip2', 14: 'LZMA', 93: 'zstd', 95: 'xz', 98: 'PPMd', 99: 'AES encryption',
};

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE), slicing by 4.

const CRC_TABLES: Uint32Array[] = (() => {
  const t0 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t0[n] = c >>> 0;
  }
  const tables = [t0];
  for (let i = 1; i < 4; i++) {
    const prev = tables[i - 1];
    const t = new Uint32Array(256);
    for (let n = 0; n < 256; n++) t[n] = (t0[prev[n] & 0xff] ^ (prev[n] >>> 8)) >>> 0;
    tables.push(t);
  }
  return tables;
})();

/** Continues a CRC-32 over `data` (start with crc = 0). */
export function crc32(data: Uint8Array, crc = 0): number {
  const [t0, t1, t2, t3] = CRC_TABLES;
  let c = ~crc >>> 0;
  let i = 0;
  const n4 = data.length - (data.length & 3);
  for (; i < n4; i += 4) {
    c ^= data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    c = t3[c & 0xff] ^ t2[(c >>> 8) & 0xff] ^ t1[(c >>> 16) & 0xff] ^ t0[c >>> 24];
  }
  for (; i < data.length; i++) c = t0[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Reading

interface Entry {
  path: string;
  method: number;
  flags: number;
  crc: number;
  csize: number;
  usize: number;
  localOffset: number;
}

function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}
function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}
function u64(b: Uint8Array, o: number): number {
  const v = u32(b, o) + u32(b, o + 4) * 0x100000000;
  if (!Number.isSafeInteger(v)) throw new RangeError('64-bit value too large');
  return v;
}

const utf8 = new TextDecoder('utf-8');

function invalid(zipName: string, what: string): ShrinkrayError {
  return new ShrinkrayError('zip-invalid', `${zipName}: not a valid zip file: ${what}`, zipName);
}

/**
 * Normalises an entry name to a safe relative '/'-path, or throws zip-unsafe-path. Backslashes count as
 * separators (some Windows tools write them) so that `..\x` and `C:\x` are caught, not smuggled through.
 * Returns undefined for directory entries.
 */
export function safeEntryPath(raw: string, zipName: string): string | undefined {
  const unsafe = (why: string) =>
    new ShrinkrayError('zip-unsafe-path', `${zipName}: unsafe entry path "${raw}" (${why}); refusing to read this zip`, zipName);
  if (raw.includes('\0')) throw unsafe('NUL character');
  const name = raw.replace(/\\/g, '/');
  if (name.startsWith('/')) throw unsafe('absolute path');
  if (/^[A-Za-z]:/.test(name)) throw unsafe('drive letter');
  const isDir = name.endsWith('/');
  const parts: string[] = [];
  for (const seg of name.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') throw unsafe('".." segment');
    parts.push(seg);
  }
  if (isDir || parts.length === 0) return undefined;
  return parts.join('/');
}

/** macOS Finder / Archive Utility side files: resource forks and folder metadata, never model content. */
function isJunk(path: string): boolean {
  if (path === '__MACOSX' || path.startsWith('__MACOSX/')) return true;
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base.startsWith('._') || base === '.DS_Store';
}

async function findEnd(src: ByteSource, zipName: string) {
  const size = src.size;
  if (size < EOCD_SIZE) throw invalid(zipName, `${size} bytes is too short to hold an end-of-central-directory record`);
  const tailLen = Math.min(size, EOCD_SIZE + MAX_COMMENT + 20);
  const tailStart = size - tailLen;
  const tail = await src.read(tailStart, tailLen);
  let at = -1;
  for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
    if (u32(tail, i) === SIG_EOCD && i + EOCD_SIZE + u16(tail, i + 20) <= tailLen) {
      at = i;
      break;
    }
  }
  if (at < 0) throw invalid(zipName, 'no end-of-central-directory record (not a zip, or truncated)');
  const eocdOffset = tailStart + at;
  let count = u16(tail, at + 10);
  let cdSize = u32(tail, at + 12);
  let cdOffset = u32(tail, at + 16);
  // Without Zip64 the central directory ends where the end record starts; with it, where the Zip64 record starts.
  let cdEnd = eocdOffset;
  // Zip64 locator: 20 bytes right before the EOCD.
  if (at >= 20 && u32(tail, at - 20) === SIG_Z64_LOCATOR) {
    const recOffset = u64(tail, at - 20 + 8);
    if (recOffset + 56 > eocdOffset) throw invalid(zipName, `Zip64 end record offset ${recOffset} is out of range`);
    const rec = await src.read(recOffset, 56);
    if (u32(rec, 0) !== SIG_Z64_EOCD) throw invalid(zipName, `bad Zip64 end-of-central-directory record at offset ${recOffset}`);
    count = u64(rec, 32);
    cdSize = u64(rec, 40);
    cdOffset = u64(rec, 48);
    cdEnd = recOffset;
  } else if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw invalid(zipName, 'Zip64 end record missing (truncated zip?)');
  }
  if (cdSize > cdEnd) throw invalid(zipName, `central directory size ${cdSize} is larger than the file (truncated zip?)`);
  // Data prepended to the zip (self-extractors) shifts every offset by `shift`.
  const shift = cdEnd - cdSize - cdOffset;
  if (shift < 0) throw invalid(zipName, `central directory [${cdOffset}, ${cdOffset + cdSize}) runs past the end record (truncated zip?)`);
  return { count, cdSize, cdOffset: cdOffset + shift, shift };
}

function parseCentral(cd: Uint8Array, count: number, shift: number, zipSize: number, zipName: string): Entry[] {
  const entries: Entry[] = [];
  let o = 0;
  for (let i = 0; i < count; i++) {
    if (o + 46 > cd.length || u32(cd, o) !== SIG_CENTRAL) {
      throw invalid(zipName, `bad central directory: entry ${i} of ${count} at offset ${o} is missing or corrupt`);
    }
    const flags = u16(cd, o + 8);
    const method = u16(cd, o + 10);
    const crc = u32(cd, o + 16);
    let csize = u32(cd, o + 20);
    let usize = u32(cd, o + 24);
    const nameLen = u16(cd, o + 28);
    const extraLen = u16(cd, o + 30);
    const commentLen = u16(cd, o + 32);
    let localOffset = u32(cd, o + 42);
    const end = o + 46 + nameLen + extraLen + commentLen;
    if (end > cd.length) throw invalid(zipName, `bad central directory: entry ${i} runs past its end`);
    const raw = utf8.decode(cd.subarray(o + 46, o + 46 + nameLen));
    // Zip64 extended information: only the fields whose 32-bit value is saturated, in this order.
    if (usize === 0xffffffff || csize === 0xffffffff || localOffset === 0xffffffff) {
      let e = o + 46 + nameLen;
      const eEnd = e + extraLen;
      let found = false;
      while (e + 4 <= eEnd) {
        const id = u16(cd, e);
        const len = u16(cd, e + 2);
        if (id === 0x0001) {
          let p = e + 4;
          const need = (usize === 0xffffffff ? 8 : 0) + (csize === 0xffffffff ? 8 : 0) + (localOffset === 0xffffffff ? 8 : 0);
          if (need > len) throw invalid(zipName, `entry "${raw}": Zip64 extra field too short`);
          if (usize === 0xffffffff) { usize = u64(cd, p); p += 8; }
          if (csize === 0xffffffff) { csize = u64(cd, p); p += 8; }
          if (localOffset === 0xffffffff) { localOffset = u64(cd, p); p += 8; }
          found = true;
          break;
        }
        e += 4 + len;
      }
      if (!found) throw invalid(zipName, `entry "${raw}": 32-bit sizes saturated but no Zip64 extra field`);
    }
    localOffset += shift;
    if (localOffset + 30 + csize > zipSize) {
      throw invalid(zipName, `entry "${raw}": data [${localOffset}, ${localOffset + csize}) past the end of the file (${zipSize} bytes; truncated zip?)`);
    }
    const path = safeEntryPath(raw, zipName);
    if (path !== undefined && !isJunk(path)) entries.push({ path, method, flags, crc, csize, usize, localOffset });
    o = end;
  }
  return entries;
}

function entrySource(src: ByteSource, e: Entry, zipName: string): ByteSource {
  let dataOffset: Promise<number> | undefined;
  let inflated: Promise<Uint8Array> | undefined;
  const where = `${zipName}: entry ${e.path}`;

  const locate = () =>
    (dataOffset ??= (async () => {
      const h = await src.read(e.localOffset, 30);
      if (u32(h, 0) !== SIG_LOCAL) throw invalid(zipName, `entry "${e.path}": no local header at offset ${e.localOffset}`);
      const off = e.localOffset + 30 + u16(h, 26) + u16(h, 28);
      if (off + e.csize > src.size) throw invalid(zipName, `entry "${e.path}": data runs past the end of the file (truncated zip?)`);
      return off;
    })());

  const inflate = () =>
    (inflated ??= (async () => {
      const off = await locate();
      let out: Uint8Array;
      try {
        out = new Uint8Array(e.usize);
      } catch {
        throw new ShrinkrayError(
          'zip-invalid',
          `${where} is deflated and ${e.usize} bytes: too big to inflate in memory here; zip the package without compression (zip -0 -r) or use the folder`,
          zipName,
        );
      }
      let filled = 0;
      let overflow = false;
      let ended = false;
      const inf = new Inflate((chunk, final) => {
        if (filled + chunk.length > out.length) overflow = true;
        else out.set(chunk, filled);
        filled += chunk.length;
        if (final) ended = true;
      });
      const STEP = 1 << 22;
      try {
        for (let p = 0; p < e.csize; p += STEP) {
          const n = Math.min(STEP, e.csize - p);
          inf.push(await src.read(off + p, n), p + n >= e.csize);
          if (overflow) break;
        }
      } catch (err) {
        if (err instanceof ShrinkrayError || err instanceof RangeError) throw err;
        throw invalid(zipName, `entry "${e.path}": deflate data is corrupt (${(err as Error).message})`);
      }
      if (overflow || filled !== e.usize || !ended) {
        throw invalid(zipName, `entry "${e.path}": inflated to ${filled} bytes, the directory says ${e.usize}`);
      }
      const crc = crc32(out);
      if (crc !== e.crc) {
        throw invalid(zipName, `entry "${e.path}": CRC-32 mismatch (0x${crc.toString(16)}, expected 0x${e.crc.toString(16)})`);
      }
      return out;
    })());

  return {
    name: e.path,
    size: e.usize,
    async read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > e.usize) {
        throw new RangeError(`${where}: read [${offset}, ${offset + length}) past end of file (${e.usize} bytes)`);
      }
      if (e.flags & 1) {
        throw new ShrinkrayError('zip-invalid', `${where} is encrypted; encrypted zips are not supported`, zipName);
      }
      if (e.method === 0) {
        if (e.csize !== e.usize) throw invalid(zipName, `stored entry "${e.path}" has compressed size ${e.csize} != size ${e.usize}`);
        if (length === 0) return new Uint8Array(0);
        return src.read((await locate()) + offset, length);
      }
      if (e.method === 8) return (await inflate()).subarray(offset, offset + length);
      const m = METHOD_NAMES[e.method] ?? `method ${e.method}`;
      throw new ShrinkrayError(
        'zip-invalid',
        `${where} uses compression ${m}, which is not supported (only stored and deflate); re-create the zip with a standard zip tool`,
        zipName,
      );
    },
  };
}

/** Opens a zip held in a ByteSource as a FileTree named after the zip. */
export async function openZip(src: ByteSource): Promise<FileTree> {
  const zipName = src.name;
  let entries: Entry[];
  try {
    const end = await findEnd(src, zipName);
    const cd = await src.read(end.cdOffset, end.cdSize);
    entries = parseCentral(cd, end.count, end.shift, src.size, zipName);
  } catch (err) {
    if (err instanceof ShrinkrayError) throw err;
    throw invalid(zipName, (err as Error).message);
  }
  const map = new Map<string, ByteSource>();
  for (const e of entries) {
    if (map.has(e.path)) throw invalid(zipName, `duplicate entry "${e.path}"`);
    map.set(e.path, entrySource(src, e, zipName));
  }
  return { name: zipName, paths: () => [...map.keys()], get: (p) => map.get(p) };
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * A streaming, store-only zip of `files` (Zip64 where sizes or offsets need it), each under `root/` when
 * given. `size` is the exact length of the zip. Sizes are checked: a file yielding more or fewer bytes
 * than it declared aborts the stream rather than producing a corrupt zip.
 */
export function zipFiles(files: OutputFile[], root?: string): { size?: number; chunks(): AsyncIterable<Uint8Array> } {
  const prefix = root ? root.replace(/\/+$/, '') + '/' : '';
  const names = files.map((f) => {
    const p = safeEntryPath(prefix + f.path, root ?? 'zip');
    if (p === undefined) throw new ShrinkrayError('internal', `zipFiles: empty path for an output file`);
    return p;
  });
  const lastModified = new Date();
  const size = zipLength(names.map((n, i) => ({ name: n, size: files[i].size })));
  return {
    size,
    chunks() {
      const inputs = files.map((f, i) => ({ name: names[i], lastModified, size: f.size, input: checked(f) }));
      return streamChunks(makeZip(inputs));
    },
  };
}

async function* checked(f: OutputFile): AsyncGenerator<Uint8Array> {
  let n = 0;
  for await (const c of f.chunks()) {
    n += c.length;
    if (n > f.size) throw new ShrinkrayError('internal', `${f.path}: produced more than its declared ${f.size} bytes`);
    yield c;
  }
  if (n !== f.size) throw new ShrinkrayError('internal', `${f.path}: produced ${n} bytes, declared ${f.size}`);
}

async function* streamChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** The exact length of the zip, from client-zip's own arithmetic. */
function zipLength(entries: { name: string; size: number }[]): number {
  return Number(predictLength(entries.map((e) => ({ name: e.name, size: e.size }))));
}
