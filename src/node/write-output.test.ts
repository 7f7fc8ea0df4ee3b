import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { OutputFile, WrittenModel } from '../core/model/types';
import { openZip } from '../core/io/zip';
import { fileSource } from './fs-tree';
import { writeOutput } from './write-output';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sr-out-'));
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function file(path: string, bytes: Uint8Array, chunk = 1000): OutputFile & { pulls: number } {
  const f = {
    path,
    size: bytes.length,
    pulls: 0,
    async *chunks() {
      for (let o = 0; o < bytes.length; o += chunk) {
        f.pulls++;
        yield bytes.subarray(o, Math.min(bytes.length, o + chunk));
      }
    },
  };
  return f;
}

function failing(path: string, size: number, after: number): OutputFile {
  return {
    path,
    size,
    async *chunks() {
      yield new Uint8Array(after);
      throw new Error('disk on fire');
    },
  };
}

const bytes = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * seed + 3) & 0xff);
const manifest = new TextEncoder().encode('{"fileFormatVersion": "1.0.0"}');

function pkg(extra: OutputFile[] = []): WrittenModel {
  return {
    format: 'mlpackage',
    name: 'Model.pal4.mlpackage',
    files: [
      file('Manifest.json', manifest),
      file('Data/com.apple.CoreML/model.mlmodel', bytes(4321, 7)),
      file('Data/com.apple.CoreML/weights/weight.bin', bytes(250_000, 13), 65536),
      ...extra,
    ],
  };
}

/** Everything under tmp except dot-prefixed leftovers would show as extra entries. */
const listing = () => readdirSync(tmp).sort();

