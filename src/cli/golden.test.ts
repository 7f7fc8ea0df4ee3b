/**
 * Every coremltools.optimize config of golden/configs.json, given to the CLI as a `--config` file built from
 * the recorded call (in process, through `main`): refused where coremltools refused, otherwise an output with
 * coremltools' structure whose values equal the golden ones (deterministic configs) or whose k-means error is
 * no worse (SSE rule).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, readJson } from '../../tests/fixtures';
import { loadPath } from '../node/load';
import { main } from './main';

interface Call { api: string; op_config: string; args: Record<string, unknown>; joint_compression: boolean }
interface Applied { input: string; expected_error: boolean; inspect?: string; sse_by_weight?: Record<string, number> }
interface Config { calls: Call[]; deterministic: boolean; applied_to: Record<string, Applied> }

const CONFIGS = readJson('golden/configs.json').configs as Record<string, Config>;
const CASES: [string, string][] = [];
for (const [id, c] of Object.entries(CONFIGS)) {
  if (!c.calls.every((x) => x.api.startsWith('coremltools.optimize.coreml.'))) continue; // NN quantization_utils: no dict form
  for (const model of Object.keys(c.applied_to)) CASES.push([id, model]);
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sr-golden-cli-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (s) => out.push(s), (s) => err.push(s));
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

const sha = (v: Float32Array) => createHash('sha256').update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)).digest('hex');

describe('golden configs through `shrinkray compress --config`', () => {
  it('covers the optimize configs', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  it.each(CASES)('%s on %s', async (id, model) => {
    const cfg = CONFIGS[id];
    const a = cfg.applied_to[model];
    const cfgPath = join(tmp, `${id}.${model}.json`);
    writeFileSync(cfgPath, JSON.stringify(cfg.calls.map((c) => ({ config_type: c.op_config, global_config: c.args }))));
    const input = fixture(a.input);
    const out = join(tmp, `${model}.${id}.${a.input.endsWith('.mlmodel') ? 'mlmodel' : 'mlpackage'}`);
    const r = await run(['compress', input, '-o', out, '--config', cfgPath, '--quiet']);

    if (a.expected_error) {
      expect([1, 2], r.stderr).toContain(r.code);
      expect(r.stderr).toMatch(/^shrinkray: error: /);
      expect(existsSync(out)).toBe(false);
      return;
    }
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const golden = readJson(a.inspect!);
    const got = await loadPath(out);
    expect(got.summary.specificationVersion).toBe(golden.specification_version);
    expect(got.summary.opsets).toEqual(golden.opsets);
    const base = await loadPath(input);
    for (const gw of golden.weights) {
      const w = got.weights.find((x) => x.name === gw.name);
      expect(w, gw.name).toBeDefined();
      expect(w!.opType, gw.name).toBe(gw.op_type);
      expect(w!.compression?.opChain ?? undefined, gw.name).toEqual(gw.op_chain ?? undefined);
      const v = await got.readFloat32(w!.id);
      const sse = a.sse_by_weight?.[gw.base_name];
      if (cfg.deterministic || sse === undefined) {
        expect(sha(v), `${gw.name} values`).toBe(gw.values.sha256_f32le);
      } else {
        const ow = base.weights.find((x) => x.name === gw.base_name)!;
        const orig = await base.readFloat32(ow.id);
        let s = 0;
        for (let i = 0; i < orig.length; i++) s += (orig[i] - v[i]) ** 2;
        expect(s, `${gw.name} SSE`).toBeLessThanOrEqual(sse * (1 + 1e-6));
      }
    }
  });
});
