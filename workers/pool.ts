/**
 * A pool of workers, one job per worker at a time. A job that is aborted while queued is dropped; one that
 * is aborted while running has its worker terminated at once and a fresh one spawned in its place (as
 * Squoosh's worker bridge does), so stale work never holds up new work. Results are cached by key, so
 * asking again for a key already computed (a slider moved back) resolves without any work.
 *
 * The pool knows nothing about Comlink or Web Workers: `create` returns a slot's API and how to end it,
 * which keeps the scheduling testable in Node with fake workers.
 */

export interface PoolWorker<API> {
  api: API;
  terminate(): void;
}

export interface PoolStatus {
  queued: number;
  running: number;
  /** jobs finished (ok or failed) since the last reset of the counters */
  done: number;
  /** jobs submitted since the last reset of the counters (not counting cache hits) */
  submitted: number;
}

export interface RunOptions {
  /** cache key: a finished result under this key is returned without work; concurrent asks share one job */
  key?: string;
  signal?: AbortSignal;
  /** queued jobs of higher priority start first (same priority: in order); default 0 */
  priority?: number;
  /**
   * jobs with the same affinity prefer the worker that started the last of them (a worker keeps per-weight state
   * such as the k-means memo): a free worker takes, among the queued jobs of the highest priority, the first that
   * prefers it or no worker that is free; one whose preferred worker is busy rather than stay idle
   */
  affinity?: string;
}

export class AbortError extends Error {
  constructor(message = 'aborted') {
    super(message);
    this.name = 'AbortError';
  }
}

export function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

interface Job<API> {
  task: (api: API) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
  slot?: Slot<API>;
  key?: string;
  priority: number;
  affinity?: string;
}

interface Slot<API> {
  worker: PoolWorker<API> | null;
  job: Job<API> | null;
}

export class WorkerPool<API> {
  readonly size: number;
  private slots: Slot<API>[];
  private queue: Job<API>[] = [];
  private cache = new Map<string, unknown>();
  private inflight = new Map<string, Promise<unknown>>();
  private listeners = new Set<(s: PoolStatus) => void>();
  private counters = { done: 0, submitted: 0 };
  /** workers created so far (tests read it to see respawns) */
  spawned = 0;
  private closed = false;

  /** affinity → the slot that started the last job with it (oldest first, bounded) */
  private lastSlot = new Map<string, Slot<API>>();
  private cacheBytes = 0;
  private sizes = new Map<string, number>();

  /**
   * @param maxCache most cached results kept (oldest evicted first)
   * @param sizeOf bytes a cached result holds (e.g. its typed arrays); with maxCacheBytes, bounds the cache's memory
   */
  constructor(
    private create: () => PoolWorker<API>,
    size: number,
    private maxCache = 2000,
    private sizeOf: (v: unknown) => number = () => 0,
    private maxCacheBytes = Infinity,
  ) {
    this.size = Math.max(1, Math.floor(size));
    this.slots = Array.from({ length: this.size }, () => ({ worker: null, job: null }));
  }

