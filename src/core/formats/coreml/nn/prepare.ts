/**
 * What a NeuralNetwork model goes through before planning, as coremltools' `quantize_weights` does: for any
 * mode below 16 bits it first runs `_optimize_nn`, fusing convolution / innerProduct layers with the
 * batchnorm, scale or bias layer that follows them (fuse.ts). prepareForPlan returns the fused model when
 * the plan would quantize a NeuralNetwork model below 16 bits, so the inventory that is compressed and
 * reported is the fused one; otherwise the model is returned as it is. Used by the CLI and the app.
 */
import type { CompressionPlan } from '../../../compress/types';
import { toNNConfig } from '../../../compress/nn/index';
import type { FileTree } from '../../../io/source';
import type { LoadedModel } from '../../../model/types';
import { configsOf } from '../../../plan/validate';
import { loadModel } from '../../index';
import type { Fusion } from './fuse';
import { fuseTree } from './fuse-tree';

export type { Fusion };

export interface PreparedModel {
  /** the model to plan, compress and write: the fused one when layers were fused, else the one given */
  model: LoadedModel;
  /** the tree `model` was loaded from */
  tree: FileTree;
  /** layer pairs fused (empty when nothing was) */
  fusions: Fusion[];
  /** one line for the user when layers were fused */
  note?: string;
}

/** A NeuralNetwork model (or a pipeline holding one): its weights carry the NN channel axis. */
export function isNeuralNetworkModel(model: LoadedModel): boolean {
  return model.summary.format === 'mlmodel' && model.weights.some((w) => !!w.nn);
}

/** True when some config of the plan turns into a NeuralNetwork quantization below 16 bits. */
export function planQuantizesBelow16(plan: CompressionPlan): boolean {
  const first = plan.steps[0];
  if (!first) return false; // only the first step applies to NeuralNetwork models
  return configsOf(first).some((c) => {
    const nc = toNNConfig(c);
    return !('skip' in nc) && nc.nbits < 16;
  });
}

/** "93 convolution+batchnorm, 2 innerProduct+bias" */
function kinds(fusions: Fusion[]): string {
  const n = new Map<string, number>();
  for (const f of fusions) n.set(f.kind, (n.get(f.kind) ?? 0) + 1);
  return [...n].map(([k, c]) => `${c} ${k}`).join(', ');
}

/**
 * The model to plan with: for a NeuralNetwork model whose plan quantizes below 16 bits, the model with its
 * conv/innerProduct + batchnorm/scale/bias pairs fused (loaded again from the fused bytes); otherwise
 * `model` itself. `tree` is the tree `model` was loaded from.
 */
export async function prepareForPlan(tree: FileTree, model: LoadedModel, plan: CompressionPlan): Promise<PreparedModel> {
  if (!isNeuralNetworkModel(model) || !planQuantizesBelow16(plan)) return { model, tree, fusions: [] };
  const fused = await fuseTree(tree);
  if (!fused.fusions.length) return { model, tree, fusions: [] };
  const m = await loadModel(fused.tree);
  const n = fused.fusions.length;
  const note = `${n} layer${n === 1 ? ' was' : 's were'} fused into the layer before ${n === 1 ? 'it' : 'them'} before quantizing, as coremltools' quantize_weights does (${kinds(fused.fusions)})`;
  return { model: m, tree: fused.tree, fusions: fused.fusions, note };
}
