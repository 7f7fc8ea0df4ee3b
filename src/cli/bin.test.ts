/**
 * bin/shrinkray.mjs, the command users run: it bundles the CLI with esbuild into node_modules/.cache (when stale)
 * and runs the bundle; its output and exit codes must equal the TypeScript CLI's (cli.test.ts runs the sources).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, REPO } from '../../tests/fixtures';

const BUNDLE = join(REPO, 'node_modules', '.cache', 'shrinkray', 'cli', 'main.mjs');

/** The sources through tsx, as cli.test.ts runs them (not imported from there: that would run its tests again). */
function cli(...args: string[]) {
  return run(['--import', 'tsx', 'src/cli/main.ts', ...args]);
}

function bin(...args: string[]) {
  return run(['bin/shrinkray.mjs', ...args]);
}

function run(argv: string[]) {
  const r = spawnSync(process.execPath, argv, { cwd: REPO, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bin/shrinkray.mjs', () => {
  it('runs the bundled CLI: same inspect output as the sources, bundle newer than every source file', () => {
    const model = fixture('synthetic/base_ios16.mlpackage');
    const a = bin('inspect', model, '--json');
    expect(a.code).toBe(0);
    expect(existsSync(BUNDLE)).toBe(true);
    expect(statSync(BUNDLE).mtimeMs).toBeGreaterThanOrEqual(statSync(join(REPO, 'src', 'cli', 'main.ts')).mtimeMs);
    const b = cli('inspect', model, '--json');
    expect(JSON.parse(a.stdout)).toEqual(JSON.parse(b.stdout));
  });

  it('keeps the exit codes and messages: bad input 1, usage 2', () => {
    const bad = bin('inspect', fixture('bad/empty.mlmodel'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/empty\.mlmodel/);
    expect(bad.stderr).toBe(cli('inspect', fixture('bad/empty.mlmodel')).stderr);
    const usage = bin('frobnicate');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/unknown command "frobnicate"/);
  });

  it('compresses to the same bytes as the sources', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shrinkray-bin-'));
    try {
      const model = fixture('synthetic/base_ios16.mlpackage');
      const a = bin('compress', model, '-o', join(dir, 'a.mlpackage'), '--palettize', '4');
      const b = cli('compress', model, '-o', join(dir, 'b.mlpackage'), '--palettize', '4');
      expect(a.code).toBe(0);
      expect(b.code).toBe(0);
      for (const f of ['Data/com.apple.CoreML/model.mlmodel', 'Data/com.apple.CoreML/weights/weight.bin']) {
        expect(readFileSync(join(dir, 'a.mlpackage', f)).equals(readFileSync(join(dir, 'b.mlpackage', f)))).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