  /** Runs `task` on a free worker. Rejects with AbortError if `signal` aborts before it finishes. */
  run<T>(task: (api: API) => Promise<T>, opts: RunOptions = {}): Promise<T> {
    const { key, signal } = opts;
    const priority = opts.priority ?? 0;
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    if (key !== undefined && this.cache.has(key)) return Promise.resolve(this.cached<T>(key) as T);
    if (signal?.aborted) return Promise.reject(new AbortError());
    if (key !== undefined && this.inflight.has(key) && !signal) return this.inflight.get(key) as Promise<T>;

    const p = new Promise<T>((resolve, reject) => {
      const job: Job<API> = { task, resolve: resolve as (v: unknown) => void, reject, signal, key, priority, affinity: opts.affinity };
      if (signal) {
        job.onAbort = () => this.abortJob(job);
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.counters.submitted++;
      // before the first queued job of lower priority (FIFO among equals)
      let at = this.queue.length;
      while (at > 0 && this.queue[at - 1].priority < priority) at--;
      this.queue.splice(at, 0, job);
      this.pump();
    });
    if (key !== undefined) {
      this.inflight.set(key, p);
      const clear = () => {
        if (this.inflight.get(key) === p) this.inflight.delete(key);
      };
      p.then(clear, clear);
    }
    return p;
  }

  cached<T>(key: string): T | undefined {
    if (!this.cache.has(key)) return undefined;
    // most recently used last: eviction takes the least recently used
    const v = this.cache.get(key);
    this.cache.delete(key);
    this.cache.set(key, v);
    return v as T;
  }

  /** bytes held by cached results (as sizeOf counts them) */
  cachedBytes(): number {
    return this.cacheBytes;
  }

  private remember(key: string, value: unknown): void {
    const size = this.sizeOf(value);
    if (this.cache.has(key)) this.forget(key);
    if (size > this.maxCacheBytes) return;
    while (this.cache.size > 0 && (this.cache.size >= this.maxCache || this.cacheBytes + size > this.maxCacheBytes)) {
      this.forget(this.cache.keys().next().value as string);
    }
    this.cache.set(key, value);
    this.sizes.set(key, size);
    this.cacheBytes += size;
  }

  private forget(key: string): void {
    this.cache.delete(key);
    this.cacheBytes -= this.sizes.get(key) ?? 0;
    this.sizes.delete(key);
  }

  status(): PoolStatus {
    return {
      queued: this.queue.length,
      running: this.slots.filter((s) => s.job).length,
      done: this.counters.done,
      submitted: this.counters.submitted,
    };
  }

  /** Counts restart from zero (a new batch of work, for a progress bar). */
  resetCounters(): void {
    this.counters = { done: 0, submitted: this.queue.length + this.slots.filter((s) => s.job).length };
    this.emit();
  }

  subscribe(fn: (s: PoolStatus) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  clearCache(): void {
    this.cache.clear();
    this.sizes.clear();
    this.cacheBytes = 0;
  }

  /** Terminates every worker and rejects every pending job. */
  close(): void {
    this.closed = true;
    for (const j of this.queue.splice(0)) this.finish(j, undefined, new AbortError('worker pool closed'));
    for (const s of this.slots) {
      if (s.job) this.finish(s.job, undefined, new AbortError('worker pool closed'));
      s.worker?.terminate();
      s.worker = null;
      s.job = null;
    }
  }

  /** Index of the queued job `slot` takes now, or -1 (RunOptions.affinity). */
  private pick(slot: Slot<API>): number {
    const top = this.queue[0].priority;
    let steal = -1;
    for (let i = 0; i < this.queue.length && this.queue[i].priority === top; i++) {
      const a = this.queue[i].affinity;
      const pref = a === undefined ? undefined : this.lastSlot.get(a);
      if (pref === undefined || pref === slot) return i;
      if (pref.job && steal < 0) steal = i;
    }
    // every job of this priority prefers another worker: one whose worker is busy, not one whose worker is free
    return steal;
  }

  private pump(): void {
    // passes until no free slot takes a job: a slot that left a job to its free preferred slot may take another
    // once that slot is busy
    for (let started = true; started && this.queue.length > 0; ) {
      started = false;
      for (const slot of this.slots) {
        if (this.queue.length === 0) break;
        if (slot.job) continue;
        const at = this.pick(slot);
        if (at < 0) continue;
        this.start(slot, this.queue.splice(at, 1)[0]);
        started = true;
      }
    }
    this.emit();
  }

  private start(slot: Slot<API>, job: Job<API>): void {
    if (job.affinity !== undefined) {
      this.lastSlot.delete(job.affinity);
      this.lastSlot.set(job.affinity, slot);
      if (this.lastSlot.size > 10000) this.lastSlot.delete(this.lastSlot.keys().next().value as string);
    }
    if (!slot.worker) {
      slot.worker = this.create();
      this.spawned++;
    }
    slot.job = job;
    job.slot = slot;
    const worker = slot.worker;
    let out: Promise<unknown>;
    try {
      out = job.task(worker.api);
    } catch (e) {
      out = Promise.reject(e);
    }
    out.then(
      (v) => this.settle(slot, job, v, undefined),
      (e) => this.settle(slot, job, undefined, e ?? new Error('worker job failed')),
    );
  }

  private settle(slot: Slot<API>, job: Job<API>, value: unknown, error: unknown): void {
    if (slot.job !== job) return; // aborted: the slot already moved on
    slot.job = null;
    job.slot = undefined;
    if (error === undefined && job.key !== undefined) this.remember(job.key, value);
    this.finish(job, value, error);
    this.pump();
  }

  private finish(job: Job<API>, value: unknown, error: unknown): void {
    if (job.signal && job.onAbort) job.signal.removeEventListener('abort', job.onAbort);
    this.counters.done++;
    if (error !== undefined) job.reject(error);
    else job.resolve(value);
    this.emit();
  }

  private abortJob(job: Job<API>): void {
    const qi = this.queue.indexOf(job);
    if (qi >= 0) {
      this.queue.splice(qi, 1);
      this.finish(job, undefined, new AbortError());
      return;
    }
    const slot = job.slot;
    if (!slot || slot.job !== job) return; // already finished
    // Stop the work at once: end this worker; the next job gets a fresh one.
    slot.worker?.terminate();
    slot.worker = null;
    slot.job = null;
    job.slot = undefined;
    this.finish(job, undefined, new AbortError());
    this.pump();
  }

  private emit(): void {
    if (this.listeners.size === 0) return;
    const s = this.status();
    for (const fn of this.listeners) fn(s);
  }
}
