/** The page's worker pool: navigator.hardwareConcurrency workers (capped), created lazily. */
import * as Comlink from 'comlink';
import { WorkerPool } from '../../workers/pool';
import type { WorkerApi } from '../../workers/compress.worker';

export type Api = Comlink.Remote<WorkerApi>;

const MAX_WORKERS = 8;
/** cached results (with their compressed arrays) kept for instant slider moves, at most this many bytes */
const CACHE_BYTES = 768 * 1024 * 1024;

/** bytes of the typed arrays a cached value holds (a WeightResult's representation, or statistics) */
export function resultBytes(v: unknown, depth = 0): number {
  if (!v || typeof v !== 'object' || depth > 5) return 0;
  if (ArrayBuffer.isView(v)) return v.byteLength;
  let n = 0;
  for (const x of Object.values(v)) n += resultBytes(x, depth + 1);
  return n;
}
let pool: WorkerPool<Api> | null = null;

export function workerCount(): number {
  const hc = typeof navigator !== 'undefined' ? navigator.hardwareConcurrency || 1 : 1;
  return Math.max(1, Math.min(MAX_WORKERS, hc));
}

export function getPool(): WorkerPool<Api> {
  if (!pool) {
    pool = new WorkerPool<Api>(() => {
      const w = new Worker(new URL('../../workers/compress.worker.ts', import.meta.url), { type: 'module', name: 'shrinkray' });
      const api = Comlink.wrap<WorkerApi>(w);
      return { api, terminate: () => w.terminate() };
    }, workerCount(), 4000, resultBytes, CACHE_BYTES);
  }
  return pool;
}

/** A typed array ready to transfer: its own whole buffer (a view into a bigger buffer is copied first). */
export function transferable<T extends Float32Array | Uint16Array | Uint8Array>(a: T): T {
  if (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer) return a;
  return a.slice() as T;
}