describe('writeOutput', () => {
  it('writes an .mlpackage folder file by file, in chunks', async () => {
    const m = pkg();
    const out = join(tmp, 'Model.pal4.mlpackage');
    const r = await writeOutput(m, out);
    expect(r.path).toBe(out);
    expect(r.bytes).toBe(manifest.length + 4321 + 250_000);
    expect(readFileSync(join(out, 'Manifest.json'))).toEqual(Buffer.from(manifest));
    expect(Buffer.compare(readFileSync(join(out, 'Data/com.apple.CoreML/weights/weight.bin')), Buffer.from(bytes(250_000, 13)))).toBe(0);
    expect((m.files[2] as ReturnType<typeof file>).pulls).toBe(4);
    expect(listing()).toEqual(['Model.pal4.mlpackage']);
  });

  it('replaces an existing package folder completely', async () => {
    const out = join(tmp, 'M.mlpackage');
    mkdirSync(join(out, 'old'), { recursive: true });
    writeFileSync(join(out, 'old', 'stale.bin'), 'stale');
    await writeOutput(pkg(), out);
    expect(existsSync(join(out, 'old'))).toBe(false);
    expect(existsSync(join(out, 'Manifest.json'))).toBe(true);
    expect(listing()).toEqual(['M.mlpackage']);
  });

  it('writes an .mlpackage as a zip with the package folder at its root', async () => {
    const out = join(tmp, 'Model.pal4.mlpackage.zip');
    const r = await writeOutput(pkg(), out);
    expect(r.bytes).toBe(readFileSync(out).length);
    const zip = await openZip(fileSource(out));
    expect(zip.paths().sort()).toEqual(
      ['Manifest.json', 'Data/com.apple.CoreML/model.mlmodel', 'Data/com.apple.CoreML/weights/weight.bin'].map((p) => 'Model.pal4.mlpackage/' + p).sort(),
    );
    expect(execFileSync('unzip', ['-t', out], { encoding: 'utf8' })).toContain('No errors detected');
    const w = zip.get('Model.pal4.mlpackage/Data/com.apple.CoreML/weights/weight.bin')!;
    expect(Buffer.from(await w.read(0, w.size))).toEqual(Buffer.from(bytes(250_000, 13)));
  });

  it('a zip not named .mlpackage.zip still holds an X.mlpackage folder', async () => {
    const out = join(tmp, 'small.zip');
    await writeOutput(pkg(), out);
    const zip = await openZip(fileSource(out));
    expect(zip.paths().every((p) => p.startsWith('small.mlpackage/'))).toBe(true);
  });

  it('an existing folder as OUT receives the model under its own name', async () => {
    const dir = join(tmp, 'outdir');
    mkdirSync(dir);
    const r = await writeOutput(pkg(), dir);
    expect(r.path).toBe(join(dir, 'Model.pal4.mlpackage'));
    expect(existsSync(join(dir, 'Model.pal4.mlpackage', 'Manifest.json'))).toBe(true);
  });

  it('an ONNX model with external data: the model at OUT and the data beside it', async () => {
    const m: WrittenModel = { format: 'onnx', name: 'm.q8.onnx', files: [file('m.q8.onnx.data', bytes(5000, 3)), file('m.q8.onnx', bytes(900, 5))] };
    const out = join(tmp, 'renamed.onnx');
    const r = await writeOutput(m, out);
    expect(r.paths).toEqual([out, join(tmp, 'm.q8.onnx.data')]);
    expect(readFileSync(out)).toEqual(Buffer.from(bytes(900, 5)));
    expect(readFileSync(join(tmp, 'm.q8.onnx.data'))).toEqual(Buffer.from(bytes(5000, 3)));
    expect(listing()).toEqual(['m.q8.onnx.data', 'renamed.onnx']);
  });

  it('refuses a package written to a non-.mlpackage name and a wrong extension for single files', async () => {
    await expect(writeOutput(pkg(), join(tmp, 'x.onnx'))).rejects.toMatchObject({ code: 'invalid-option' });
    const onnx: WrittenModel = { format: 'onnx', name: 'a.onnx', files: [file('a.onnx', bytes(10, 1))] };
    await expect(writeOutput(onnx, join(tmp, 'a.mlmodel'))).rejects.toMatchObject({ code: 'invalid-option' });
    await expect(writeOutput(onnx, join(tmp, 'missing-dir', 'a.onnx'))).rejects.toThrow(/does not exist/);
    expect(listing()).toEqual([]);
  });

  it('a failure in the middle leaves nothing behind (folder, zip and file), and keeps what was there', async () => {
    const broken = pkg([failing('Data/extra.bin', 10_000, 3000)]);
    await expect(writeOutput(broken, join(tmp, 'A.mlpackage'))).rejects.toThrow('disk on fire');
    await expect(writeOutput(pkg([failing('Data/extra.bin', 10_000, 3000)]), join(tmp, 'A.mlpackage.zip'))).rejects.toThrow('disk on fire');
    writeFileSync(join(tmp, 'keep.onnx'), 'previous output');
    const onnx: WrittenModel = { format: 'onnx', name: 'keep.onnx', files: [file('keep.onnx.data', bytes(100, 1)), failing('keep.onnx', 500, 100)] };
    await expect(writeOutput(onnx, join(tmp, 'keep.onnx'))).rejects.toThrow('disk on fire');
    expect(listing()).toEqual(['keep.onnx']);
    expect(readFileSync(join(tmp, 'keep.onnx'), 'utf8')).toBe('previous output');
  });

  it('a file that yields fewer bytes than it declares is an error, not a short file', async () => {
    const liar: OutputFile = { path: 'x.onnx', size: 100, async *chunks() { yield new Uint8Array(60); } };
    await expect(writeOutput({ format: 'onnx', name: 'x.onnx', files: [liar] }, join(tmp, 'x.onnx'))).rejects.toThrow(/wrote 60 bytes, expected 100/);
    expect(listing()).toEqual([]);
  });

  it('an abort between chunks stops the write and removes the partial output', async () => {
    const ac = new AbortController();
    let n = 0;
    const slow: OutputFile = {
      path: 'Data/w.bin',
      size: 10 * 1000,
      async *chunks() {
        for (let i = 0; i < 10; i++) {
          if (++n === 3) ac.abort();
          yield new Uint8Array(1000);
        }
      },
    };
    const m: WrittenModel = { format: 'mlpackage', name: 'A.mlpackage', files: [file('Manifest.json', manifest), slow] };
    await expect(writeOutput(m, join(tmp, 'A.mlpackage'), ac.signal)).rejects.toMatchObject({ code: 'cancelled' });
    expect(n).toBeLessThan(10);
    expect(listing()).toEqual([]);
  });
});
