/**
 * The optimizer's scheduling, with the engine mocked (no worker pool in Node): a budget candidate that is the same
 * job as one of the current plan's takes that job's result instead of running it again, and runs it itself when the
 * current job is cancelled; totals come first, from shapes and configs.
 */
import { describe, expect, it, vi } from 'vitest';
import type { WeightResult } from '../core/compress/types';
import { loadModel } from '../core/formats';
import { pathTree } from '../node/fs-tree';
import { fixture } from '../../tests/fixtures';
import { AbortError } from '../../workers/pool';

const calls: { kind: 'job' | 'curve'; keys: string[]; full?: boolean }[] = [];
let delayMs = 5;

vi.mock('./engine', async (orig) => {
  const real = await orig<typeof import('./engine')>();
  const fake = (id: string): WeightResult => ({ id, status: 'compressed', bytesBefore: 100, bytesAfter: 10, snrDb: 40 }) as unknown as WeightResult;
  const later = <T,>(v: T, signal?: AbortSignal) =>
    new Promise<T>((ok, no) => {
      if (signal?.aborted) return no(new AbortError());
      const t = setTimeout(() => ok(v), delayMs);
      signal?.addEventListener('abort', () => {
        clearTimeout(t);
        no(new AbortError());
      });
    });
  return {
    ...real,
    cachedResult: () => undefined,
    runJob: (_m: unknown, item: { id: string; key: string }, full: boolean, signal?: AbortSignal) => {
      calls.push({ kind: 'job', keys: [item.key], full });
      return later(fake(item.id), signal);
    },
    runCurve: (_m: unknown, items: { id: string; key: string }[], signal?: AbortSignal) => {
      calls.push({ kind: 'curve', keys: items.map((i) => i.key) });
      return later(
        items.map((i) => fake(i.id)),
        signal,
      );
    },
  };
});

const { useModel } = await import('./model');
const { useOptimize, candidateList, isBudgetOption, totalsOf } = await import('./optimize');

const until = async (f: () => boolean) => {
  for (let i = 0; i < 2000 && !f(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(f()).toBe(true);
};

async function show(path: string) {
  const tree = pathTree(path);
  const model = await loadModel(tree);
  useModel.setState((s) => ({ model, tree, generation: s.generation + 1 }));
  return model;
}

const budgetReady = (ids: string[]) => () => {
  const st = useOptimize.getState();
  const cands = candidateList(st.settings).filter(isBudgetOption);
  return cands.every((c) => ids.every((id) => st.candidates[c.id]?.[id]));
};

describe('optimizer scheduling', () => {
  it('the 8-bit preset: the budget’s 8-bit option is the current job’s result, never a second job; totals are exact at once', async () => {
    const model = await show(fixture('synthetic', 'base_ios16.mlpackage'));
    calls.length = 0;
    delayMs = 5;
    useOptimize.getState().usePreset('pal8');
    // totals first: before any result, the exact size after is known for every job
    const st0 = useOptimize.getState();
    expect(Object.keys(st0.results).length).toBeLessThan(model.weights.length);
    const t0 = totalsOf(model, st0.results, st0.predicted);
    expect(t0.unknown + t0.estimated).toBe(0);
    expect(t0.exactPending).toBeGreaterThan(0);
    expect(t0.bytes).toBeLessThan(model.summary.totalWeightBytes);
    await until(budgetReady(model.weights.map((w) => w.id)));
    const current = calls.filter((c) => c.kind === 'job' && c.full).flatMap((c) => c.keys);
    expect(current.length).toBeGreaterThan(0);
    const candidateKeys = calls.filter((c) => !(c.kind === 'job' && c.full)).flatMap((c) => c.keys);
    for (const k of current) expect(candidateKeys).not.toContain(k);
    // and the budget's 8-bit option has a result for every weight the current plan compresses
    const pal8 = useOptimize.getState().candidates.pal8;
    for (const k of current) expect(pal8[k.split('|')[0]]).toBeDefined();
  });

  it('a current job cancelled by the next change: the candidate it stood for is computed on its own', async () => {
    const model = await show(fixture('synthetic', 'base_ios16.mlpackage'));
    calls.length = 0;
    delayMs = 40;
    useOptimize.getState().usePreset('pal8');
    // before any job finishes: another preset cancels the 8-bit jobs
    useOptimize.getState().usePreset('q8');
    await until(budgetReady(model.weights.map((w) => w.id)));
    const firstFull = calls.filter((c) => c.kind === 'job' && c.full);
    const pal8Keys = firstFull.flatMap((c) => c.keys).filter((k) => k.includes('OpPalettizerConfig') || k.includes('nbits'));
    expect(pal8Keys.length).toBeGreaterThan(0);
    // each cancelled 8-bit job was asked again as a numbers-only candidate job
    const lite = calls.filter((c) => c.kind === 'job' && !c.full).flatMap((c) => c.keys);
    for (const k of pal8Keys) expect(lite).toContain(k);
  });
});
