import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'fflate';
import { fixture } from '../../../tests/fixtures';
import { fileSource, pathTree } from '../../node/fs-tree';
import { ShrinkrayError } from '../errors';
import type { OutputFile } from '../model/types';
import { memorySource, type ByteSource } from './source';
import { crc32, openZip, safeEntryPath, zipFiles } from './zip';

// ---------------------------------------------------------------------------------------------
// A tiny zip writer for hand-made (including malicious) archives.

interface RawEntry {
  name: string;
  data: Uint8Array;
  method?: number; // 0 stored (default), 8 deflate, anything else written as-is
  flags?: number;
  crc?: number;
  usize?: number;
  /** a Zip64 uncompressed size (the 32-bit field is then saturated) */
  usize64?: number;
}

function buildZip(entries: RawEntry[], comment = ''): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const method = e.method ?? 0;
    const body = method === 8 ? deflateSync(e.data) : e.data;
    const crc = e.crc ?? crc32(e.data);
    const usize = e.usize64 !== undefined ? 0xffffffff : (e.usize ?? e.data.length);
    let extra = new Uint8Array(0);
    if (e.usize64 !== undefined) {
      const x = new DataView(new ArrayBuffer(12));
      x.setUint16(0, 1, true);
      x.setUint16(2, 8, true);
      x.setBigUint64(4, BigInt(e.usize64), true);
      extra = new Uint8Array(x.buffer);
    }
    const lh = new DataView(new ArrayBuffer(30));
    lh.setUint32(0, 0x04034b50, true);
    lh.setUint16(4, 20, true);
    lh.setUint16(6, e.flags ?? 0, true);
    lh.setUint16(8, method, true);
    lh.setUint32(14, crc, true);
    lh.setUint32(18, body.length, true);
    lh.setUint32(22, usize, true);
    lh.setUint16(26, name.length, true);
    parts.push(new Uint8Array(lh.buffer), name, body);
    const ch = new DataView(new ArrayBuffer(46));
    ch.setUint32(0, 0x02014b50, true);
    ch.setUint16(4, 20, true);
    ch.setUint16(6, 20, true);
    ch.setUint16(8, e.flags ?? 0, true);
    ch.setUint16(10, method, true);
    ch.setUint32(16, crc, true);
    ch.setUint32(20, body.length, true);
    ch.setUint32(24, usize, true);
    ch.setUint16(28, name.length, true);
    ch.setUint16(30, extra.length, true);
    ch.setUint32(42, offset, true);
    central.push(new Uint8Array(ch.buffer), name, extra);
    offset += 30 + name.length + body.length;
  }
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  const com = enc.encode(comment);
  const eo = new DataView(new ArrayBuffer(22));
  eo.setUint32(0, 0x06054b50, true);
  eo.setUint16(8, entries.length, true);
  eo.setUint16(10, entries.length, true);
  eo.setUint32(12, cdSize, true);
  eo.setUint32(16, offset, true);
  eo.setUint16(20, com.length, true);
  const all = [...parts, ...central, new Uint8Array(eo.buffer), com];
  const out = new Uint8Array(all.reduce((s, c) => s + c.length, 0));
  let o = 0;
  for (const c of all) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** Wraps a source and records every read. */
function counting(src: ByteSource) {
  const reads: [number, number][] = [];
  const s: ByteSource = {
    name: src.name,
    size: src.size,
    read: (o, n) => {
      reads.push([o, n]);
      return src.read(o, n);
    },
  };
  return { src: s, reads, total: () => reads.reduce((t, r) => t + r[1], 0) };
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ShrinkrayError) return { code: e.code, message: e.message };
    return { code: 'non-shrinkray:' + (e as Error).name, message: (e as Error).message };
  }
  return { code: 'no error', message: '' };
}

async function readEntry(tree: Awaited<ReturnType<typeof openZip>>, p: string): Promise<Uint8Array> {
  const s = tree.get(p);
  if (!s) throw new Error(`missing ${p}`);
  return s.read(0, s.size);
}

