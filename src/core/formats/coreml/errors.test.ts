import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixture } from '../../../../tests/fixtures';
import { isShrinkrayError } from '../../errors';
import { memoryTree } from '../../io/source';
import { pathTree } from '../../../node/fs-tree';
import { loadPath, loadTree } from '../../../../tests/coreml/util';

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (!isShrinkrayError(e)) throw e;
    return { code: e.code, message: e.message };
  }
  throw new Error('expected the load to fail');
}

describe('bad fixtures: the specific error each README row asks for', () => {
  const cases: [string, string, RegExp][] = [
    ['empty.mlmodel', 'empty-file', /^empty\.mlmodel is empty \(0 bytes\): not a Core ML/],
    ['garbage.mlmodel', 'protobuf-decode', /garbage\.mlmodel: not a Core ML .*protobuf decode failed/],
    ['random.mlmodel', 'protobuf-decode', /random\.mlmodel: not a Core ML .*protobuf decode failed/],
    ['badmanifest.mlpackage', 'manifest-invalid', /Manifest\.json is not valid JSON: unexpected end of input at line 2/],
    ['nomanifest.mlpackage', 'manifest-missing', /nomanifest\.mlpackage: not an \.mlpackage: Manifest\.json missing/],
    ['noweights.mlpackage', 'weights-missing', /weights\/weight\.bin not found \(referenced by 10 weights, e\.g\. conv1_weight_to_fp16\)/],
    [
      'truncweights.mlpackage',
      'blob-truncated',
      /weight\.bin truncated: blob conv1_weight_to_fp16 at offset 64 has data \[128, 1856\), past end of file \(1000 bytes\)/,
    ],
    [
      'corrupthdr.mlpackage',
      'blob-header',
      /weight\.bin: bad blob header at offset 64 \(sentinel 0xffffffff, expected 0xdeadbeef\) for blob conv1_weight_to_fp16/,
    ],
  ];
  for (const [name, code, msg] of cases) {
    it(name, async () => {
      const f = await failure(loadPath(fixture('bad', name)));
      expect(f.code).toBe(code);
      expect(f.message).toMatch(msg);
    });
  }
});

