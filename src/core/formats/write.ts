/** Entry point of the writers: the same format back, with the engine's results applied. */
import type { CompressionPlan, WeightResult } from '../compress/types';
import type { LoadedModel, WrittenModel } from '../model/types';
import { writeCoreML } from './coreml/write';
import { writeOnnx } from './onnx/write';

export interface WriteOptions {
  plan: CompressionPlan;
  /** suffix for the output name, e.g. 'pal4' */
  tag?: string;
}

export async function writeModel(model: LoadedModel, results: Map<string, WeightResult>, opts: WriteOptions): Promise<WrittenModel> {
  if (model.summary.format === 'onnx') return writeOnnx(model, results, opts);
  return writeCoreML(model, results, opts);
}