const enc = new TextEncoder();
const dec = new TextDecoder();

// ---------------------------------------------------------------------------------------------

describe('openZip on the fixture zips (zip -r -X)', () => {
  for (const model of ['DTLN_AEC_128_Part1_fp32', 'DTLN_AEC_128_Part2_fp16']) {
    it(`${model}: the zip and the folder hold the same files, byte for byte`, async () => {
      const zipPath = fixture('real/coreml', `${model}.mlpackage.zip`);
      const c = counting(fileSource(zipPath));
      const zip = await openZip(c.src);
      expect(zip.name).toBe(`${model}.mlpackage.zip`);
      // opening reads only the tail and the central directory
      expect(c.total()).toBeLessThan(70_000);
      expect(c.total()).toBeLessThan(c.src.size / 10);

      const dir = pathTree(fixture('real/coreml', `${model}.mlpackage`));
      const want = dir.paths().map((p) => `${model}.mlpackage/${p}`).sort();
      expect(zip.paths().sort()).toEqual(want); // directory entries are not files
      for (const p of dir.paths()) {
        const a = await readEntry(zip, `${model}.mlpackage/${p}`);
        const b = readFileSync(join(fixture('real/coreml', `${model}.mlpackage`), p));
        expect(a.length).toBe(b.length);
        expect(Buffer.compare(Buffer.from(a), b)).toBe(0);
      }
    });
  }

  it('a deflated entry is inflated once and then served by range', async () => {
    const c = counting(fileSource(fixture('real/coreml', 'DTLN_AEC_128_Part1_fp32.mlpackage.zip')));
    const zip = await openZip(c.src);
    const w = zip.get('DTLN_AEC_128_Part1_fp32.mlpackage/Data/com.apple.CoreML/weights/weight.bin')!;
    const full = readFileSync(fixture('real/coreml', 'DTLN_AEC_128_Part1_fp32.mlpackage/Data/com.apple.CoreML/weights/weight.bin'));
    const [x, y] = await Promise.all([w.read(1000, 64), w.read(w.size - 10, 10)]);
    expect(Buffer.from(x)).toEqual(full.subarray(1000, 1064));
    expect(Buffer.from(y)).toEqual(full.subarray(full.length - 10));
    const after = c.reads.length;
    await w.read(5, 5);
    expect(c.reads.length).toBe(after); // no re-read of the zip
    await expect(w.read(w.size - 1, 2)).rejects.toThrow(RangeError);
  });
});

