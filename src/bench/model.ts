/**
 * The 100 MB benchmark model of the compression-engine issue: an fp16 ML program with the reference model's layer
 * shapes (conv1 256×3×3×3, conv2 512×256×3×3, conv3 1024×512×3×3, linear1 4096×1024, linear2/3 4096×4096,
 * linear4 1536×4096, a bias per output channel: 49,960,960 parameters), values ~ N(0, 0.02) from a fixed seed.
 * One definition for `npm run bench`, the CLI benchmark and the browser responsiveness test.
 */
import { buildMLProgram } from '../core/formats/coreml/build';
import type { DenseTensor, WrittenModel } from '../core/model/types';
import { f32ToF16 } from '../core/tensor/fp16';
import { mulberry32 } from '../core/tensor/random';

export const BENCH_LAYERS: { name: string; op: 'conv' | 'linear'; shape: number[] }[] = [
  { name: 'conv1', op: 'conv', shape: [256, 3, 3, 3] },
  { name: 'conv2', op: 'conv', shape: [512, 256, 3, 3] },
  { name: 'conv3', op: 'conv', shape: [1024, 512, 3, 3] },
  { name: 'linear1', op: 'linear', shape: [4096, 1024] },
  { name: 'linear2', op: 'linear', shape: [4096, 4096] },
  { name: 'linear3', op: 'linear', shape: [4096, 4096] },
  { name: 'linear4', op: 'linear', shape: [1536, 4096] },
];

export { mulberry32 } from '../core/tensor/random';

/** n fp16 bit patterns of N(0, std²) samples (Box-Muller). */
export function gaussianF16(n: number, rnd: () => number, std: number): Uint16Array {
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(rnd() || 1e-12)) * std;
    const v = 2 * Math.PI * rnd();
    out[i] = f32ToF16(r * Math.cos(v));
    if (i + 1 < n) out[i + 1] = f32ToF16(r * Math.sin(v));
  }
  return out;
}

export const BENCH_PARAMS = BENCH_LAYERS.reduce((t, l) => t + l.shape.reduce((a, b) => a * b, 1) + l.shape[0], 0);

/** The benchmark model as an .mlpackage (`BenchNet.mlpackage`), built in memory by the core's own writer. */
export function buildBenchModel(): WrittenModel {
  const rnd = mulberry32(20240601);
  const layers = BENCH_LAYERS.map((l) => {
    const n = l.shape.reduce((a, b) => a * b, 1);
    const weight: DenseTensor = { dtype: 'fp16', shape: l.shape, data: gaussianF16(n, rnd, 0.02) };
    const bias: DenseTensor = { dtype: 'fp16', shape: [l.shape[0]], data: gaussianF16(l.shape[0], rnd, 0.02) };
    return { name: l.name, op: l.op, weight, bias };
  });
  return buildMLProgram({ layers, target: 'iOS16', name: 'BenchNet', spatial: 8 });
}
