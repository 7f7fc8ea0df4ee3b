/** Core ML writer (in progress). */
import { ShrinkrayError } from '../../errors';
import type { WeightResult } from '../../compress/types';
import type { LoadedModel, WrittenModel } from '../../model/types';
import type { WriteOptions } from '../write';

export async function writeCoreML(model: LoadedModel, _results: Map<string, WeightResult>, _opts: WriteOptions): Promise<WrittenModel> {
  throw new ShrinkrayError('internal', `${model.summary.fileName}: Core ML writer not available yet`);
}
