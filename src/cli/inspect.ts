/** `shrinkray inspect MODEL`: the summary and every weight, as a table or JSON. */
import type { LoadedModel, ModelSummary, WeightInfo } from '../core/model/types';
import { weightStats } from '../../workers/stats';
import { parseArgs, UsageError, type OptionSpec } from './args';
import { formatBytes, formatCount, formatNum, formatPct, table } from './format';
import { progressBar } from './progress';

export const INSPECT_USAGE = `Usage: shrinkray inspect MODEL [--json] [--stats]

Lists the model summary and every weight: name, consumer op type, shape, dtype, bytes on disk and any
compression already applied.

MODEL   an .mlpackage folder, an .mlpackage.zip, an .mlmodel, or an .onnx (external data files beside it)

Options:
  --json     print {summary, weights} as JSON instead of a table
  --stats    also compute min, max, mean, std, sparsity and distinct values of each weight (decompressed)
  -q, --quiet  no progress bar
  -h, --help   this help`;

const SPECS: OptionSpec[] = [
  { name: 'json', kind: 'flag' },
  { name: 'stats', kind: 'flag' },
  { name: 'quiet', short: 'q', kind: 'flag' },
  { name: 'help', short: 'h', kind: 'flag' },
];

export interface WeightStatsRow {
  min: number;
  max: number;
  mean: number;
  std: number;
  sparsity: number;
  unique: number;
}

export function compressionLabel(w: WeightInfo): string {
  const c = w.compression;
  if (!c) return '';
  const parts = [c.kind];
  if (c.nbits !== undefined) parts.push(`${c.nbits}-bit`);
  if (c.granularity) parts.push(c.granularity);
  return parts.join(' ');
}

export function summaryLines(s: ModelSummary): string[] {
  const lines = [
    `File:         ${s.fileName} (${formatBytes(s.fileBytes)})`,
    `Format:       ${s.format}, ${s.modelType}`,
  ];
  if (s.specificationVersion !== undefined) lines.push(`Spec version: ${s.specificationVersion}${s.os ? ` (${s.os})` : ''}`);
  if (s.opsets?.length) lines.push(`MIL opsets:   ${s.opsets.join(', ')}`);
  if (s.functions?.length) lines.push(`Functions:    ${s.functions.join(', ')}`);
  if (s.onnx) {
    const ops = s.onnx.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ');
    lines.push(`ONNX:         IR ${s.onnx.irVersion}, opsets ${ops}${s.onnx.producer ? `, producer ${s.onnx.producer}` : ''}`);
  }
  lines.push(`Weights:      ${formatCount(s.weightCount)} (${formatCount(s.totalParams)} parameters, ${formatBytes(s.totalWeightBytes)})`);
  const dt = Object.entries(s.bytesByDtype);
  if (dt.length) lines.push(`By dtype:     ${dt.map(([d, b]) => `${d} ${formatBytes(b)}`).join(', ')}`);
  if (s.note) lines.push(`Note:         ${s.note}`);
  return lines;
}

export function weightsTable(weights: WeightInfo[], stats?: Map<string, WeightStatsRow>): string {
  const headers = ['name', 'op type', 'shape', 'dtype', 'bytes', 'compression'];
  if (stats) headers.push('min', 'max', 'mean', 'std', 'sparsity', 'unique');
  const rows = weights.map((w) => {
    const r = [w.name, w.opType, `[${w.shape.join(',')}]`, w.dtype, formatCount(w.bytes), compressionLabel(w)];
    const s = stats?.get(w.id);
    if (stats) {
      if (s) r.push(formatNum(s.min), formatNum(s.max), formatNum(s.mean), formatNum(s.std), formatPct(s.sparsity), formatCount(s.unique));
      else r.push('', '', '', '', '', '');
    }
    return r;
  });
  return table(headers, rows, new Set(['bytes', 'min', 'max', 'mean', 'std', 'sparsity', 'unique']));
}

export async function computeStats(model: LoadedModel, quiet: boolean): Promise<Map<string, WeightStatsRow>> {
  const out = new Map<string, WeightStatsRow>();
  const bar = progressBar(!quiet);
  try {
    for (let i = 0; i < model.weights.length; i++) {
      const w = model.weights[i];
      bar.update(i, model.weights.length, w.name);
      const s = weightStats(await model.readFloat32(w.id), 1);
      out.set(w.id, { min: s.min, max: s.max, mean: s.mean, std: s.std, sparsity: s.sparsity, unique: s.unique });
    }
  } finally {
    bar.done();
  }
  return out;
}

export async function inspectCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const { positionals, values } = parseArgs(argv, SPECS);
  if (values.has('help')) {
    out(INSPECT_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `expected one MODEL, got ${positionals.length}` : 'missing MODEL');
  const { loadPath } = await import('../node/load');
  const model = await loadPath(positionals[0]);
  const stats = values.has('stats') ? await computeStats(model, values.has('quiet') || values.has('json')) : undefined;
  if (values.has('json')) {
    const weights = model.weights.map((w) => (stats ? { ...w, stats: stats.get(w.id) } : w));
    out(JSON.stringify({ summary: model.summary, weights }, null, 2));
    return 0;
  }
  out(summaryLines(model.summary).join('\n'));
  if (model.weights.length) out('\n' + weightsTable(model.weights, stats));
  return 0;
}
