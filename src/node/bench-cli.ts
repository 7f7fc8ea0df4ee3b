/**
 * Measures the CLI end to end on the 100 MB benchmark model of the compression-engine issue (fp16 mlprogram,
 * conv1 256×3×3×3, conv2 512×256×3×3, conv3 1024×512×3×3, linear1 4096×1024, linear2/3 4096×4096,
 * linear4 1536×4096, a bias per output channel, values ~ N(0, 0.02)): wall time and peak RSS of the whole
 * `shrinkray compress` process as users run it (bin/shrinkray.mjs: Node start-up, the bundled CLI, load, compress,
 * write), via /usr/bin/time.
 *
 *   npx tsx src/node/bench-cli.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBenchModel } from '../bench/model';
import { writeOutput } from './write-output';

const RUNS: { op: string; flags: string[]; coremltools: { seconds: number; peakMb: number } }[] = [
  { op: 'palettize-kmeans-4-tensor', flags: ['--palettize', '4'], coremltools: { seconds: 9.3, peakMb: 790 } },
  { op: 'quantize-int8-channel', flags: ['--quantize', 'int8', '--per-channel'], coremltools: { seconds: 2.65, peakMb: 372 } },
  { op: 'prune-magnitude-50', flags: ['--prune', '0.5'], coremltools: { seconds: 3.2, peakMb: 575 } },
];

function size(p: string): number {
  const s = statSync(p);
  return s.isDirectory() ? readdirSync(p).reduce((t, e) => t + size(join(p, e)), 0) : s.size;
}

async function main(): Promise<void> {
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const root = mkdtempSync(join(tmpdir(), 'shrinkray-cli-bench-'));
  try {
    const model = join(root, 'BenchNet.mlpackage');
    await writeOutput(buildBenchModel(), model);
    const mb = size(model) / 1e6;
    console.log(`bench model: ${mb.toFixed(1)} MB on disk`);
    // bin/shrinkray.mjs bundles the CLI on its first run (and after source changes): build it before measuring
    spawnSync(process.execPath, ['bin/shrinkray.mjs', '--help'], { cwd: repo, stdio: 'ignore' });
    const rows = [];
    for (const run of RUNS) {
      const out = join(root, `${run.op}.mlpackage`);
      const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M %U %S', process.execPath, 'bin/shrinkray.mjs', 'compress', model, '-o', out, ...run.flags, '--json'], {
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
