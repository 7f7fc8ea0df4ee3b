/**
 * The worker entry point: statistics and compression of one tensor per call (the engine's pure compressJob).
 * Inputs arrive transferred; the compressed representation goes back transferred, or is dropped when the
 * caller only needs the numbers (candidate curves for the trade-off chart and the size budget).
 */
import * as Comlink from 'comlink';
import type { WeightResult } from '../src/core/compress/types';
import { compressJob, type Job } from '../src/core/engine/job';
import type { DenseTensor } from '../src/core/model/types';
import { weightStats, type WeightStats } from './stats';
import { reprBuffers } from './transfer';

const api = {
  stats(values: Float32Array): WeightStats {
    return weightStats(values);
  },
  compress(dense: DenseTensor, job: Job, keepRepr: boolean): WeightResult {
    const r = compressJob(dense, job);
    if (!keepRepr) {
      const { repr: _drop, ...rest } = r;
      return rest;
    }
    return Comlink.transfer(r, reprBuffers(r.repr));
  },
};

export type WorkerApi = typeof api;

Comlink.expose(api);