describe('openZip on stored zips and Finder zips', () => {
  it('stored entries are ranged reads into the zip; __MACOSX and ._ files are ignored', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'sr-zip-'));
    try {
      const pkg = join(tmp, 'M.mlpackage');
      mkdirSync(join(pkg, 'Data'), { recursive: true });
      mkdirSync(join(tmp, '__MACOSX', 'M.mlpackage'), { recursive: true });
      const big = new Uint8Array(300_000);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
      writeFileSync(join(pkg, 'Data', 'w.bin'), big);
      writeFileSync(join(pkg, 'Manifest.json'), '{}');
      writeFileSync(join(pkg, '._Manifest.json'), 'resource fork');
      writeFileSync(join(tmp, '__MACOSX', 'M.mlpackage', '._Data'), 'finder junk');
      execFileSync('zip', ['-q', '-r', '-0', 'M.zip', 'M.mlpackage', '__MACOSX'], { cwd: tmp });
      const c = counting(fileSource(join(tmp, 'M.zip')));
      const zip = await openZip(c.src);
      expect(zip.paths().sort()).toEqual(['M.mlpackage/Data/w.bin', 'M.mlpackage/Manifest.json']);
      const w = zip.get('M.mlpackage/Data/w.bin')!;
      expect(w.size).toBe(big.length);
      c.reads.length = 0;
      const part = await w.read(123_456, 1000);
      expect(Buffer.from(part)).toEqual(Buffer.from(big.subarray(123_456, 124_456)));
      // one local-header read (30 bytes) plus the slice itself
      expect(c.total()).toBe(30 + 1000);
      expect(dec.decode(await readEntry(zip, 'M.mlpackage/Manifest.json'))).toBe('{}');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('reads a Zip64 zip made by Info-ZIP (zip -fz) like the folder it holds', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'sr-zip64-'));
    try {
      execFileSync('zip', ['-q', '-fz', '-r', join(tmp, 'z64.zip'), 'base_ios16.mlpackage'], { cwd: fixture('synthetic') });
      const raw = readFileSync(join(tmp, 'z64.zip'));
      expect(raw.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true); // a Zip64 end record is there
      const zip = await openZip(fileSource(join(tmp, 'z64.zip')));
      const dir = pathTree(fixture('synthetic/base_ios16.mlpackage'));
      expect(zip.paths().sort()).toEqual(dir.paths().map((p) => 'base_ios16.mlpackage/' + p).sort());
      for (const p of dir.paths()) {
        const want = readFileSync(join(fixture('synthetic/base_ios16.mlpackage'), p));
        expect(Buffer.compare(Buffer.from(await readEntry(zip, 'base_ios16.mlpackage/' + p)), want)).toBe(0);
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('reads a zip with a trailing comment and data prepended before it', async () => {
    const z = buildZip([{ name: 'a/b.txt', data: enc.encode('hello') }], 'a comment');
    const prefixed = new Uint8Array(100 + z.length);
    prefixed.set(z, 100);
    for (const bytes of [z, prefixed]) {
      const zip = await openZip(memorySource('c.zip', bytes));
      expect(dec.decode(await readEntry(zip, 'a/b.txt'))).toBe('hello');
    }
  });
});

describe('openZip refuses bad zips', () => {
  it.each([
    ['../evil.bin'],
    ['M.mlpackage/../../etc/passwd'],
    ['/etc/passwd'],
    ['..\\evil.bin'],
    ['M.mlpackage\\..\\..\\evil'],
    ['C:\\Windows\\evil.dll'],
    ['C:/evil'],
  ])('unsafe entry path %s → zip-unsafe-path naming the entry', async (name) => {
    const z = buildZip([{ name: 'ok.txt', data: enc.encode('x') }, { name, data: enc.encode('boom') }]);
    const r = await codeOf(openZip(memorySource('evil.zip', z)));
    expect(r.code).toBe('zip-unsafe-path');
    expect(r.message).toContain(name);
    expect(r.message).toContain('evil.zip');
  });

  it('safe names with backslash separators are normalised', () => {
    expect(safeEntryPath('M.mlpackage\\Data\\x.bin', 'z')).toBe('M.mlpackage/Data/x.bin');
    expect(safeEntryPath('./a//b', 'z')).toBe('a/b');
    expect(safeEntryPath('dir/', 'z')).toBeUndefined();
  });

  it('truncated copies of a real zip → zip-invalid naming the file', async () => {
    const full = readFileSync(fixture('real/coreml', 'DTLN_AEC_128_Part1_fp32.mlpackage.zip'));
    for (const len of [0, 10, 21, 1000, full.length >> 1, full.length - 30, full.length - 1]) {
      const r = await codeOf(openZip(memorySource('cut.zip', new Uint8Array(full.subarray(0, len)))));
      expect(r.code, `length ${len}`).toBe('zip-invalid');
      expect(r.message).toContain('cut.zip');
    }
  });

  it('a file that is not a zip → zip-invalid', async () => {
    const r = await codeOf(openZip(memorySource('notes.zip', enc.encode('just some text, not a zip at all'))));
    expect(r.code).toBe('zip-invalid');
    expect(r.message).toMatch(/notes\.zip.*end-of-central-directory/);
  });

  it('a corrupt central directory → zip-invalid', async () => {
    const z = buildZip([{ name: 'a.txt', data: enc.encode('aaaa') }, { name: 'b.txt', data: enc.encode('bbbb') }]);
    const cdStart = 2 * 30 + 5 + 5 + 4 + 4;
    const bad = z.slice();
    bad[cdStart + 46 + 5] = 0x00; // second central header signature broken
    const r = await codeOf(openZip(memorySource('cd.zip', bad)));
    expect(r.code).toBe('zip-invalid');
    expect(r.message).toContain('central directory');
  });

  it('duplicate entries → zip-invalid', async () => {
    const z = buildZip([{ name: 'a.txt', data: enc.encode('1') }, { name: 'a.txt', data: enc.encode('2') }]);
    expect((await codeOf(openZip(memorySource('dup.zip', z)))).code).toBe('zip-invalid');
  });

  it('unsupported method, encryption, bad CRC and wrong size are reported when the entry is read', async () => {
    const data = enc.encode('model bytes '.repeat(50));
    const z = buildZip([
      { name: 'lzma.bin', data, method: 14 },
      { name: 'secret.bin', data, flags: 1 },
      { name: 'crc.bin', data, method: 8, crc: 12345 },
      { name: 'size.bin', data, method: 8, usize: data.length + 1 },
      { name: 'good.bin', data, method: 8 },
    ]);
    const zip = await openZip(memorySource('m.zip', z));
    const lzma = await codeOf(readEntry(zip, 'lzma.bin'));
    expect(lzma.code).toBe('zip-invalid');
    expect(lzma.message).toMatch(/lzma\.bin.*LZMA.*not supported/);
    expect((await codeOf(readEntry(zip, 'secret.bin'))).message).toMatch(/secret\.bin is encrypted/);
    expect((await codeOf(readEntry(zip, 'crc.bin'))).message).toMatch(/CRC-32 mismatch/);
    expect((await codeOf(readEntry(zip, 'size.bin'))).message).toMatch(/inflated to 600 bytes, the directory says 601/);
    expect(dec.decode(await readEntry(zip, 'good.bin'))).toBe(dec.decode(data));
  });

  it('a deflated entry too big to inflate in memory is refused with a clear message', async () => {
    const z = buildZip([{ name: 'huge.bin', data: new Uint8Array(1000), method: 8, usize64: 2 ** 50 }]);
    const zip = await openZip(memorySource('huge.zip', z));
    expect(zip.get('huge.bin')!.size).toBe(2 ** 50);
    const r = await codeOf(zip.get('huge.bin')!.read(0, 10));
    expect(r.code).toBe('zip-invalid');
    expect(r.message).toMatch(/huge\.bin is deflated and 1125899906842624 bytes: too big to inflate/);
  });
});

// ---------------------------------------------------------------------------------------------

function outFile(path: string, bytes: Uint8Array, chunk = 7): OutputFile {
  return {
    path,
    size: bytes.length,
    async *chunks() {
      for (let o = 0; o < bytes.length; o += chunk) yield bytes.subarray(o, Math.min(bytes.length, o + chunk));
    },
  };
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c.slice());
  return new Uint8Array(Buffer.concat(parts));
}

