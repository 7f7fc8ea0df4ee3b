import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture } from '../../tests/fixtures';
import { loadModel } from '../core/formats';
import { memoryTree } from '../core/io/source';
import { zipFiles } from '../core/io/zip';
import { ShrinkrayError } from '../core/errors';
import { loadPath, treeForPath } from './load';

async function zipBytes(files: Record<string, Uint8Array>): Promise<Uint8Array> {
  const z = zipFiles(Object.entries(files).map(([path, b]) => ({ path, size: b.length, async *chunks() { yield b; } })));
  const parts: Uint8Array[] = [];
  for await (const c of z.chunks()) parts.push(c.slice());
  return new Uint8Array(Buffer.concat(parts));
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof ShrinkrayError ? `${e.code}: ${e.message}` : `other: ${String(e)}`;
  }
  return 'no error';
}

describe('loading models from disk and from zips', () => {
  it('an .mlpackage.zip loads with the same weights and values as its folder', async () => {
    const a = await loadPath(fixture('real/coreml/DTLN_AEC_128_Part2_fp16.mlpackage'));
    const b = await loadPath(fixture('real/coreml/DTLN_AEC_128_Part2_fp16.mlpackage.zip'));
    expect(b.weights).toEqual(a.weights);
    const w = a.weights.reduce((x, y) => (y.count > x.count ? y : x));
    expect(Buffer.compare(Buffer.from((await b.readFloat32(w.id)).buffer), Buffer.from((await a.readFloat32(w.id)).buffer))).toBe(0);
  });

  it('a Finder-style zip (with __MACOSX/ and ._ files) of a package loads', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'sr-load-'));
    try {
      cpSync(fixture('synthetic/base_ios16.mlpackage'), join(tmp, 'base_ios16.mlpackage'), { recursive: true });
      writeFileSync(join(tmp, 'base_ios16.mlpackage', '._Manifest.json'), 'AppleDouble');
      mkdirSync(join(tmp, '__MACOSX', 'base_ios16.mlpackage'), { recursive: true });
      writeFileSync(join(tmp, '__MACOSX', 'base_ios16.mlpackage', '._Manifest.json'), 'AppleDouble');
      execFileSync('zip', ['-q', '-r', 'pkg.zip', 'base_ios16.mlpackage', '__MACOSX'], { cwd: tmp });
      const m = await loadPath(join(tmp, 'pkg.zip'));
      expect(m.summary.format).toBe('mlpackage');
      expect(m.weights).toHaveLength(10);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('a zip without a model → zip-no-model', async () => {
    const text = new TextEncoder().encode('These are my notes, not a model.\n');
    const cases: Record<string, Uint8Array>[] = [{ 'readme.txt': text }, { 'readme.txt': text, 'photo.jpg': new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]) }];
    for (const files of cases) {
      const zip = await zipBytes(files);
      const r = await codeOf(loadModel(memoryTree('notes.zip', { 'notes.zip': zip })));
      expect(r).toMatch(/^zip-no-model: notes\.zip: .*no \.mlpackage, \.mlmodel or \.onnx model/);
    }
  });

  it('a zip with unsafe paths is refused before anything is read', async () => {
    const zip = await zipBytes({ 'M.mlpackage/Manifest.json': new TextEncoder().encode('{}') });
    // rewrite the entry name in place (same length) into a path that climbs out
    const s = Buffer.from(zip).toString('latin1').split('M.mlpackage/Manifest.json').join('../../../../../../etc/pwn');
    const r = await codeOf(loadModel(memoryTree('evil.zip', { 'evil.zip': new Uint8Array(Buffer.from(s, 'latin1')) })));
    expect(r).toMatch(/^zip-unsafe-path: evil\.zip: unsafe entry path "\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/etc\/pwn"/);
  });

  it('a truncated .mlpackage.zip → zip-invalid', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'sr-load-'));
    try {
      const p = join(tmp, 'cut.mlpackage.zip');
      writeFileSync(p, execFileSync('head', ['-c', '500000', fixture('real/coreml/DTLN_AEC_128_Part1_fp32.mlpackage.zip')]));
      expect(await codeOf(loadPath(p))).toMatch(/^zip-invalid: cut\.mlpackage\.zip: not a valid zip file/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('an .onnx brings its sibling files; other files are read alone', () => {
    const onnx = treeForPath(fixture('real/onnx/CIFAR10_ImageClassifier.onnx'));
    expect(onnx.paths()[0]).toBe('CIFAR10_ImageClassifier.onnx');
    expect(onnx.paths()).toContain('SqueezeNet1.0_fp16.onnx');
    expect(treeForPath(fixture('real/coreml/MNIST_CNN.mlmodel')).paths()).toEqual(['MNIST_CNN.mlmodel']);
    expect(treeForPath(fixture('synthetic/base_ios16.mlpackage')).paths()).toContain('Manifest.json');
  });
});