/** The synthetic iOS16 package in memory, with `edit` applied to its files. */
function pkg(edit: (files: Record<string, Uint8Array>) => void) {
  const t = pathTree(fixture('synthetic/base_ios16.mlpackage'));
  const files: Record<string, Uint8Array> = {};
  for (const p of t.paths()) files[p] = new Uint8Array(readFileSync(fixture('synthetic/base_ios16.mlpackage', p)));
  edit(files);
  return memoryTree('edited.mlpackage', files);
}
const W = 'Data/com.apple.CoreML/weights/weight.bin';
const setU32 = (b: Uint8Array, at: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint32(at, v, true);

describe('more failures, each named precisely', () => {
  it('a blob whose metadata record lies past the end of weight.bin', async () => {
    const f = await failure(loadTree(pkg((fs) => (fs[W] = fs[W].slice(0, 1900)))));
    expect(f.code).toBe('blob-truncated');
    expect(f.message).toMatch(/weight\.bin truncated: blob \w+ has its metadata record at offset 1856, past end of file \(1900 bytes\)/);
  });

  it('a blob whose size runs past the end of weight.bin', async () => {
    const f = await failure(loadTree(pkg((fs) => setU32(fs[W], 64 + 8, 10_000_000))));
    expect(f.code).toBe('blob-truncated');
    expect(f.message).toMatch(/blob conv1_weight_to_fp16 at offset 64 has data \[128, 10000128\), past end of file \(146880 bytes\)/);
  });

  it('a blob whose dtype differs from the program', async () => {
    const f = await failure(loadTree(pkg((fs) => setU32(fs[W], 64 + 4, 2))));
    expect(f.code).toBe('blob-header');
    expect(f.message).toMatch(/blob conv1_weight_to_fp16 at offset 64 stores dtype fp32, but the program declares fp16/);
  });

  it('a blob whose element count differs from its type', async () => {
    const f = await failure(loadTree(pkg((fs) => setU32(fs[W], 64 + 8, 1726))));
    expect(f.code).toBe('blob-header');
    expect(f.message).toMatch(/blob conv1_weight_to_fp16 at offset 64 holds 863 fp16 elements, but its type says 864/);
  });

  it('a weight file with an unknown storage version', async () => {
    const f = await failure(loadTree(pkg((fs) => setU32(fs[W], 4, 1))));
    expect(f.code).toBe('blob-header');
    expect(f.message).toMatch(/weight\.bin: unsupported blob storage version 1/);
  });

  const manifest = (edit: (m: Record<string, unknown>) => void) =>
    pkg((fs) => {
      const m = JSON.parse(new TextDecoder().decode(fs['Manifest.json']));
      edit(m);
      fs['Manifest.json'] = new TextEncoder().encode(JSON.stringify(m));
    });

  it('Manifest.json without rootModelIdentifier', async () => {
    const f = await failure(loadTree(manifest((m) => delete m.rootModelIdentifier)));
    expect(f.code).toBe('manifest-invalid');
    expect(f.message).toMatch(/Manifest\.json: invalid Manifest\.json: rootModelIdentifier missing/);
  });

  it('Manifest.json from a newer format version', async () => {
    const f = await failure(loadTree(manifest((m) => (m.fileFormatVersion = '2.0.0'))));
    expect(f.code).toBe('manifest-invalid');
    expect(f.message).toMatch(/fileFormatVersion 2\.0\.0 is newer than 1\.0\.0/);
  });

  it('Manifest.json whose root id names no item', async () => {
    const f = await failure(loadTree(manifest((m) => (m.rootModelIdentifier = 'nope'))));
    expect(f.code).toBe('manifest-invalid');
    expect(f.message).toMatch(/rootModelIdentifier nope is not in itemInfoEntries/);
  });

  it('an item without its four keys', async () => {
    const f = await failure(
      loadTree(manifest((m) => {
        const e = m.itemInfoEntries as Record<string, Record<string, string>>;
        delete Object.values(e)[0].author;
      })),
    );
    expect(f.code).toBe('manifest-invalid');
    expect(f.message).toMatch(/has no "author"/);
  });

  it('a root model file that is missing', async () => {
    const f = await failure(loadTree(pkg((fs) => delete fs['Data/com.apple.CoreML/model.mlmodel'])));
    // detection still finds the package by its Manifest.json; the reader names the missing root model
    expect(f.code).toBe('manifest-invalid');
    expect(f.message).toMatch(/root model Data\/com\.apple\.CoreML\/model\.mlmodel \(named by Manifest\.json\) not found/);
  });

  it('a truncated model.mlmodel inside a package', async () => {
    const f = await failure(
      loadTree(pkg((fs) => (fs['Data/com.apple.CoreML/model.mlmodel'] = fs['Data/com.apple.CoreML/model.mlmodel'].slice(0, 3000)))),
    );
    expect(f.code).toBe('protobuf-decode');
    expect(f.message).toMatch(/model\.mlmodel: not a Core ML model: protobuf decode failed \(field 502 at byte \d+ runs past the end/);
  });
});

describe('corrupted packages never crash with anything but a ShrinkrayError', () => {
  it('300 random corruptions of model.mlmodel and weight.bin', async () => {
    const base = pkg(() => {});
    const orig: Record<string, Uint8Array> = {};
    for (const p of base.paths()) orig[p] = await base.get(p)!.read(0, base.get(p)!.size);
    let seed = 11;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const seen = new Set<string>();
    for (let it = 0; it < 300; it++) {
      const target = it % 3 === 0 ? W : 'Data/com.apple.CoreML/model.mlmodel';
      const b = orig[target].slice();
      for (let k = 0, n = 1 + rnd(4); k < n; k++) b[rnd(target === W ? 4096 : b.length)] = rnd(256);
      const files = { ...orig, [target]: it % 7 === 0 ? b.slice(0, rnd(b.length)) : b };
      try {
        const m = await loadTree(memoryTree('fuzz.mlpackage', files));
        for (const w of m.weights) {
          await m.readFloat32(w.id);
          await m.readRepr(w.id);
        }
        seen.add('ok');
      } catch (e) {
        if (!isShrinkrayError(e)) throw new Error(`iteration ${it}: ${(e as Error).stack}`);
        seen.add(e.code);
      }
    }
    // the corruptions reach the decoder, the blob checks and the happy path
    expect(seen.has('protobuf-decode')).toBe(true);
    expect(seen.has('blob-header') || seen.has('blob-truncated')).toBe(true);
    expect(seen.has('ok')).toBe(true);
  });
});
