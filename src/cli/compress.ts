/** `shrinkray compress MODEL -o OUT ...`: load, plan, run the engine, write, report. */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { CompressionPlan, Target, WeightResult } from '../core/compress/types';
import type { LoadedModel } from '../core/model/types';
import { parseArgs, UsageError } from './args';
import { formatBytes, formatCount, formatNum, table } from './format';
import { COMPRESS_SPECS, COMPRESS_USAGE, flagsToDicts, planTag, withWeightThreshold } from './options';
import { progressBar } from './progress';

const TARGETS: Target[] = ['iOS16', 'iOS17', 'iOS18'];

/** Reads a --config file (JSON or YAML): one coremltools OptimizationConfig dict, a list of them, or {target, steps}. */
export function readConfigFile(path: string): unknown {
  if (!existsSync(path)) throw new UsageError(`--config: ${path} not found`);
  const text = readFileSync(path, 'utf8');
  const yaml = /\.ya?ml$/i.test(path);
  try {
    return yaml ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--config: ${path} is not valid ${yaml ? 'YAML' : 'JSON'}: ${(e as Error).message}`);
  }
}

export interface CompressReport {
  input: string;
  output: string;
  outputBytes: number;
  inputBytes: number;
  target: Target;
  /** the plan as coremltools dicts (reusable with --config) */
  config: Record<string, unknown>;
  seconds: number;
  weights: Omit<WeightResult, 'repr'>[];
  /** NeuralNetwork layer pairs fused before quantizing below 16 bits (coremltools' quantize_weights) */
  fused?: { layer: string; removed: string; kind: string }[];
  totals: {
    weights: number;
    compressed: number;
    skipped: number;
    weightBytesBefore: number;
    weightBytesAfter: number;
  };
}

function resultRows(model: LoadedModel, results: Map<string, WeightResult>): string {
  const rows = model.weights.map((w) => {
    const r = results.get(w.id);
    if (!r) return [w.name, 'missing', 'no result from the engine', formatCount(w.bytes), '', ''];
    const what = r.status === 'compressed' ? r.label : `${r.reason ?? 'no reason given'}`;
    return [
      w.name,
      r.status,
      what,
      formatCount(r.bytesBefore),
      formatCount(r.bytesAfter),
      r.status === 'compressed' ? (Number.isFinite(r.snrDb) ? r.snrDb.toFixed(1) : 'inf') : '',
    ];
  });
  return table(['weight', 'status', 'method / reason', 'before', 'after', 'SNR dB'], rows, new Set(['before', 'after', 'SNR dB']));
}

export async function compressCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const parsed = parseArgs(argv, COMPRESS_SPECS);
  const v = parsed.values;
  if (v.has('help')) {
    out(COMPRESS_USAGE);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    throw new UsageError(parsed.positionals.length ? `expected one MODEL, got ${parsed.positionals.join(' ')}` : 'missing MODEL');
  }
  const input = parsed.positionals[0];
  const output = v.get('output');
  if (typeof output !== 'string' || output === '') throw new UsageError('missing -o OUT');
  if (resolve(output) === resolve(input)) throw new UsageError(`-o ${output} is the input itself; write to a new name`);
  let target: Target | undefined;
  if (v.has('target')) {
    const t = String(v.get('target'));
    const hit = TARGETS.find((x) => x.toLowerCase() === t.toLowerCase());
    if (!hit) throw new UsageError(`--target must be one of ${TARGETS.join(', ')} (got "${t}")`);
    target = hit;
  }
  const configPath = v.has('config') ? String(v.get('config')) : undefined;
  let raw: unknown = configPath ? readConfigFile(configPath) : flagsToDicts(parsed);
  if (configPath && v.has('weight-threshold')) raw = withWeightThreshold(raw, v.get('weight-threshold') as number);
  const json = v.has('json');
  const quiet = v.has('quiet');

  // Model code is loaded only once the command line is known to be good (fast --help and usage errors).
  const { treeForPath } = await import('../node/load');
  const { loadModel } = await import('../core/formats');
  const { prepareForPlan } = await import('../core/formats/coreml/nn/prepare');
  const { buildPlan, runEngine, canStream, streamEngine } = await import('./engine-glue');
  const { streamedName } = await import('../core/engine/stream');
  const { forcedCollector } = await import('../node/collect');
  const { planToDict } = await import('../core/plan');
  const { writeModel } = await import('../core/formats/write');
  const { writeOutput, writeStreamedOutput } = await import('../node/write-output');
  // Options are checked before the model is read (a big model takes a while); the target check follows once
  // the model's own target is known.
  buildPlan(raw, undefined, 'iOS18', configPath);
  const tree = treeForPath(input);
  const loaded = await loadModel(tree);
  const inputBytes = loaded.summary.fileBytes;
  let plan: CompressionPlan = buildPlan(raw, loaded, target, configPath);
  // NeuralNetwork models quantized below 16 bits: the fused model, as coremltools' quantize_weights does
  const prep = await prepareForPlan(tree, loaded, plan);
  const model = prep.model;
  if (model !== loaded) plan = buildPlan(raw, model, target, configPath);
  if (prep.note && !quiet && !json) out(`Fused: ${prep.note}`);

  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  const bar = progressBar(!quiet && !json);
  const t0 = performance.now();
  let results = new Map<string, WeightResult>();
  let written;
  const onProgress = (done: number, total: number) => bar.update(done, total);
  const tag = planTag(plan);
  try {
    if (canStream(model, plan)) {
      // an .mlpackage ML program: compressed and written weight by weight (peak memory about the biggest weight's)
      const name = streamedName(model, tag);
      written = await writeStreamedOutput(
        name,
        output,
        async (sink) => {
          const run = await streamEngine(model, plan, sink, { signal: ac.signal, onProgress, tag, collect: forcedCollector() });
          bar.done();
          results = run.results;
          return run.written;
        },
        ac.signal,
      );
    } else {
      results = await runEngine(model, plan, ac.signal, onProgress);
      bar.done();
      const wm = await writeModel(model, results, { plan, tag });
      written = await writeOutput(wm, output, ac.signal);
    }
  } finally {
    bar.done();
    process.removeListener('SIGINT', onSigint);
  }
  const seconds = (performance.now() - t0) / 1000;

  const list = model.weights.map((w) => results.get(w.id)).filter((r): r is WeightResult => !!r);
  const compressed = list.filter((r) => r.status === 'compressed');
  const report: CompressReport = {
    input,
    output: written.path,
    inputBytes,
    outputBytes: written.bytes,
    target: plan.target,
    config: planToDict(plan),
    seconds,
    weights: list.map(({ repr: _repr, ...rest }) => rest),
    ...(prep.fusions.length ? { fused: prep.fusions.map((f) => ({ layer: f.layer, removed: f.removed, kind: f.kind })) } : {}),
    totals: {
      weights: model.weights.length,
      compressed: compressed.length,
      skipped: list.length - compressed.length,
      weightBytesBefore: list.reduce((s, r) => s + r.bytesBefore, 0),
      weightBytesAfter: list.reduce((s, r) => s + r.bytesAfter, 0),
    },
  };
  if (json) {
    out(JSON.stringify(report, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x), 2));
    return 0;
  }
  if (!quiet) {
    out(resultRows(model, results));
    const t = report.totals;
    const pct = t.weightBytesBefore ? (100 * (1 - t.weightBytesAfter / t.weightBytesBefore)).toFixed(1) : '0';
    out('');
    out(`Weights: ${t.compressed} compressed, ${t.skipped} skipped of ${t.weights}`);
    out(`Weight bytes: ${formatBytes(t.weightBytesBefore)} -> ${formatBytes(t.weightBytesAfter)} (-${pct}%)`);
    out(`File: ${formatBytes(report.inputBytes)} -> ${formatBytes(report.outputBytes)}, target ${plan.target}, ${formatNum(seconds, 3)} s`);
    if (t.compressed === 0) err('shrinkray: warning: no weight was compressed (see the reasons above)');
  }
  if (!quiet) out(`Wrote ${written.path}`);
  return 0;
}

