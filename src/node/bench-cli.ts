/**
 * Measures the CLI end to end on the 100 MB benchmark model of the compression-engine issue (fp16 mlprogram,
 * conv1 256×3×3×3, conv2 512×256×3×3, conv3 1024×512×3×3, linear1 4096×1024, linear2/3 4096×4096,
 * linear4 1536×4096, a bias per output channel, values ~ N(0, 0.02)): wall time and peak RSS of the whole
 * `shrinkray compress` process (Node start-up, load, compress, write), via /usr/bin/time.
 *
 *   npx tsx src/node/bench-cli.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildMLProgram } from '../core/formats/coreml/build';
import type { DenseTensor } from '../core/model/types';
import { f32ToF16 } from '../core/tensor/fp16';
import { writeOutput } from './write-output';

const LAYERS: { name: string; op: 'conv' | 'linear'; shape: number[] }[] = [
  { name: 'conv1', op: 'conv', shape: [256, 3, 3, 3] },
  { name: 'conv2', op: 'conv', shape: [512, 256, 3, 3] },
  { name: 'conv3', op: 'conv', shape: [1024, 512, 3, 3] },
  { name: 'linear1', op: 'linear', shape: [4096, 1024] },
  { name: 'linear2', op: 'linear', shape: [4096, 4096] },
  { name: 'linear3', op: 'linear', shape: [4096, 4096] },
  { name: 'linear4', op: 'linear', shape: [1536, 4096] },
];

const RUNS: { op: string; flags: string[]; coremltools: { seconds: number; peakMb: number } }[] = [
  { op: 'palettize-kmeans-4-tensor', flags: ['--palettize', '4'], coremltools: { seconds: 9.3, peakMb: 790 } },
  { op: 'quantize-int8-channel', flags: ['--quantize', 'int8', '--per-channel'], coremltools: { seconds: 2.65, peakMb: 372 } },
  { op: 'prune-magnitude-50', flags: ['--prune', '0.5'], coremltools: { seconds: 3.2, peakMb: 575 } },
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

function size(p: string): number {
  const s = statSync(p);
  return s.isDirectory() ? readdirSync(p).reduce((t, e) => t + size(join(p, e)), 0) : s.size;
}

async function main(): Promise<void> {
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const root = mkdtempSync(join(tmpdir(), 'shrinkray-cli-bench-'));
  try {
    const layers = LAYERS.map((l, i) => {
      const n = l.shape.reduce((x, y) => x * y, 1);
      const weight: DenseTensor = { dtype: 'fp16', shape: l.shape, data: gaussian(n, 1000 + i, 0.02) };
      const bias: DenseTensor = { dtype: 'fp16', shape: [l.shape[0]], data: gaussian(l.shape[0], 2000 + i, 0.02) };
      return { name: l.name, op: l.op, weight, bias };
    });
    const model = join(root, 'Bench.mlpackage');
    await writeOutput(buildMLProgram({ layers, target: 'iOS16', name: 'Bench', spatial: 8 }), model);
    const mb = size(model) / 1e6;
    console.log(`bench model: ${mb.toFixed(1)} MB on disk`);
    const rows = [];
    for (const run of RUNS) {
      const out = join(root, `${run.op}.mlpackage`);
      const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M %U %S', process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'compress', model, '-o', out, ...run.flags, '--json'], {
        cwd: repo,
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
      const m = /TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(r.stderr);
      if (r.status !== 0 || !m) throw new Error(`${run.op}: exit ${r.status}\n${r.stderr}`);
      const rep = JSON.parse(r.stdout);
      const seconds = Number(m[1]);
      const peakMb = (Number(m[2]) * 1024) / 1e6;
      const row = {
        op: run.op,
        seconds,
        cpu_seconds: +(Number(m[3]) + Number(m[4])).toFixed(2),
        in_process_seconds: +rep.seconds.toFixed(2),
        peak_mb: +peakMb.toFixed(0),
        ratio_vs_coremltools: +(run.coremltools.seconds / seconds).toFixed(2),
        out_mb: +(size(out) / 1e6).toFixed(1),
        compressed: rep.totals.compressed,
      };
      rows.push(row);
      console.log(
        `${run.op}: ${seconds.toFixed(2)} s whole process, ${row.cpu_seconds} s CPU (${row.in_process_seconds} s compress+write after load), peak RSS ${row.peak_mb} MB ` +
          `(coremltools ${run.coremltools.seconds} s, ~${run.coremltools.peakMb} MB) → ${row.ratio_vs_coremltools}× faster; ` +
          `${row.compressed} weights compressed, output ${row.out_mb} MB`,
      );
    }
    console.log(JSON.stringify({ cli_bench: rows }));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
