import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadModel } from '../core/formats';
import { memoryTree } from '../core/io/source';
import { browserTree, type NamedFile } from '../ui/files/tree';
import { readRange } from '../../workers/read';
import { fixture } from '../../tests/fixtures';
import { locateDense } from './locate';

/** A folder as the page gets it from a picker: Files (here Node's Blob) with their relative paths. */
function pickedFolder(dir: string): NamedFile[] {
  const out: NamedFile[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push({ path: `${dir.split('/').pop()}/${relative(dir, p)}`, file: new Blob([readFileSync(p)]) });
    }
  };
  walk(dir);
  return out;
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('locateDense: the byte range a worker reads instead of the page', () => {
  for (const name of ['base_ios16.mlpackage', 'base_ios18.mlpackage']) {
    it(`${name}: every uncompressed fp16/fp32 const is located, and the range holds exactly what readDense returns`, async () => {
      const model = await loadModel(browserTree(pickedFolder(fixture('synthetic', name))));
      let located = 0;
      for (const w of model.weights) {
        const at = await locateDense(model, w.id);
        const dense = !w.compression && w.location.kind === 'blob' && (w.dtype === 'fp16' || w.dtype === 'fp32');
        expect(!!at, w.name).toBe(dense);
        if (!at) continue;
        located++;
        const mine = await readRange(at);
        const theirs = await model.readDense(w.id);
        expect(mine.dtype).toBe(theirs.dtype);
        expect(mine.shape).toEqual(theirs.shape);
        expect(mine.data.constructor).toBe(theirs.data.constructor);
        expect(bytesOf(mine.data)).toEqual(bytesOf(theirs.data));
      }
      expect(located).toBeGreaterThan(0);
    });
  }

  it('a model held in memory (a zip, a fetched sample) is not located: its tensors go the usual way', async () => {
    const files = pickedFolder(fixture('synthetic', 'base_ios16.mlpackage'));
    const mem: Record<string, Uint8Array> = {};
    for (const f of files) mem[f.path] = new Uint8Array(await f.file.arrayBuffer());
    const model = await loadModel(memoryTree('base_ios16.mlpackage', mem));
    for (const w of model.weights) expect(await locateDense(model, w.id)).toBeUndefined();
  });

  it('NeuralNetwork weights are not located', async () => {
    const model = await loadModel(browserTree([{ path: 'base_nn.mlmodel', file: new Blob([readFileSync(fixture('synthetic', 'base_nn.mlmodel'))]) }]));
    expect(model.weights.length).toBeGreaterThan(0);
    for (const w of model.weights) expect(await locateDense(model, w.id)).toBeUndefined();
  });
});
