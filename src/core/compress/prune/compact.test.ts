/** Compact fp16 SparseRepr: the contract's arrays built on read, the compact forms dropped when they may go stale. */
import { describe, expect, it } from 'vitest';
import { F16_TABLE, f32ToF16 } from '../../tensor/fp16';
import { packLSB } from '../../tensor/pack';
import type { SparseRepr } from '../types';
import { compactSparseF16, nonzeroCount, sparseStorage } from './compact';
import { reprBytes } from '../metrics';
import { BlobWriter } from '../../formats/coreml/blob';
import { emitRepr, ValueMaker } from '../../formats/coreml/emit';
import { reprBuffers } from '../../../../workers/transfer';

function sample(rows = 3, cols = 7): { mask: number[]; kept: number[]; sp: SparseRepr } {
  const n = rows * cols;
  const mask = Array.from({ length: n }, (_, i) => (i % 3 === 0 || i === n - 1 ? 1 : 0));
  const kept = mask.flatMap((m, i) => (m ? [f32ToF16((i - 10) / 64)] : [])).map((h) => h || 0x3c00);
  const sp = compactSparseF16([rows, cols], packLSB(mask, 1), Uint16Array.from(kept));
  return { mask, kept, sp };
}

async function blobBytes(b: BlobWriter): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of b.file('w.bin').chunks()) parts.push(c);
  const out = new Uint8Array(parts.reduce((t, p) => t + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('compact fp16 SparseRepr', () => {
  it('reads as the plain arrays; counts and byte sizes without building them', () => {
    const { mask, kept, sp } = sample();
    expect(nonzeroCount(sp)).toBe(kept.length);
    expect(reprBytes(sp)).toBe(Math.ceil(21 / 8) + 2 * kept.length);
    expect(sparseStorage(sp).maskBits).toEqual(packLSB(mask, 1));
    expect(Array.from(sparseStorage(sp).values16!)).toEqual(kept);
    expect(Array.from(sp.mask)).toEqual(mask);
    expect(Array.from(sp.values)).toEqual(kept.map((h) => F16_TABLE[h]));
    expect(sp.mask).toBe(sp.mask); // cached
    expect(Object.keys(sp)).toEqual(['kind', 'dtype', 'shape', 'mask', 'values']);
  });

  it('drops a compact form once its wide array was read, and both on assignment; copies carry none', () => {
    const a = sample().sp;
    void a.values;
    expect(sparseStorage(a).values16).toBeUndefined();
    expect(sparseStorage(a).maskBits).toBeDefined();
    void a.mask;
    expect(sparseStorage(a)).toEqual({ maskBits: undefined, values16: undefined });
    expect(nonzeroCount(a)).toBe(a.values.length);

    const b = sample().sp;
    b.values = new Float32Array(b.values.length).fill(2);
    expect(sparseStorage(b)).toEqual({});
    expect(b.values[0]).toBe(2);
    const c = sample().sp;
    const m = new Uint8Array(21);
    c.mask = m;
    expect(c.mask).toBe(m);
    expect(sparseStorage(c)).toEqual({});

    const d = sample().sp;
    const copy: SparseRepr = { ...d };
    expect(sparseStorage(copy)).toEqual({});
    expect(copy.mask).toEqual(d.mask);
    expect(structuredClone(sample().sp).values).toEqual(sample().sp.values);
  });

  it('crosses a worker boundary as the plain form (transfer list from reprBuffers, then structured clone)', () => {
    const { sp, mask, kept } = sample(8, 40);
    const buffers = reprBuffers(sp);
    expect(buffers.length).toBe(2); // mask and values, built for the transfer
    const copy = structuredClone(sp, { transfer: buffers });
    expect(Object.getOwnPropertyDescriptor(copy, 'values')?.get).toBeUndefined();
    expect(Array.from(copy.mask)).toEqual(mask);
    expect(Array.from(copy.values)).toEqual(kept.map((h) => F16_TABLE[h]));
    expect(sp.mask.byteLength).toBe(0); // transferred away, not copied
  });

  it('the Core ML emitter writes the same blobs and ops from the compact forms as from plain arrays', async () => {
    for (const target of ['iOS16', 'iOS18'] as const) {
      const { sp, mask } = sample(8, 40);
      const plain: SparseRepr = { kind: 'sparse', dtype: 'fp16', shape: [8, 40], mask: Uint8Array.from(mask), values: sample(8, 40).sp.values };
      const b1 = new BlobWriter();
      const b2 = new BlobWriter();
      const e1 = emitRepr(sp, 'w', target, new ValueMaker(b1, () => 9));
      const e2 = emitRepr(plain, 'w', target, new ValueMaker(b2, () => 9));
      // written without building values or mask
      expect(sparseStorage(sp).values16).toBeDefined();
      expect(sparseStorage(sp).maskBits).toBeDefined();
      expect(JSON.stringify(e1)).toBe(JSON.stringify(e2));
      const bytes = await blobBytes(b1);
      expect(bytes.length).toBeGreaterThan(64 + 2 * (64 + 40)); // values and mask are blobs
      expect(bytes).toEqual(await blobBytes(b2));
    }
  });
});
