/**
 * Reusable big buffers for the streaming runner (engine/stream.ts) only. On some machines touching fresh memory
 * costs more than the work done in it (a fresh 16 MB buffer: ~7 ms of page faults), so the runner lends each
 * weight's big buffers (its dense read, the int8 codes of the symmetric kernel) from a pool and takes them back
 * once the weight's blob is written. Without a pool in scope (the app, workers, runPlan) every allocation is a
 * plain `new`, as before.
 *
 * Pooled buffers are not zeroed: a caller must write every byte of what it takes.
 */

/** Below this, buffers are plain allocations (fresh small buffers are cheap; the pool holds only big ones). */
export const SCRATCH_MIN_BYTES = 1 << 20;

export class ScratchPool {
  private free: ArrayBuffer[] = [];
  /** per owner, the buffers of each lending in order (an owner may be lent to again before it gives back) */
  private lent = new Map<string, ArrayBuffer[][]>();
  private batch: ArrayBuffer[] | undefined;

  /** Lends buffers taken from now on (until the next lendTo) to `owner`, as one batch given back by release. */
  lendTo(owner: string): void {
    this.batch = [];
    const l = this.lent.get(owner);
    if (l) l.push(this.batch);
    else this.lent.set(owner, [this.batch]);
  }

  /** `bytes` bytes (a view at offset 0 of a pooled buffer, old contents), lent to the current owner. */
  take(bytes: number): Uint8Array {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const c = this.free[i].byteLength;
      if (c >= bytes && (best < 0 || c < this.free[best].byteLength)) best = i;
    }
    let buf: ArrayBuffer;
    if (best >= 0) buf = this.free.splice(best, 1)[0];
    else {
      // nothing fits: the smaller free buffers are let go rather than held beside a bigger new one
      this.free.length = 0;
      buf = new ArrayBuffer(bytes);
    }
    this.batch?.push(buf);
    return new Uint8Array(buf, 0, bytes);
  }

  /** Lets go of free buffers if none holds `bytes` (before a forced collection, so that they are freed by it). */
  prepare(bytes: number): void {
    if (!this.free.some((b) => b.byteLength >= bytes)) this.free.length = 0;
  }

  /**
   * The buffers of `owner`'s oldest outstanding lending (`latest`: its newest) are free again: nothing may use
   * them any more.
   */
  release(owner: string, latest = false): void {
    const l = this.lent.get(owner);
    if (!l) return;
    const b = latest ? l.pop()! : l.shift()!;
    if (l.length === 0) this.lent.delete(owner);
    if (b === this.batch) this.batch = undefined;
    this.free.push(...b);
  }

  /** Drops every buffer (free and lent). */
  clear(): void {
    this.free.length = 0;
    this.lent.clear();
    this.batch = undefined;
  }
}

let current: ScratchPool | undefined;

/** Runs fn (synchronous) with `pool` lending kernels' big output buffers. */
export function withScratch<T>(pool: ScratchPool | undefined, fn: () => T): T {
  const prev = current;
  current = pool;
  try {
    return fn();
  } finally {
    current = prev;
  }
}

/** An Int8Array of n elements: pooled (old contents: the caller writes all n) inside withScratch, else new. */
export function scratchInt8(n: number): Int8Array {
  if (!current || n < SCRATCH_MIN_BYTES) return new Int8Array(n);
  const b = current.take(n);
  return new Int8Array(b.buffer, b.byteOffset, n);
}

/** A zeroed Uint8Array of n elements (as `new Uint8Array(n)`): pooled and cleared inside withScratch, else new. */
export function scratchZeroedU8(n: number): Uint8Array {
  if (!current || n < SCRATCH_MIN_BYTES) return new Uint8Array(n);
  return current.take(n).fill(0);
}
