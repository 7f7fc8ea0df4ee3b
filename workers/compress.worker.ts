/**
 * The worker entry point: statistics and compression of one tensor per call (the engine's pure compressJob).
 * Tensors arrive transferred, or as a File and a byte range that the worker reads itself (workers/read.ts); the compressed representation goes back transferred, or is dropped when the
 * caller only needs the numbers (candidate curves for the trade-off chart and the size budget).
 */
import * as Comlink from 'comlink';
import type { WeightResult } from '../src/core/compress/types';
import { compressJob, type Job } from '../src/core/engine/job';
import type { DenseTensor } from '../src/core/model/types';
import type { Compressed } from '../src/core/compress/types';
import { decompress } from '../src/core/compress/decompress';
import { weightStats, weightStatsF16, type WeightStats } from './stats';
import { reprBuffers } from './transfer';
import { curveResults } from './curve';
import { denseOf, type DenseInput } from './read';

const api = {
  stats(values: Float32Array): WeightStats {
    return weightStats(values);
  },
  /** statistics of an already compressed weight: decompressed here, off the page's main thread */
  statsRepr(repr: Compressed): WeightStats {
    return weightStats(decompress(repr));
  },
  /** statistics of a dense stored tensor, off the page's main thread: fp16 from a histogram of its bit patterns */
  async statsDense(input: DenseInput): Promise<WeightStats> {
    const dense: DenseTensor = await denseOf(input);
    if (dense.dtype === 'fp16') {
      return weightStatsF16(dense.data as Uint16Array, 64);
    }
    return weightStats(dense.data as Float32Array);
  },
  async compress(input: DenseInput, job: Job, keepRepr: boolean): Promise<WeightResult> {
    const r = compressJob(await denseOf(input), job);
    if (!keepRepr) {
      const { repr: _drop, ...rest } = r;
      return rest;
    }
    return Comlink.transfer(r, reprBuffers(r.repr));
  },
  /** several candidate jobs of one weight from one tensor (the size budget's per-layer curve); numbers only */
  async curve(input: DenseInput, jobs: Job[]): Promise<WeightResult[]> {
    return curveResults(await denseOf(input), jobs);
  },
};

export type WorkerApi = typeof api;

Comlink.expose(api);
