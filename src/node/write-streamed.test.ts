/**
 * writeStreamedOutput + folderSink: the CLI's one-pass output of an .mlpackage (src/core/engine/stream.ts) is the
 * folder (or zip) that writeOutput makes of writeCoreML's files; nothing is left behind when compression fails.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture } from '../../tests/fixtures';
import { loadPath } from '../../tests/coreml/util';
import { openZip } from '../core/io/zip';
import { outputBytes } from '../core/model/types';
import { compressToSink, streamedName } from '../core/engine/stream';
import { runPlan } from '../core/engine/run';
import { writeCoreML } from '../core/formats/coreml/write';
import { magnitudePrunerConfig, palettizerConfig } from '../core/plan/index';
import type { CompressionPlan } from '../core/compress/types';
import { fileSource } from './fs-tree';
import { folderSink, writeOutput, writeStreamedOutput } from './write-output';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sr-stream-'));
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function walk(dir: string, pre = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name), `${pre}${e.name}/`) : [`${pre}${e.name}`],
  );
}

const prunePal: CompressionPlan = {
  target: 'iOS18',
  steps: [{ global_config: magnitudePrunerConfig({ target_sparsity: 0.5 }) }, { global_config: palettizerConfig({ mode: 'kmeans', nbits: 4, granularity: 'per_tensor' }) }],
};

describe('writeStreamedOutput', () => {
  it('writes the package folder writeOutput writes from writeCoreML, and the same zip entries', async () => {
    const model = await loadPath(fixture('synthetic/base_ios18.mlpackage'));
    const w = await writeCoreML(model, await runPlan(model, prunePal), { plan: prunePal, tag: 'pp' });
    await writeOutput(w, join(tmp, 'a.mlpackage'));
    const name = streamedName(model, 'pp');
    expect(name).toBe(w.name);
    const r = await writeStreamedOutput(name, join(tmp, 'b.mlpackage'), async (sink) => (await compressToSink(model, prunePal, sink, { tag: 'pp' })).written);
    expect(r.path).toBe(join(tmp, 'b.mlpackage'));
    const files = walk(join(tmp, 'a.mlpackage')).sort();
    expect(walk(join(tmp, 'b.mlpackage')).sort()).toEqual(files);
    for (const f of files) expect(readFileSync(join(tmp, 'b.mlpackage', f)).equals(readFileSync(join(tmp, 'a.mlpackage', f))), f).toBe(true);
    expect(r.bytes).toBe(w.files.reduce((s, f) => s + f.size, 0));

    // zip: the same entries in writeCoreML's order (Manifest.json, model.mlmodel, weight.bin) and contents
    const z = await writeStreamedOutput(name, join(tmp, 'c.zip'), async (sink) => (await compressToSink(model, prunePal, sink, { tag: 'pp' })).written);
    const tree = await openZip(fileSource(z.path));
    expect(tree.paths()).toEqual(w.files.map((f) => `c.mlpackage/${f.path}`));
    for (const f of w.files) {
      const src = tree.get(`c.mlpackage/${f.path}`)!;
      expect(Buffer.from(await src.read(0, src.size)).equals(Buffer.from(await outputBytes(f))), f.path).toBe(true);
    }
    expect(readdirSync(tmp).sort()).toEqual(['a.mlpackage', 'b.mlpackage', 'c.zip']);
  });

  it('puts the package under its own name in a folder, and refuses other extensions before any work', async () => {
    let called = 0;
    const produce = async () => {
      called++;
      return { format: 'mlpackage' as const, name: 'M.x.mlpackage', files: [] };
    };
    const r = await writeStreamedOutput('M.x.mlpackage', tmp + '/', produce);
    expect(r.path).toBe(join(tmp, 'M.x.mlpackage'));
    expect(existsSync(r.path)).toBe(true);
    await expect(writeStreamedOutput('M.x.mlpackage', join(tmp, 'out.onnx'), produce)).rejects.toMatchObject({ code: 'invalid-option' });
    await expect(writeStreamedOutput('M.x.mlpackage', join(tmp, 'nope', 'o.mlpackage'), produce)).rejects.toMatchObject({ code: 'invalid-option' });
    expect(called).toBe(1);
  });

  it('leaves nothing behind (and an existing output untouched) when compression fails midway', async () => {
    const model = await loadPath(fixture('synthetic/base_ios16.mlpackage'));
    const dest = join(tmp, 'keep.mlpackage');
    await writeStreamedOutput('x', dest, async (sink) => {
      const f = await sink.open('old.txt');
      await f.write(new TextEncoder().encode('old'));
      await f.close();
      return { format: 'mlpackage', name: 'x', files: [{ path: 'old.txt', size: 3 }] };
    });
    const ac = new AbortController();
    const run = writeStreamedOutput(
      'x',
      dest,
      async (sink) => (await compressToSink(model, prunePal, sink, { signal: ac.signal, onProgress: (d) => d === 1 && ac.abort() })).written,
      ac.signal,
    );
    await expect(run).rejects.toMatchObject({ code: 'cancelled' });
    expect(readdirSync(tmp)).toEqual(['keep.mlpackage']);
    expect(walk(dest)).toEqual(['old.txt']);
  });
});

describe('folderSink', () => {
  it('writes chunks in order while earlier ones are still in flight (more than its in-flight bound), then the patch', async () => {
    const sink = folderSink(tmp);
    const f = await sink.open('a/b.bin');
    const piece = 1 << 20;
    const count = 70; // 70 MB: write() has to wait for earlier chunks at least once
    for (let k = 0; k < count; k++) {
      const c = new Uint8Array(piece);
      for (let i = 0; i < piece; i += 4096) c[i] = (k * 31 + i / 4096) & 0xff;
      c[piece - 1] = k;
      await f.write(c);
    }
    await f.patch(0, Uint8Array.from([0xde, 0xad]));
    await f.close();
    const got = readFileSync(join(tmp, 'a', 'b.bin'));
    expect(got.length).toBe(piece * count);
    expect([got[0], got[1]]).toEqual([0xde, 0xad]);
    for (let k = 0; k < count; k++) {
      expect(got[k * piece + piece - 1]).toBe(k);
      expect(got[k * piece + 4096 * 7]).toBe((k * 31 + 7) & 0xff);
    }
  });

  it('refuses a write after cancellation, and an existing file', async () => {
    const ac = new AbortController();
    const sink = folderSink(tmp, ac.signal);
    const f = await sink.open('x.bin');
    await f.write(new Uint8Array([1, 2, 3]));
    ac.abort();
    await expect(f.write(new Uint8Array([4]))).rejects.toThrow(/cancelled/);
    await f.close();
    expect([...readFileSync(join(tmp, 'x.bin'))]).toEqual([1, 2, 3]);
    await expect(sink.open('x.bin')).rejects.toThrow();
  });
});
