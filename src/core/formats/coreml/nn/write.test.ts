import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readJson } from '../../../../../tests/fixtures';
import { loadNN, sha256f32, nestedNetwork } from '../../../../../tests/nn/helpers';
import { readNeuralNetwork } from './read';
import { rewriteNeuralNetwork } from './write';
import { encodeWeightParams, parseWeightParams, quantCodes } from './weightparams';
import { compressNN } from '../../../compress/nn';
import type { Compressed, NNQuantizeConfig, WeightResult } from '../../../compress/types';
import { readFields, spliceFields, encodeLenField, encodeVarintField, concatBytes } from '../../../proto/wire';
import { packMSB, unpackMSB } from '../../../tensor/pack';
import { packMSBFast, unpackMSBFast } from './msb';
import { isShrinkrayError } from '../../../errors';

const configs = readJson('golden', 'configs.json').configs;
const INPUTS: Record<string, string[]> = {
  base_nn: ['synthetic', 'base_nn.mlmodel'],
  MNIST_CNN: ['real', 'coreml', 'MNIST_CNN.mlmodel'],
};

function result(id: string, repr: Compressed): WeightResult {
  return { id, status: 'compressed', repr, label: '', bytesBefore: 0, bytesAfter: 0, mse: 0, snrDb: 0, maxAbsErr: 0, sparsity: 0, distinct: 0, bitsPerWeight: 0 };
}

function compressAll(nn: Uint8Array, cfg: NNQuantizeConfig): { results: Map<string, WeightResult>; reprs: Map<string, Compressed> } {
  const r = readNeuralNetwork(nn, 'nn', 'in.mlmodel');
  const results = new Map<string, WeightResult>();
  const reprs = new Map<string, Compressed>();
  for (const w of r.weights) {
    const c = compressNN(r.readDense(w.id), w, cfg);
    reprs.set(w.id, c);
    results.set(w.id, result(w.id, c));
  }
  return { results, reprs };
}

/** Every field of a message other than those numbered in `skip`, as bytes. */
function otherFields(buf: Uint8Array, skip: number[]): string {
  return readFields(buf)
    .filter((f) => !skip.includes(f.no))
    .map((f) => Buffer.from(buf.subarray(f.start, f.end)).toString('hex'))
    .join('|');
}

