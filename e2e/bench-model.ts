/**
 * The 100 MB benchmark model of issue 3 (fp16 mlprogram, 49,960,960 parameters, values ~ N(0, 0.02)), written once
 * to test-results/bench/BenchNet.mlpackage with the core's own builder, for the responsiveness test.
 */
import { existsSync, mkdirSync, openSync, writeSync, closeSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { buildBenchModel } from '../src/bench/model';

export async function benchModel(root: string): Promise<string> {
  const dir = resolve(root, 'BenchNet.mlpackage');
  if (existsSync(join(dir, 'Manifest.json'))) return dir;
  const written = buildBenchModel();
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  for (const f of written.files) {
    const path = join(tmp, f.path);
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(path, 'w');
    try {
      for await (const c of f.chunks()) writeSync(fd, c);
    } finally {
      closeSync(fd);
    }
  }
  renameSync(tmp, dir);
  return dir;
}
