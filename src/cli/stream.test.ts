/**
 * `shrinkray compress` on an .mlpackage ML program (the one-pass path, src/core/engine/stream.ts, for such models):
 * its folder and zip outputs hold exactly the files that runPlan + writeCoreML produce for the same plan, in the
 * same order in the zip, and the JSON report carries no representations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, REPO } from '../../tests/fixtures';
import { loadPath } from '../node/load';
import { fileSource } from '../node/fs-tree';
import { openZip } from '../core/io/zip';
import { outputBytes } from '../core/model/types';
import { runPlan } from '../core/engine/run';
import { writeCoreML } from '../core/formats/coreml/write';
import { buildPlan } from './engine-glue';
import { planTag } from './options';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sr-cli-stream-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const CONFIG = [
  { config_type: 'OpMagnitudePrunerConfig', global_config: { target_sparsity: 0.5 } },
  { config_type: 'OpPalettizerConfig', global_config: { mode: 'kmeans', nbits: 4, granularity: 'per_tensor' } },
];

describe('compress an .mlpackage in one pass', () => {
  it('writes the files writeCoreML writes, as a folder and as a zip', async () => {
    const input = fixture('synthetic/base_ios18.mlpackage');
    const cfg = join(tmp, 'plan.json');
    writeFileSync(cfg, JSON.stringify(CONFIG));
    const model = await loadPath(input);
    const plan = buildPlan(CONFIG, model, undefined);
    const w = await writeCoreML(model, await runPlan(model, plan), { plan, tag: planTag(plan) });
    for (const out of ['out.mlpackage', 'out.zip']) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'compress', input, '-o', join(tmp, out), '--config', cfg, '--json'], {
        cwd: REPO,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const rep = JSON.parse(r.stdout);
      expect(rep.totals.compressed).toBeGreaterThan(0);
      expect(rep.weights.every((x: object) => !('repr' in x))).toBe(true);
      if (out.endsWith('.zip')) {
        const tree = await openZip(fileSource(join(tmp, out)));
        expect(tree.paths()).toEqual(w.files.map((f) => `out.mlpackage/${f.path}`));
        for (const f of w.files) {
          const src = tree.get(`out.mlpackage/${f.path}`)!;
          expect(Buffer.from(await src.read(0, src.size)).equals(Buffer.from(await outputBytes(f))), f.path).toBe(true);
        }
      } else {
        expect(rep.outputBytes).toBe(w.files.reduce((s, f) => s + f.size, 0));
        for (const f of w.files) expect(readFileSync(join(tmp, out, f.path)).equals(Buffer.from(await outputBytes(f))), f.path).toBe(true);
      }
    }
  });
});
