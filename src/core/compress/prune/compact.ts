/**
 * Compact storage of a pruned fp16 weight: the mask packed 1 bit per element (LSB-first, as MIL stores it)
 * and the nonzeros as fp16 bit patterns (as weight.bin stores them): 1/8 + 2 bytes per kept element instead
 * of 1 + 4. The SparseRepr contract's `mask` (one byte per element) and `values` (float32) are built from
 * them on first read and cached, so every consumer sees the usual arrays; a writer that stores the compact
 * forms takes them with sparseStorage() and the wide arrays are never built (the streaming writer, the CLI).
 *
 * The compact arrays are side information keyed by the object (as hints.ts), not properties: a copy made
 * with spread reads (so builds) mask and values and carries no compact arrays, so a copy whose values are
 * then replaced (joint forms) can never be written from stale fp16 patterns. A compact array is dropped as
 * soon as its wide form has been read (the reader may change the wide array in place); assigning either
 * property drops both.
 */
import { f16ArrayToF32 } from '../../tensor/fp16';
import { unpackLSB } from '../../tensor/pack';
import type { SparseRepr } from '../types';
import { numel } from '../numeric';

interface Compact {
  maskBits?: Uint8Array;
  values16?: Uint16Array;
  nonzeros: number;
}

const side = new WeakMap<SparseRepr, Compact>();

/**
 * A fp16 SparseRepr over `shape` from its packed mask (bit i = element i kept; padding bits of the last byte
 * 0) and the fp16 patterns of the kept elements in row-major order.
 */
export function compactSparseF16(shape: number[], maskBits: Uint8Array, values16: Uint16Array): SparseRepr {
  const n = numel(shape);
  if (maskBits.length !== Math.ceil(n / 8)) throw new RangeError(`packed mask of ${maskBits.length} bytes for ${n} elements`);
  const c: Compact = { maskBits, values16, nonzeros: values16.length };
  let mask: Uint8Array | undefined;
  let values: Float32Array | undefined;
  const sp: SparseRepr = {
    kind: 'sparse',
    dtype: 'fp16',
    shape,
    get mask(): Uint8Array {
      if (!mask) {
        mask = unpackLSB(c.maskBits!, 1, n);
        c.maskBits = undefined;
      }
      return mask;
    },
    set mask(m: Uint8Array) {
      mask = m;
      side.delete(sp);
    },
    get values(): Float32Array {
      if (!values) {
        values = f16ArrayToF32(c.values16!);
        c.values16 = undefined;
      }
      return values;
    },
    set values(v: Float32Array) {
      values = v;
      side.delete(sp);
    },
  };
  side.set(sp, c);
  return sp;
}

/** The compact forms of a SparseRepr that are still exact (none for plain objects). */
export function sparseStorage(r: SparseRepr): { maskBits?: Uint8Array; values16?: Uint16Array } {
  const c = side.get(r);
  return c ? { maskBits: c.maskBits, values16: c.values16 } : {};
}

/** The number of stored nonzeros (values.length), without building `values`. */
export function nonzeroCount(r: SparseRepr): number {
  return side.get(r)?.nonzeros ?? r.values.length;
}
