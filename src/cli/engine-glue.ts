/**
 * The CLI's only contact with planning and the engine (src/core/plan, src/core/engine, owned by engineer C).
 * TEMPORARY: until those modules land, building a plan fails with a clear internal error.
 */
import type { CompressionPlan, Target, WeightResult } from '../core/compress/types';
import { ShrinkrayError } from '../core/errors';
import type { LoadedModel } from '../core/model/types';
import type { ConfigDict } from './options';

export function buildPlan(_dicts: ConfigDict[], _model: LoadedModel, _target?: Target): CompressionPlan {
  throw new ShrinkrayError('internal', 'compression is not available yet: the plan builder (src/core/plan) has not landed');
}

export async function runEngine(
  _model: LoadedModel,
  _plan: CompressionPlan,
  _signal: AbortSignal,
  _onProgress: (done: number, total: number, label?: string) => void,
): Promise<Map<string, WeightResult>> {
  throw new ShrinkrayError('internal', 'compression is not available yet: the engine (src/core/engine) has not landed');
}
