/**
 * The model the optimizer works on. A NeuralNetwork model whose plan quantizes below 16 bits is fused first
 * (conv/innerProduct + batchnorm/scale/bias, as coremltools' quantize_weights does: prepareForPlan); any other
 * plan or model works on the model as loaded. The fused model is computed once per loaded model and cached,
 * so that moving a control does not fuse again.
 */
import { describeError } from '../core/errors';
import { isNeuralNetworkModel, planQuantizesBelow16, prepareForPlan } from '../core/formats/coreml/nn/prepare';
import type { CompressionPlan } from '../core/compress/types';
import type { FileTree } from '../core/io/source';
import type { LoadedModel } from '../core/model/types';

export interface Working {
  /** the model to plan, compress, total and write */
  model: LoadedModel;
  fused: boolean;
  /** one line for the user when layers were fused */
  note: string | null;
  /** ids of the fused model's weights whose values differ from the loaded model's (the fused layers' weights) */
  changed: ReadonlySet<string> | null;
}

type Settled = { ok: true; value: Working } | { ok: false; error: string };
interface Entry {
  promise: Promise<Settled>;
  settled?: Settled;
}

/** original model → its fusion (pending or settled); weak, so a replaced model takes its fused copy with it */
const cache = new WeakMap<LoadedModel, Entry>();
/** fused models, for cache keys that must not mix them with the original's results */
const fusedModels = new WeakSet<LoadedModel>();

export const isFusedModel = (m: LoadedModel): boolean => fusedModels.has(m);

/** True when the plan needs the fused model (a NeuralNetwork model quantized below 16 bits). */
export function needsFusion(model: LoadedModel, plan: CompressionPlan): boolean {
  return isNeuralNetworkModel(model) && planQuantizesBelow16(plan);
}

/** Counts fusions started (for tests: a cached model is not fused twice). */
export let fusionRuns = 0;

/**
 * The model to work on for `plan`: synchronously when known (no fusion needed, or the fusion already done),
 * else a promise of the fusion (started once per model; later calls share it). A fusion that failed settles
 * with its error message.
 */
export function workingModel(model: LoadedModel, tree: FileTree | null, plan: CompressionPlan): Settled | Promise<Settled> {
  const plain: Settled = { ok: true, value: { model, fused: false, note: null, changed: null } };
  if (!tree || !needsFusion(model, plan)) return plain;
  let e = cache.get(model);
  if (!e) {
    fusionRuns++;
    const entry: Entry = {
      promise: prepareForPlan(tree, model, plan).then(
        (p): Settled => {
          if (!p.fusions.length || p.model === model) return plain;
          fusedModels.add(p.model);
          const layers = new Set(p.fusions.map((f) => f.layer));
          const changed = new Set(p.model.weights.filter((w) => layers.has(w.name.replace(/\.[^.]+$/, ''))).map((w) => w.id));
          return { ok: true, value: { model: p.model, fused: true, note: p.note ?? null, changed } };
        },
        (err): Settled => ({ ok: false, error: `Could not fuse the layers before quantizing: ${describeError(err)}` }),
      ),
    };
    entry.promise.then((s) => (entry.settled = s));
    cache.set(model, entry);
    e = entry;
  }
  return e.settled ?? e.promise;
}
