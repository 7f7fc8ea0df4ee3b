/**
 * Order statistics of float32 magnitudes without sorting: for non-negative floats (and NaN, whose patterns
 * lie above +inf) the order of the values is the order of their bit patterns as unsigned integers, so the
 * k-th smallest is found with a histogram of the top 16 bits, then one of the low 16 bits inside the bucket
 * that holds rank k. The same element as Float32Array.prototype.sort() would put at index k (NaN last).
 */
import { CHUNK } from '../../tensor/pieces';

/**
 * The values of ranks lo and hi (lo <= hi < n) of |v| over the float32 bit patterns `u` (the sign bit is
 * ignored, so the raw weights can be passed as they are).
 */
export function ranksOfMagnitudes(u: Uint32Array, lo: number, hi: number): [number, number] {
  const n = u.length;
  const top = new Uint32Array(65536);
  for (let s = 0; s < n; s += CHUNK) topHistogram(u, s, n - s > CHUNK ? s + CHUNK : n, top);
  const [bLo, rLo] = bucketOf(top, lo);
  const [bHi, rHi] = bucketOf(top, hi);
  const cLo = new Uint32Array(65536);
  const cHi = bHi === bLo ? cLo : new Uint32Array(65536);
  for (let s = 0; s < n; s += CHUNK) lowHistograms(u, s, n - s > CHUNK ? s + CHUNK : n, bLo, bHi, cLo, cHi);
  const f = new Float32Array(1);
  const fu = new Uint32Array(f.buffer);
  fu[0] = ((bLo << 16) | bucketOf(cLo, rLo)[0]) >>> 0;
  const vLo = f[0];
  fu[0] = ((bHi << 16) | bucketOf(cHi, rHi)[0]) >>> 0;
  return [vLo, f[0]];
}

/** Elements [a, b): one call per piece of CHUNK elements (pieces.ts). */
function topHistogram(u: Uint32Array, a: number, b: number, top: Uint32Array): void {
  for (let i = a; i < b; i++) top[(u[i] & 0x7fffffff) >>> 16]++;
}

function lowHistograms(u: Uint32Array, a: number, b: number, bLo: number, bHi: number, cLo: Uint32Array, cHi: Uint32Array): void {
  for (let i = a; i < b; i++) {
    const x = u[i] & 0x7fffffff;
    const t = x >>> 16;
    if (t === bLo) cLo[x & 0xffff]++;
    else if (t === bHi) cHi[x & 0xffff]++;
  }
}

/** The bin holding rank k of a histogram, and k's rank inside that bin. */
function bucketOf(cnt: Uint32Array, k: number): [number, number] {
  let acc = 0;
  for (let b = 0; b < cnt.length; b++) {
    const c = cnt[b];
    if (acc + c > k) return [b, k - acc];
    acc += c;
  }
  throw new RangeError(`rank ${k} past the ${acc} counted values`);
}
