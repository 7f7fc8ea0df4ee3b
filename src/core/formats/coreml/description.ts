/** The model's inputs, outputs and metadata (ModelDescription), for display. */
import type { LoadedModel } from '../../model/types';
import { readFields } from '../../proto/wire';
import type { CoreMLInternal } from './index';
import { ModelDescriptionT } from './schema';

export interface FeatureInfo {
  name: string;
  /** e.g. 'multiArray fp32 [1,3,32,32]', 'image 224×224', 'string', 'int64', 'dictionary' */
  type: string;
  description?: string;
}

export interface ModelDescriptionInfo {
  inputs: FeatureInfo[];
  outputs: FeatureInfo[];
  metadata: { shortDescription?: string; author?: string; license?: string; versionString?: string; userDefined: Record<string, string> };
}

const ARRAY_TYPES: Record<number, string> = { 65568: 'fp32', 65600: 'fp64', 131104: 'int32', 131080: 'int8', 65552: 'fp16' };

interface PFeature {
  name?: string;
  shortDescription?: string;
  type?: {
    multiArrayType?: { shape?: (number | string)[]; dataType?: number };
    imageType?: { width?: number | string; height?: number | string };
    int64Type?: unknown; doubleType?: unknown; stringType?: unknown; dictionaryType?: unknown; sequenceType?: unknown; stateType?: unknown;
  };
}

function feature(f: PFeature): FeatureInfo {
  const t = f.type ?? {};
  let type = 'unknown';
  if (t.multiArrayType) type = `multiArray ${ARRAY_TYPES[t.multiArrayType.dataType ?? 0] ?? 'unspecified'} [${(t.multiArrayType.shape ?? []).map(Number).join(',')}]`;
  else if (t.imageType) type = `image ${Number(t.imageType.width ?? 0)}×${Number(t.imageType.height ?? 0)}`;
  else if (t.int64Type) type = 'int64';
  else if (t.doubleType) type = 'double';
  else if (t.stringType) type = 'string';
  else if (t.dictionaryType) type = 'dictionary';
  else if (t.sequenceType) type = 'sequence';
  else if (t.stateType) type = 'state';
  return { name: f.name ?? '', type, description: f.shortDescription || undefined };
}

/** Decodes the root model's description; undefined when the model is not a Core ML one or has none. */
export function coremlDescription(model: LoadedModel): ModelDescriptionInfo | undefined {
  const internal = model.internal as CoreMLInternal | undefined;
  if (!internal?.modelBytes) return undefined;
  try {
    const f = readFields(internal.modelBytes).find((x) => x.no === 2 && x.wt === 2);
    if (!f) return undefined;
    const d = ModelDescriptionT.decode(internal.modelBytes.subarray(f.dataStart, f.dataEnd)) as unknown as {
      input?: PFeature[];
      output?: PFeature[];
      metadata?: { shortDescription?: string; author?: string; license?: string; versionString?: string; userDefined?: Record<string, string> };
    };
    const md = d.metadata ?? {};
    return {
      inputs: (d.input ?? []).map(feature),
      outputs: (d.output ?? []).map(feature),
      metadata: {
        shortDescription: md.shortDescription || undefined,
        author: md.author || undefined,
        license: md.license || undefined,
        versionString: md.versionString || undefined,
        userDefined: { ...(md.userDefined ?? {}) },
      },
    };
  } catch {
    return undefined;
  }
}
