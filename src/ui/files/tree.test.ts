import { describe, expect, it } from 'vitest';
import { browserTree, collectDrop, readAllEntries, treeName } from './tree';

describe('browser file trees', () => {
  it('reads a directory fully when readEntries hands entries over in batches of 100', async () => {
    const all = Array.from({ length: 250 }, (_, i) => ({ isFile: true, isDirectory: false, name: `f${i}`, fullPath: `/d/f${i}` }));
    let calls = 0;
    const dir = {
      isFile: false,
      isDirectory: true,
      name: 'd',
      fullPath: '/d',
      createReader() {
        let pos = 0;
        return {
          readEntries(ok: (e: typeof all) => void) {
            calls++;
            const batch = all.slice(pos, pos + 100);
            pos += batch.length;
            setTimeout(() => ok(batch), 0);
          },
        };
      },
    };
    const got = await readAllEntries(dir);
    expect(got.map((e) => e.name)).toEqual(all.map((e) => e.name));
    expect(calls).toBe(4); // 100 + 100 + 50 + the empty batch that ends it
  });

  it('reads slices of a Blob and refuses reads past the end', async () => {
    const bytes = new Uint8Array(1000).map((_, i) => i & 255);
    const tree = browserTree([{ path: 'X.mlpackage/Data/w.bin', file: new Blob([bytes]) }, { path: 'X.mlpackage/Manifest.json', file: new Blob(['{}']) }]);
    expect(tree.name).toBe('X.mlpackage');
    const src = tree.get('X.mlpackage/Data/w.bin')!;
    expect(src.size).toBe(1000);
    expect([...(await src.read(250, 4))]).toEqual([250, 251, 252, 253]);
    await expect(src.read(998, 4)).rejects.toThrow(/past end/);
  });

  it('names a set of loose files after the model file (ONNX with its external data)', () => {
    expect(treeName(['weights.bin', 'model.onnx'])).toBe('model.onnx');
    expect(treeName(['a.mlmodel'])).toBe('a.mlmodel');
  });

  it('collects a dropped folder with nested folders (entries API) and loose files, with their paths', async () => {
    const file = (name: string, full: string, text: string) => ({
      isFile: true,
      isDirectory: false,
      name,
      fullPath: full,
      file: (ok: (f: File) => void) => ok(new File([text], name)),
    });
    const dir = (name: string, full: string, children: unknown[]) => ({
      isFile: false,
      isDirectory: true,
      name,
      fullPath: full,
      createReader() {
        let done = false;
        return { readEntries: (ok: (e: unknown[]) => void) => ok(done ? [] : ((done = true), children)) };
      },
    });
    const pkg = dir('M.mlpackage', '/M.mlpackage', [
      file('Manifest.json', '/M.mlpackage/Manifest.json', '{}'),
      dir('Data', '/M.mlpackage/Data', [dir('com.apple.CoreML', '/M.mlpackage/Data/com.apple.CoreML', [file('model.mlmodel', '/x', 'abc')])]),
    ]);
    const loose = new File(['xyz'], 'extra.bin');
    const dt = {
      items: [
        { kind: 'file', webkitGetAsEntry: () => pkg, getAsFile: () => null },
        { kind: 'file', webkitGetAsEntry: () => null, getAsFile: () => loose },
        { kind: 'string', webkitGetAsEntry: () => null, getAsFile: () => null },
      ],
      files: [],
    } as unknown as DataTransfer;
    const files = await collectDrop(dt);
    expect(files.map((f) => f.path).sort()).toEqual(['M.mlpackage/Data/com.apple.CoreML/model.mlmodel', 'M.mlpackage/Manifest.json', 'extra.bin']);
    const tree = browserTree(files);
    expect(new TextDecoder().decode(await tree.get('M.mlpackage/Data/com.apple.CoreML/model.mlmodel')!.read(0, 3))).toBe('abc');
  });
});