describe('rewriteNeuralNetwork', () => {
  for (const [model, path] of Object.entries(INPUTS)) {
    const { nn } = loadNN(...path);
    for (const id of ['nn-linear-8', 'nn-linear-4', 'nn-linear-sym-8', 'nn-fp16', 'nn-linear-lut-2', 'nn-kmeans-4']) {
      it(`${model} ${id}: reads back with the golden storage, values and spec bump`, () => {
        const a = configs[id].calls[0].args;
        const cfg: NNQuantizeConfig = { type: 'NNQuantizeConfig', nbits: a.nbits, quantization_mode: a.quantization_mode };
        const { results, reprs } = compressAll(nn, cfg);
        const out = rewriteNeuralNetwork(nn, 'nn', results);
        expect(out.minSpec).toBe(a.nbits === 16 ? 2 : 3);
        const back = readNeuralNetwork(out.bytes, 'nn', 'out.mlmodel');
        const gjson = readJson('golden', model, `${id}.json`);
        expect(back.weights.map((w) => w.name)).toEqual(gjson.weights.map((w: any) => w.name));
        for (const g of gjson.weights) {
          const w = back.weights.find((x) => x.name === g.name)!;
          expect(w.dtype).toBe(g.dtype);
          expect(w.shape).toEqual(g.shape);
          expect(w.compression?.nbits).toBe(g.storage.nbits);
          expect(w.bytes - 4 * ((g.storage.scale_len ?? 0) + (g.storage.bias_len ?? 0) + (g.storage.lut_len ?? 0))).toBe(g.storage.bytes);
          const v = back.readFloat32(w.id);
          if (configs[id].deterministic) expect(sha256f32(v), g.name).toBe(g.values.sha256_f32le);
          // what we wrote is what we read
          const mine = reprs.get(w.id)!;
          const got = back.readRepr(w.id);
          expect(got.kind).toBe(mine.kind);
          if (got.kind === 'lut' && mine.kind === 'lut') {
            expect(Array.from(got.lut)).toEqual(Array.from(mine.lut));
            expect(Buffer.from(got.indices).equals(Buffer.from(mine.indices))).toBe(true);
          }
        }
        // everything but the layers (class labels, preprocessing, ...) is untouched
        expect(otherFields(out.bytes, [1])).toBe(otherFields(nn, [1]));
        if (configs[id].deterministic) {
          // stronger than the README asks: this message has no maps, and ours is byte-identical to coremltools'
          const golden = loadNN('golden', model, `${id}.mlmodel`).nn;
          expect(Buffer.from(out.bytes).equals(Buffer.from(golden))).toBe(true);
        }
      });
    }
  }

  it('changes nothing without results, and only the chosen weight otherwise', () => {
    const { nn } = loadNN('real', 'coreml', 'MNIST_CNN.mlmodel');
    expect(rewriteNeuralNetwork(nn, 'nn', new Map()).bytes).toBe(nn);
    const r = readNeuralNetwork(nn, 'nn', 'MNIST');
    const id = 'nn/dense_2.weights';
    const w = r.weights.find((x) => x.id === id)!;
    const c = compressNN(r.readDense(id), w, { type: 'NNQuantizeConfig', nbits: 6, quantization_mode: 'linear' });
    const out = rewriteNeuralNetwork(nn, 'nn', new Map([[id, result(id, c)]]));
    const back = readNeuralNetwork(out.bytes, 'nn', 'out');
    for (const x of back.weights) {
      if (x.id === id) {
        expect(x.dtype).toBe('linearQuantization');
        expect(x.compression?.nbits).toBe(6);
      } else {
        expect(x.dtype).toBe('float32');
        expect(sha256f32(back.readFloat32(x.id))).toBe(sha256f32(r.readFloat32(x.id)));
      }
    }
    // skipped results are ignored
    const skipped: WeightResult = { ...result(id, c), status: 'skipped', reason: 'test' };
    expect(rewriteNeuralNetwork(nn, 'nn', new Map([[id, skipped]])).bytes).toBe(nn);
  });

  it('keeps unknown fields byte for byte at every level', () => {
    const { nn } = loadNN('synthetic', 'base_nn.mlmodel');
    const junk = (no: number, s: string) => encodeLenField(no, new TextEncoder().encode(s));
    const WEIGHT_FIELDS: Record<number, number[]> = { 100: [90, 91], 140: [20, 21] }; // convolution, innerProduct
    // add unknown fields to the network, to every layer, to every layer's parameters and to every WeightParams
    const withJunk = spliceFields(
      nn,
      (f, layer) => {
        if (f.no !== 1) return undefined;
        const newLayer = spliceFields(
          layer,
          (g, params) => {
            if (!WEIGHT_FIELDS[g.no]) return undefined;
            const newParams = spliceFields(
              params,
              (h, wp) => {
                if (!WEIGHT_FIELDS[g.no].includes(h.no)) return undefined;
                return encodeLenField(h.no, concatBytes([wp, encodeVarintField(50, 1), junk(77, 'wp-extra')]));
              },
              [junk(4242, 'params-extra')],
            );
            return encodeLenField(g.no, newParams);
          },
          [junk(7777, 'layer-extra')],
        );
        return encodeLenField(1, newLayer);
      },
      [junk(9999, 'nn-extra'), encodeVarintField(6, 1)],
    );
    const before = readNeuralNetwork(withJunk, 'nn', 'junk');
    expect(before.weights.length).toBe(10);
    const { results } = compressAll(withJunk, { type: 'NNQuantizeConfig', nbits: 4, quantization_mode: 'linear_lut' });
    const out = rewriteNeuralNetwork(withJunk, 'nn', results).bytes;
    expect(otherFields(out, [1])).toBe(otherFields(withJunk, [1]));
    const layersIn = readFields(withJunk).filter((f) => f.no === 1);
    const layersOut = readFields(out).filter((f) => f.no === 1);
    expect(layersOut.length).toBe(layersIn.length);
    let checkedWp = 0;
    layersIn.forEach((li, k) => {
      const a = withJunk.subarray(li.dataStart, li.dataEnd);
      const b = out.subarray(layersOut[k].dataStart, layersOut[k].dataEnd);
      const pa = readFields(a).filter((f) => f.no >= 100);
      expect(otherFields(b, pa.map((f) => f.no))).toBe(otherFields(a, pa.map((f) => f.no)));
      for (const p of pa) {
        if (!WEIGHT_FIELDS[p.no]) {
          const same = readFields(b).find((f) => f.no === p.no)!;
          expect(Buffer.from(b.subarray(same.start, same.end)).equals(Buffer.from(a.subarray(p.start, p.end)))).toBe(true);
          continue;
        }
        const pb = readFields(b).find((f) => f.no === p.no)!;
        const A = a.subarray(p.dataStart, p.dataEnd);
        const B = b.subarray(pb.dataStart, pb.dataEnd);
        const weightNos = WEIGHT_FIELDS[p.no];
        expect(otherFields(B, weightNos)).toBe(otherFields(A, weightNos));
        expect(otherFields(B, weightNos)).toContain(Buffer.from('params-extra').toString('hex'));
        for (const no of weightNos) {
          const wa = readFields(A).find((f) => f.no === no)!;
          const wb = readFields(B).find((f) => f.no === no)!;
          const WA = A.subarray(wa.dataStart, wa.dataEnd);
          const WB = B.subarray(wb.dataStart, wb.dataEnd);
          expect(otherFields(WB, [1, 2, 30, 31, 40])).toBe(otherFields(WA, [1, 2, 30, 31, 40]));
          expect(otherFields(WB, [1, 2, 30, 31, 40])).toContain(Buffer.from('wp-extra').toString('hex'));
          checkedWp++;
        }
      }
    });
    expect(checkedWp).toBe(10);
    const after = readNeuralNetwork(out, 'nn', 'junk-out');
    expect(after.weights.every((w) => w.dtype === 'lookupTableQuantization')).toBe(true);
  });

  it('rewrites a weight inside a branch sub-network and nothing else', () => {
    const nn = nestedNetwork();
    const r = readNeuralNetwork(nn, 'm', 'nested');
    const id = 'm/br.elseBranch/fc.bias';
    const c = compressNN(r.readDense(id), r.weights.find((w) => w.id === id)!, { type: 'NNQuantizeConfig', nbits: 16, quantization_mode: 'linear' });
    const out = rewriteNeuralNetwork(nn, 'm', new Map([[id, result(id, c)]]));
    expect(out.minSpec).toBe(2);
    const back = readNeuralNetwork(out.bytes, 'm', 'nested-out');
    expect(back.weights.map((w) => w.id)).toEqual(r.weights.map((w) => w.id));
    for (const w of back.weights) {
      expect(w.dtype).toBe(w.id === id ? 'float16' : 'float32');
      expect(Array.from(back.readFloat32(w.id))).toEqual(Array.from(r.readFloat32(w.id)));
    }
    expect(out.bytes.length).toBe(nn.length - 4); // two fp32 values (8 bytes payload) became two fp16 (4 bytes)
  });

  it('refuses representations the format cannot hold, naming the layer', () => {
    const { nn } = loadNN('synthetic', 'base_nn.mlmodel');
    const id = 'nn/linear2.bias';
    const grouped: Compressed = {
      kind: 'lut',
      dtype: 'fp32',
      nbits: 1,
      shape: [128],
      indices: new Uint8Array(128),
      indicesShape: [128],
      lut: new Float32Array(4),
      lutShape: [2, 2, 1],
    };
    let err: unknown;
    try {
      rewriteNeuralNetwork(nn, 'nn', new Map([[id, result(id, grouped)]]));
    } catch (e) {
      err = e;
    }
    expect(isShrinkrayError(err) && err.code).toBe('invalid-option');
    expect((err as Error).message).toMatch(/layer 'linear2' \(innerProduct\.bias\).*one lookup table/);
  });
});