describe('zipFiles', () => {
  const files: Record<string, Uint8Array> = {
    'Manifest.json': enc.encode('{"fileFormatVersion":"1.0.0"}'),
    'Data/com.apple.CoreML/model.mlmodel': new Uint8Array(5000).map((_, i) => (i * 31) & 0xff),
    'Data/com.apple.CoreML/weights/weight.bin': new Uint8Array(70_000).map((_, i) => (i * 13 + 5) & 0xff),
    'empty.txt': new Uint8Array(0),
  };
  const outs = () => Object.entries(files).map(([p, b]) => outFile(p, b, 4096));

  it('round-trips through openZip, entries under root/, exact declared size', async () => {
    const z = zipFiles(outs(), 'Model.pal4.mlpackage');
    const bytes = await collect(z.chunks());
    expect(z.size).toBe(bytes.length);
    const tree = await openZip(memorySource('Model.pal4.mlpackage.zip', bytes));
    expect(tree.paths().sort()).toEqual(Object.keys(files).map((p) => 'Model.pal4.mlpackage/' + p).sort());
    for (const [p, b] of Object.entries(files)) {
      expect(Buffer.from(await readEntry(tree, 'Model.pal4.mlpackage/' + p))).toEqual(Buffer.from(b));
    }
    // chunks() can be called again (a retry) and gives the same bytes
    expect(Buffer.from(await collect(z.chunks()))).toEqual(Buffer.from(bytes));
  });

  it('passes the system unzip -t and extracts the same bytes', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'sr-zipw-'));
    try {
      const zp = join(tmp, 'out.zip');
      writeFileSync(zp, await collect(zipFiles(outs(), 'M.mlpackage').chunks()));
      const t = execFileSync('unzip', ['-t', zp], { encoding: 'utf8' });
      expect(t).toContain('No errors detected');
      execFileSync('unzip', ['-q', zp, '-d', join(tmp, 'x')]);
      for (const [p, b] of Object.entries(files)) {
        expect(Buffer.compare(readFileSync(join(tmp, 'x', 'M.mlpackage', p)), Buffer.from(b))).toBe(0);
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('a file that yields fewer bytes than declared fails the stream', async () => {
    const liar: OutputFile = { path: 'x.bin', size: 10, async *chunks() { yield new Uint8Array(4); } };
    await expect(collect(zipFiles([liar]).chunks())).rejects.toThrow(/produced 4 bytes, declared 10/);
  });

  it('writes Zip64 records for an entry over 4 GiB (streamed lazily, never held in memory)', async () => {
    const BIG = 2 ** 32 + 10;
    const CH = 1 << 22;
    const zero = new Uint8Array(CH);
    const big: OutputFile = {
      path: 'weights/weight.bin',
      size: BIG,
      async *chunks() {
        for (let left = BIG; left > 0; left -= CH) yield left >= CH ? zero : zero.subarray(0, left);
      },
    };
    const z = zipFiles([big, outFile('after.txt', enc.encode('AB'))], 'Big.mlpackage');
    // Keep the first and last 64 KiB of the stream; everything in between must be the zero data.
    const KEEP = 1 << 16;
    const head = new Uint8Array(KEEP);
    let headLen = 0;
    let tail = new Uint8Array(0);
    let total = 0;
    for await (const c of z.chunks()) {
      if (headLen < KEEP) {
        const n = Math.min(KEEP - headLen, c.length);
        head.set(c.subarray(0, n), headLen);
        headLen += n;
      }
      const joined = new Uint8Array(Math.min(KEEP, tail.length + c.length));
      const fromTail = joined.length - Math.min(c.length, joined.length);
      joined.set(tail.subarray(tail.length - fromTail), 0);
      joined.set(c.subarray(c.length - (joined.length - fromTail)), fromTail);
      tail = joined;
      total += c.length;
    }
    expect(total).toBe(z.size);
    expect(total).toBeGreaterThan(BIG);
    // The Zip64 end-of-central-directory locator sits right before the 22-byte EOCD.
    const dv = new DataView(tail.buffer, tail.byteOffset, tail.length);
    expect(dv.getUint32(tail.length - 22, true)).toBe(0x06054b50);
    expect(dv.getUint32(tail.length - 42, true)).toBe(0x07064b50);
    // A virtual zip: the kept head and tail, zeros in between. openZip must find both entries through Zip64.
    const virtual: ByteSource = {
      name: 'Big.zip',
      size: total,
      async read(o, n) {
        const out = new Uint8Array(n);
        for (let i = 0; i < n; i++) {
          const p = o + i;
          out[i] = p < headLen ? head[p] : p >= total - tail.length ? tail[p - (total - tail.length)] : 0;
        }
        return out;
      },
    };
    const tree = await openZip(virtual);
    expect(tree.paths().sort()).toEqual(['Big.mlpackage/after.txt', 'Big.mlpackage/weights/weight.bin']);
    const w = tree.get('Big.mlpackage/weights/weight.bin')!;
    expect(w.size).toBe(BIG);
    expect(Array.from(await w.read(BIG - 4, 4))).toEqual([0, 0, 0, 0]);
    expect(dec.decode(await readEntry(tree, 'Big.mlpackage/after.txt'))).toBe('AB');
  }, 120_000);
});
