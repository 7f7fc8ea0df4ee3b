/**
 * The 100 MB benchmark model of issue 3 (fp16 mlprogram, 49,960,960 parameters, values ~ N(0, 0.02)), written once
 * to test-results/bench/BenchNet.mlpackage with the core's own builder, for the responsiveness test.
 */
import { existsSync, mkdirSync, openSync, writeSync, closeSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { buildMLProgram } from '../src/core/formats/coreml/build';
import { f32ToF16 } from '../src/core/tensor/fp16';
import type { DenseTensor } from '../src/core/model/types';

const LAYERS: { name: string; op: 'conv' | 'linear'; shape: number[] }[] = [
  { name: 'conv1', op: 'conv', shape: [256, 3, 3, 3] },
  { name: 'conv2', op: 'conv', shape: [512, 256, 3, 3] },
  { name: 'conv3', op: 'conv', shape: [1024, 512, 3, 3] },
  { name: 'linear1', op: 'linear', shape: [4096, 1024] },
  { name: 'linear2', op: 'linear', shape: [4096, 4096] },
  { name: 'linear3', op: 'linear', shape: [4096, 4096] },
  { name: 'linear4', op: 'linear', shape: [1536, 4096] },
];

function gaussian(n: number, seed: number, std: number): Uint16Array {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(rnd() || 1e-12)) * std;
    const v = 2 * Math.PI * rnd();
    out[i] = f32ToF16(r * Math.cos(v));
    if (i + 1 < n) out[i + 1] = f32ToF16(r * Math.sin(v));
  }
  return out;
}

export async function benchModel(root: string): Promise<string> {
  const dir = resolve(root, 'BenchNet.mlpackage');
  if (existsSync(join(dir, 'Manifest.json'))) return dir;
  const layers = LAYERS.map((l, i) => {
    const n = l.shape.reduce((a, b) => a * b, 1);
    const weight: DenseTensor = { dtype: 'fp16', shape: l.shape, data: gaussian(n, 1000 + i, 0.02) };
    const bias: DenseTensor = { dtype: 'fp16', shape: [l.shape[0]], data: gaussian(l.shape[0], 2000 + i, 0.02) };
    return { name: l.name, op: l.op, weight, bias };
  });
  const written = buildMLProgram({ layers, name: 'BenchNet' });
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