describe('MSB-first rawValue packing', () => {
  it('matches the examples of formats.md §6.3', () => {
    expect(Array.from(packMSB([1, 2, 3], 4))).toEqual([0x12, 0x30]);
    expect(Array.from(packMSB([1, 2, 3, 4, 5], 3))).toEqual([0x29, 0xca]);
    expect(Array.from(packMSB([1], 1))).toEqual([0x80]);
    expect(Array.from(packMSBFast([1, 2, 3], 4))).toEqual([0x12, 0x30]);
    expect(Array.from(packMSBFast([1, 2, 3, 4, 5], 3))).toEqual([0x29, 0xca]);
    expect(Array.from(packMSBFast([], 3))).toEqual([0]);
  });

  it('round-trips through a WeightParams for every bit width (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 300 }),
        fc.infiniteStream(fc.nat()),
        (nbits, n, s) => {
          const it = s[Symbol.iterator]();
          const codes = Uint8Array.from({ length: n }, () => it.next().value % (1 << nbits));
          expect(unpackMSB(packMSB(codes, nbits), nbits, n)).toEqual(codes);
          // the accumulator packer used by the writer gives the same bytes as the reference one
          expect(packMSBFast(codes, nbits)).toEqual(packMSB(codes, nbits));
          expect(unpackMSBFast(packMSB(codes, nbits), nbits, n)).toEqual(codes);
          const repr: Compressed = {
            kind: 'nnlinear',
            dtype: 'fp32',
            nbits,
            shape: [n],
            data: codes,
            scale: Float32Array.of(0.5),
            bias: Float32Array.of(-1),
            axis: 0,
          };
          const wp = encodeWeightParams(repr, new Uint8Array(0), 'x', 'f');
          const info = parseWeightParams(wp, 0, wp.length, 'x', 'f');
          expect(info.kind).toBe('linearQuantization');
          expect(info.data![1] - info.data![0]).toBe(Math.max(1, Math.ceil((n * nbits) / 8)));
          expect(quantCodes(wp, info, n, 'x', 'f')).toEqual(codes);
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });
});
