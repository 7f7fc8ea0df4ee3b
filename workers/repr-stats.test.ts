/**
 * The page computes statistics of an already compressed weight by decompressing readRepr() in a worker. That is
 * only right if decompress(readRepr(w)) equals readFloat32(w): checked on every compressed weight of the goldens.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decompress } from '../src/core/compress/decompress';
import { loadModel } from '../src/core/formats';
import { pathTree } from '../src/node/fs-tree';
import { fixture } from '../tests/fixtures';
import { weightStats } from './stats';

describe('statistics from the stored representation', () => {
  it('decompress(readRepr) equals readFloat32 bit for bit on every compressed golden weight', async () => {
    let checked = 0;
    const root = fixture('golden');
    for (const m of readdirSync(root)) {
      const dir = join(root, m);
      if (!statSync(dir).isDirectory()) continue;
      for (const f of readdirSync(dir).filter((n) => /\.(mlpackage|mlmodel)$/.test(n))) {
        const model = await loadModel(pathTree(join(dir, f)));
        for (const w of model.weights.filter((x) => x.compression)) {
          const a = await model.readFloat32(w.id);
          const b = decompress(await model.readRepr(w.id));
          expect(b.length, `${m}/${f} ${w.name}`).toBe(a.length);
          expect(Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(Buffer.from(a.buffer, a.byteOffset, a.byteLength)), `${m}/${f} ${w.name}`).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(200);
  });

  it('the unique count of a 4-bit palettized golden weight is at most 16', async () => {
    const model = await loadModel(pathTree(fixture('golden/base_ios16/pal-kmeans-4-tensor.mlpackage')));
    const w = model.weights.find((x) => x.compression)!;
    const s = weightStats(decompress(await model.readRepr(w.id)));
    expect(s.unique).toBeLessThanOrEqual(16);
    expect(s.count).toBe(w.count);
  });
});
