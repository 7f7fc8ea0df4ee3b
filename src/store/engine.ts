/**
 * The page's side of the engine: plans become jobs (selectJobs), jobs run in the worker pool (compressJob),
 * results are cached by jobKey. A result with its representation ("full", for writing and overlays) also
 * serves a request for the numbers only ("lite").
 */
import * as Comlink from 'comlink';
import type { CompressionPlan, WeightResult } from '../core/compress/types';
import { jobKey, selectJobs, type Job } from '../core/engine';
import type { LoadedModel } from '../core/model/types';
import { getPool } from './pool';
import { useModel } from './model';
import { isFusedModel } from './fusion';
import { denseInput } from './locate';

/** Cache keys per loaded model: a fused model's results never answer for the original's, nor the reverse. */
function modelKey(model: LoadedModel): string {
  return `${useModel.getState().generation}${isFusedModel(model) ? 'f' : ''}`;
}

export interface WorkItem {
  id: string;
  key: string;
  job: Job;
}

export function planWork(model: LoadedModel, plan: CompressionPlan): { jobs: WorkItem[]; skipped: WeightResult[] } {
  const { jobs, skipped } = selectJobs(model, plan);
  return { jobs: jobs.map((job) => ({ id: job.id, key: jobKey(job), job })), skipped };
}

/** A result the cache already holds for this job (with or without its representation), or undefined. */
export function cachedResult(model: LoadedModel, item: WorkItem): WeightResult | undefined {
  const pool = getPool();
  const gen = modelKey(model);
  return pool.cached<WeightResult>(`full|${gen}|${item.key}`) ?? pool.cached<WeightResult>(`lite|${gen}|${item.key}`);
}

/** A `job:<what>` performance measure from a worker call's start to its answer (e2e/perf.spec.ts prints the schedule). */
function measureJob(what: string, start: number): void {
  if (typeof performance.measure === 'function') performance.measure(`job:${what}`, { start, end: performance.now() });
}

/**
 * `priority`: the current plan's jobs go before queued background work (candidates: -1). A weight's jobs prefer the
 * worker that last had that weight (pool affinity): its k-means memo then answers the same histogram's solves (the
 * 8-bit preset's DP gives the size budget's curve of that weight every smaller power of two).
 */
export function runJob(model: LoadedModel, item: WorkItem, full: boolean, signal?: AbortSignal, priority = 0): Promise<WeightResult> {
  const pool = getPool();
  const gen = modelKey(model);
  const fullKey = `full|${gen}|${item.key}`;
  const liteKey = `lite|${gen}|${item.key}`;
  const hit = pool.cached<WeightResult>(fullKey) ?? (full ? undefined : pool.cached<WeightResult>(liteKey));
  if (hit) return Promise.resolve(hit);
  return pool.run(
    async (api) => {
      const start = performance.now();
      const { input, transfer } = await denseInput(model, item.id);
      const r = await api.compress(Comlink.transfer(input, transfer), item.job, full);
      measureJob(`${item.job.name} ${item.job.label}`, start);
      return r;
    },
    { key: full ? fullKey : liteKey, signal, priority, affinity: `${gen}|${item.id}` },
  );
}

/**
 * Several jobs of one weight (candidates for the size budget) in one worker call: the tensor is read and
 * transferred once, and palettization at every bit width shares one histogram (workers/curve.ts).
 */
export function runCurve(model: LoadedModel, items: WorkItem[], signal?: AbortSignal, priority = -1): Promise<WeightResult[]> {
  const pool = getPool();
  const gen = modelKey(model);
  const key = `curve|${gen}|${items.map((i) => i.key).join('&')}`;
  const hit = pool.cached<WeightResult[]>(key);
  if (hit) return Promise.resolve(hit);
  return pool.run(
    async (api) => {
      const start = performance.now();
      const { input, transfer } = await denseInput(model, items[0].id);
      const r = await api.curve(Comlink.transfer(input, transfer), items.map((i) => i.job));
      measureJob(`${items[0].job.name} curve of ${items.length}`, start);
      return r;
    },
    { key, signal, priority, affinity: `${gen}|${items[0].id}` },
  );
}

/** Every job of a plan with its representation, for the writer (cached results cost nothing). */
export async function fullResults(model: LoadedModel, plan: CompressionPlan, signal?: AbortSignal): Promise<Map<string, WeightResult>> {
  const { jobs, skipped } = planWork(model, plan);
  const out = new Map<string, WeightResult>();
  for (const s of skipped) out.set(s.id, s);
  const done = await Promise.all(jobs.map((j) => runJob(model, j, true, signal)));
  jobs.forEach((j, i) => out.set(j.id, done[i]));
  const ordered = new Map<string, WeightResult>();
  for (const w of model.weights) {
    const r = out.get(w.id);
    if (r) ordered.set(w.id, r);
  }
  return ordered;
}
