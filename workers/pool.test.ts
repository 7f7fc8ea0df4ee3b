import { describe, expect, it } from 'vitest';
import { WorkerPool, isAbort, type PoolWorker } from './pool';

/** A fake worker: each call waits until the test releases it; terminate() marks it dead. */
class FakeWorker {
  static all: FakeWorker[] = [];
  dead = false;
  pending: { resolve: (v: number) => void; x: number }[] = [];
  calls = 0;
  constructor() {
    FakeWorker.all.push(this);
  }
  api = {
    square: (x: number) =>
      new Promise<number>((resolve) => {
        this.calls++;
        this.pending.push({ resolve, x });
      }),
  };
  /** completes the oldest pending call (a dead worker never answers) */
  release(): void {
    const p = this.pending.shift();
    if (p && !this.dead) p.resolve(p.x * p.x);
  }
}

function makePool(size: number) {
  FakeWorker.all = [];
  return new WorkerPool<FakeWorker['api']>(() => {
    const w = new FakeWorker();
    const pw: PoolWorker<FakeWorker['api']> = { api: w.api, terminate: () => (w.dead = true) };
    return pw;
  }, size);
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('WorkerPool', () => {
  it('runs at most `size` jobs at once and queues the rest in order', async () => {
    const pool = makePool(2);
    const results: number[] = [];
    const ps = [1, 2, 3, 4].map((x) => pool.run((api) => api.square(x)).then((v) => results.push(v)));
    await tick();
    expect(pool.status()).toMatchObject({ running: 2, queued: 2 });
    expect(FakeWorker.all.length).toBe(2);
    FakeWorker.all[0].release();
    await tick();
    // job 3 went to the worker that finished
    expect(FakeWorker.all[0].pending.map((p) => p.x)).toEqual([3]);
    FakeWorker.all[1].release();
    await tick();
    FakeWorker.all[0].release();
    FakeWorker.all[1].release();
    await Promise.all(ps);
    expect(results).toEqual([1, 4, 9, 16]);
    expect(pool.status()).toMatchObject({ running: 0, queued: 0, done: 4, submitted: 4 });
    expect(FakeWorker.all.length).toBe(2); // workers are reused
  });

  it('queued jobs of higher priority start first, in order among equals', async () => {
    const pool = makePool(1);
    const order: number[] = [];
    const run = (x: number, priority?: number) => pool.run((api) => api.square(x), { priority }).then(() => order.push(x));
    const ps = [run(1, -1), run(2, -1), run(3, -1), run(4), run(5, 1), run(6)];
    for (let i = 0; i < 6; i++) {
      await tick();
      FakeWorker.all[0].release();
    }
    await Promise.all(ps);
    // 1 was already running; then priority 1, then the default ones, then the background ones
    expect(order).toEqual([1, 5, 4, 6, 2, 3]);
  });

  it('aborting a running job terminates its worker at once and respawns for the next job', async () => {
    const pool = makePool(1);
    const ctl = new AbortController();
    const a = pool.run((api) => api.square(5), { signal: ctl.signal });
    const b = pool.run((api) => api.square(6));
    await tick();
    const first = FakeWorker.all[0];
    expect(first.calls).toBe(1);
    ctl.abort();
    await expect(a).rejects.toSatisfy(isAbort);
    expect(first.dead).toBe(true);
    await tick();
    expect(pool.spawned).toBe(2);
    const second = FakeWorker.all[1];
    expect(second.pending.map((p) => p.x)).toEqual([6]);
    second.release();
    await expect(b).resolves.toBe(36);
  });

  it('aborting a queued job drops it without touching any worker', async () => {
    const pool = makePool(1);
    const ctl = new AbortController();
    const a = pool.run((api) => api.square(2));
    const b = pool.run((api) => api.square(3), { signal: ctl.signal });
    await tick();
    ctl.abort();
    await expect(b).rejects.toSatisfy(isAbort);
    expect(FakeWorker.all[0].dead).toBe(false);
    FakeWorker.all[0].release();
    await expect(a).resolves.toBe(4);
    expect(FakeWorker.all[0].calls).toBe(1);
  });

  it('an already aborted signal rejects without queueing', async () => {
    const pool = makePool(1);
    const ctl = new AbortController();
    ctl.abort();
    await expect(pool.run((api) => api.square(2), { signal: ctl.signal })).rejects.toSatisfy(isAbort);
    expect(FakeWorker.all.length).toBe(0);
  });

  it('caches results by key: a second ask for the same key does no work', async () => {
    const pool = makePool(1);
    const p1 = pool.run((api) => api.square(7), { key: 'w1|pal4' });
    const p2 = pool.run((api) => api.square(7), { key: 'w1|pal4' }); // shares the job in flight
    await tick();
    FakeWorker.all[0].release();
    await expect(p1).resolves.toBe(49);
    await expect(p2).resolves.toBe(49);
    expect(FakeWorker.all[0].calls).toBe(1);
    expect(pool.cached('w1|pal4')).toBe(49);
    await expect(pool.run((api) => api.square(7), { key: 'w1|pal4' })).resolves.toBe(49);
    expect(FakeWorker.all[0].calls).toBe(1);
  });

  it('does not cache failures or aborted jobs', async () => {
    const pool = makePool(1);
    await expect(pool.run(() => Promise.reject(new Error('boom')), { key: 'k' })).rejects.toThrow('boom');
    expect(pool.cached('k')).toBeUndefined();
    const ctl = new AbortController();
    const p = pool.run((api) => api.square(3), { key: 'k2', signal: ctl.signal });
    await tick();
    ctl.abort();
    await expect(p).rejects.toSatisfy(isAbort);
    expect(pool.cached('k2')).toBeUndefined();
  });

  it('a dead worker answering late does not disturb the job now running on its slot', async () => {
    const pool = makePool(1);
    const ctl = new AbortController();
    const a = pool.run((api) => api.square(2), { signal: ctl.signal });
    await tick();
    const first = FakeWorker.all[0];
    ctl.abort();
    await expect(a).rejects.toSatisfy(isAbort);
    const b = pool.run((api) => api.square(9));
    await tick();
    first.dead = false; // pretend the old call resolves after termination
    first.release();
    await tick();
    expect(pool.status().running).toBe(1);
    FakeWorker.all[1].release();
    await expect(b).resolves.toBe(81);
  });

  it('reports status to subscribers and closes cleanly', async () => {
    const pool = makePool(2);
    const seen: number[] = [];
    pool.subscribe((s) => seen.push(s.running + s.queued));
    const a = pool.run((api) => api.square(1));
    const b = pool.run((api) => api.square(2));
    const c = pool.run((api) => api.square(3));
    await tick();
    expect(Math.max(...seen)).toBe(3);
    pool.close();
    await expect(a).rejects.toSatisfy(isAbort);
    await expect(c).rejects.toSatisfy(isAbort);
    await expect(b).rejects.toSatisfy(isAbort);
    expect(FakeWorker.all.every((w) => w.dead)).toBe(true);
  });

  it('bounds the cache by bytes and evicts the least recently used result first', async () => {
    FakeWorker.all = [];
    const pool = new WorkerPool<FakeWorker['api']>(
      () => {
        const w = new FakeWorker();
        return { api: w.api, terminate: () => (w.dead = true) };
      },
      1,
      100,
      (v) => Number(v), // a result "holds" as many bytes as its value
      100,
    );
    const run = async (key: string, x: number) => {
      const p = pool.run((api) => api.square(x), { key });
      await tick();
      FakeWorker.all[0].release();
      return p;
    };
    await run('a', 5); // 25 bytes
    await run('b', 6); // 36 bytes → 61
    expect(pool.cachedBytes()).toBe(61);
    pool.cached('a'); // a is now the most recently used
    await run('c', 7); // 49 bytes: 110 > 100, so b (least recently used) goes
    expect(pool.cached('b')).toBeUndefined();
    expect(pool.cached('a')).toBe(25);
    expect(pool.cached('c')).toBe(49);
    expect(pool.cachedBytes()).toBe(74);
    await run('d', 11); // 121 bytes: more than the whole budget, not cached, nothing evicted
    expect(pool.cached('d')).toBeUndefined();
    expect(pool.cachedBytes()).toBe(74);
  });

  it('affinity: a job goes to the worker that started the last job of its affinity, in a different order than queued', async () => {
    const pool = makePool(2);
    const a1 = pool.run((api) => api.square(1), { affinity: 'a' });
    const b1 = pool.run((api) => api.square(2), { affinity: 'b' });
    await tick();
    const [w0, w1] = FakeWorker.all;
    expect(w0.pending.map((p) => p.x)).toEqual([1]);
    expect(w1.pending.map((p) => p.x)).toEqual([2]);
    w0.release();
    w1.release();
    await Promise.all([a1, b1]);
    // queued b before a, both workers free: each goes to its own worker
    const b2 = pool.run((api) => api.square(3), { affinity: 'b' });
    const a2 = pool.run((api) => api.square(4), { affinity: 'a' });
    await tick();
    expect(w0.pending.map((p) => p.x)).toEqual([4]);
    expect(w1.pending.map((p) => p.x)).toEqual([3]);
    w0.release();
    w1.release();
    expect(await Promise.all([a2, b2])).toEqual([16, 9]);
    expect(FakeWorker.all.length).toBe(2);
  });

  it('affinity: a free worker takes a job whose preferred worker is busy rather than stay idle, highest priority first', async () => {
    const pool = makePool(2);
    const first = [pool.run((api) => api.square(1), { affinity: 'a' }), pool.run((api) => api.square(2), { affinity: 'b' })];
    await tick();
    const [w0, w1] = FakeWorker.all;
    // both busy: a job of no affinity at priority 0, then one of affinity b at priority 1
    const low = pool.run((api) => api.square(5), { priority: 0 });
    const b2 = pool.run((api) => api.square(6), { affinity: 'b', priority: 1 });
    w0.release();
    await first[0];
    await tick();
    // b's worker is busy: w0 takes the b job (priority 1) rather than stay idle, before the job of priority 0
    expect(w0.pending.map((p) => p.x)).toEqual([6]);
    w1.release();
    await first[1];
    await tick();
    expect(w1.pending.map((p) => p.x)).toEqual([5]);
    w0.release();
    w1.release();
    expect(await Promise.all([low, b2])).toEqual([25, 36]);
    expect(pool.status()).toMatchObject({ running: 0, queued: 0 });
  });
});
