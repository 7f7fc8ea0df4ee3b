/**
 * Rewrites a NeuralNetwork / NeuralNetworkClassifier / NeuralNetworkRegressor message with compressed
 * weights: each compressed WeightParams is replaced in place through the wire-level splicer, and every other
 * byte (unknown layers, class labels, preprocessing, update parameters, other fields of the WeightParams)
 * is kept as it was. Only the length prefixes on the path to a changed weight are re-encoded.
 */
import type { WeightResult } from '../../../compress/types';
import { encodeLenField, spliceFields } from '../../../proto/wire';
import { nnEntries } from './read';
import { encodeWeightParams, minSpecOf } from './weightparams';

/** A tree of edits keyed by field position: a subtree, or the new payload of a length-delimited field. */
type Edits = Map<number, Edits | Uint8Array>;

function apply(buf: Uint8Array, edits: Edits): Uint8Array {
  let idx = -1;
  return spliceFields(buf, (f, payload) => {
    idx++;
    const e = edits.get(idx);
    if (!e) return undefined;
    const inner = e instanceof Uint8Array ? e : apply(payload, e);
    return encodeLenField(f.no, inner);
  });
}

export function rewriteNeuralNetwork(
  nnBytes: Uint8Array,
  scope: string,
  results: Map<string, WeightResult>,
): { bytes: Uint8Array; minSpec: number } {
  const file = scope ? `neural network '${scope}'` : 'neural network';
  const root: Edits = new Map();
  let minSpec = 1;
  let changed = 0;
  for (const { info, site } of nnEntries(nnBytes, scope, file)) {
    const r = results.get(info.id);
    if (!r || r.status !== 'compressed' || !r.repr) continue;
    const where = `layer '${site.layer}' (${info.opType})`;
    const payload = encodeWeightParams(r.repr, nnBytes.subarray(site.start, site.end), where, file);
    minSpec = Math.max(minSpec, minSpecOf(r.repr));
    let node = root;
    for (let d = 0; d < site.path.length - 1; d++) {
      let next = node.get(site.path[d]);
      if (!next) {
        next = new Map();
        node.set(site.path[d], next);
      }
      node = next as Edits;
    }
    node.set(site.path[site.path.length - 1], payload);
    changed++;
  }
  return { bytes: changed ? apply(nnBytes, root) : nnBytes, minSpec };
}
