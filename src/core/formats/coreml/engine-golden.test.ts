/**
 * End to end with the engine: every ML-program config of configs.json run by the kernels (engineer C) on
 * the base model, written by this writer and read back, against coremltools' output: same spec and opset,
 * same op types in the same places, same storage dtypes/shapes, exact values for deterministic configs and
 * the SSE bound for k-means ones.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixture, readJson } from '../../../../tests/fixtures';
import { runPlan } from '../../engine';
import { jointPlan, opConfigFromDict } from '../../plan';
import { compareToGolden, opSequence, storageDiffs, type GoldenWeight } from '../../../../tests/coreml/golden';
import { loadPath, reload } from '../../../../tests/coreml/util';
import { writeCoreML } from './write';

interface Cfg {
  models: Record<string, { kind: string; input: string; configs: string[] }>;
  configs: Record<string, {
    deterministic: boolean;
    calls: { op_config: string; args: Record<string, unknown> }[];
    applied_to: Record<string, { sse_by_weight?: Record<string, number> }>;
  }>;
}

const cfg = readJson<Cfg>('golden', 'configs.json');
const cases = Object.entries(cfg.models)
  .filter(([, m]) => m.kind === 'mlprogram')
  .flatMap(([name, m]) => m.configs.filter((c) => existsSync(fixture('golden', name, `${c}.mlpackage`))).map((c) => [name, m.input, c] as const));

describe('engine + writer reproduce coremltools for every ML-program config', () => {
  for (const [name, input, c] of cases) {
    it(`${name} / ${c}`, async () => {
      const gj = readJson<{ specification_version: number; opsets: string[]; weights: GoldenWeight[] }>('golden', name, `${c}.json`);
      const gold = await loadPath(fixture('golden', name, `${c}.mlpackage`));
      const base = await loadPath(fixture(input));
      const cc = cfg.configs[c];
      const plan = jointPlan(cc.calls.map((k) => opConfigFromDict(k.op_config, k.args)), gj.specification_version >= 9 ? 'iOS18' : 'iOS16');
      const results = await runPlan(base, plan);
      const out = await reload(await writeCoreML(base, results, { plan, tag: c }));
      expect(out.summary.specificationVersion).toBe(gj.specification_version);
      expect(out.summary.opsets).toEqual(gj.opsets);
      expect(opSequence(out)).toEqual(opSequence(gold));
      const diffs: string[] = [];
      for (const gw of gj.weights) {
        const w = out.weights.find((x) => x.name === gw.name);
        if (!w) diffs.push(`missing ${gw.name}`);
        else diffs.push(...storageDiffs(out, w.id, gw));
      }
      expect(diffs).toEqual([]);
      if (cc.deterministic) {
        expect(await compareToGolden(out, gj)).toEqual([]);
      } else {
        const sse = cc.applied_to[name].sse_by_weight ?? {};
        expect(Object.keys(sse).length).toBeGreaterThan(0);
        for (const [bn, bound] of Object.entries(sse)) {
          const w = out.weights.find((x) => x.baseName === bn)!;
          const a = await base.readFloat32(base.weights.find((x) => x.name === bn)!.id);
          const b = await out.readFloat32(w.id);
          let s = 0;
          for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
          expect(s).toBeLessThanOrEqual(bound * (1 + 1e-6));
        }
      }
    });
  }
});
