/**
 * The worker entry point: statistics and (once the engine is in) compression of one tensor per call.
 * Buffers arrive transferred; results go back transferred where they hold big arrays.
 */
import * as Comlink from 'comlink';
import { weightStats, type WeightStats } from './stats';

const api = {
  stats(values: Float32Array): WeightStats {
    return weightStats(values);
  },
};

export type WorkerApi = typeof api;

Comlink.expose(api);
