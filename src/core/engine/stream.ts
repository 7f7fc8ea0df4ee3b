/**
 * Streaming runner for the CLI and the benchmark: an .mlpackage ML program is compressed and written in one pass,
 * weight by weight in program order. When the Core ML writer's rewrite reaches a weight, the weight is read
 * (readDense: its blob alone), compressed (compressJob), emitted, and its blob bytes go to the output at once;
 * only the per-weight metrics are kept (the representation is dropped). weight.bin is written first (its blob
 * count patched at the end), then the package's other files, Manifest.json and model.mlmodel. The bytes are those
 * of runPlan + writeCoreML (stream.test.ts compares them); the app keeps using those two.
 */
import { ShrinkrayError } from '../errors';
import type { LoadedModel } from '../model/types';
import type { CompressionPlan, WeightResult } from '../compress/types';
import { BlobWriter } from '../formats/coreml/blob';
import type { CoreMLInternal } from '../formats/coreml/index';
import { checkResult, coremlInternal, outputName, packageFiles, rewriteCoreML, weightsPathOf, type ResultSource } from '../formats/coreml/write';
import { SCRATCH_MIN_BYTES, ScratchPool, withScratch } from '../io/scratch';
import { selectJobs } from './select';
import { compressJob, type Job } from './job';
import { inWeightOrder, requireWeights, type RunOptions } from './run';

/** One output file being written: chunks in order, plus a rewrite of bytes already written (weight.bin's header). */
export interface SinkFile {
  /** The runner reuses the chunk's memory once the returned promise resolves: a sink that keeps bytes copies them. */
  write(chunk: Uint8Array): Promise<void>;
  patch(offset: number, bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** Where a streamed model goes: files are opened one at a time, each closed before the next is opened. */
export interface OutputSink {
  open(path: string): Promise<SinkFile>;
}

export interface StreamedModel {
  format: 'mlpackage';
  /** e.g. `Model.pal4.mlpackage` */
  name: string;
  /** the files written, in writeCoreML's order (not the order they were written in) */
  files: { path: string; size: number }[];
}

export interface StreamOptions extends RunOptions {
  /** suffix for the output name, as WriteOptions.tag */
  tag?: string;
  /**
   * A garbage collection the host can force (Node: the CLI and the benchmark). The runner calls it when a big
   * weight's buffers have just become garbage (its dense values once compressed; its representation and blob
   * bytes once written), so that they are freed before the next big allocation instead of whenever the engine's
   * heuristics get to them.
   */
  collect?: () => void;
}

/**
 * Weights worth forced collections (before they are read, after they are compressed): those of at least half the
 * biggest weight's dense bytes, and at least this many bytes. The peak is set by the biggest weights; a collection
 * costs a few milliseconds.
 */
const COLLECT_MIN_BYTES = 4 << 20;

export interface StreamRun {
  /** per weight, in the model's weight order, without representations */
  results: Map<string, WeightResult>;
  written: StreamedModel;
  /** seconds spent reading weights, compressing them, in the sink (writing), and in forced collections */
  seconds: { read: number; compress: number; write: number; collect: number };
}

/** Why a model cannot be streamed under a plan (undefined: it can). Such models go through runPlan + writeModel. */
export function streamBlocker(model: LoadedModel, plan: CompressionPlan): string | undefined {
  if (model.summary.format !== 'mlpackage') return 'only .mlpackage models are written while compressing';
  const internal = model.internal as CoreMLInternal | undefined;
  if (!internal?.entries) return 'not a model loaded by the Core ML reader';
  if (model.weights.length === 0) return 'no compressible weights';
  const { jobs } = selectJobs(model, plan);
  if (jobs.some((j) => internal.entries.get(j.id)?.kind !== 'mil')) return 'NeuralNetwork weights are rewritten from a finished result map';
  return undefined;
}

/** The output name of a streamed model (known before anything is compressed). */
export function streamedName(model: LoadedModel, tag?: string): string {
  return outputName(coremlInternal(model), tag);
}

const now = () => performance.now();

export async function compressToSink(model: LoadedModel, plan: CompressionPlan, sink: OutputSink, opts: StreamOptions = {}): Promise<StreamRun> {
  requireWeights(model);
  const why = streamBlocker(model, plan);
  if (why) throw new ShrinkrayError('internal', `${model.summary.fileName}: cannot be streamed: ${why}`, model.summary.fileName);
  const internal = coremlInternal(model);
  const { jobs, skipped } = selectJobs(model, plan);
  const byId = new Map<string, Job>(jobs.map((j) => [j.id, j]));
  const out = new Map<string, WeightResult>();
  for (const s of skipped) out.set(s.id, s);
  const seconds = { read: 0, compress: 0, write: 0, collect: 0 };
  const total = jobs.length;
  let done = 0;
  opts.onProgress?.(0, total);

  const target = plan.target;
  const baseSpec = internal.root.spec;
  let sawNonDense = false;
  // writeCoreML decides the blob-or-immediate rule with the final spec (iOS18 + any compressed non-dense weight → 9).
  // Only wide integer tensors depend on it, and no representation emits those; were one to, before the answer is
  // known, the stream stops rather than write different bytes.
  const spec = (): number => {
    if (target !== 'iOS18' || total === 0) return baseSpec;
    if (sawNonDense) return Math.max(baseSpec, 9);
    throw new ShrinkrayError('internal', `${model.summary.fileName}: the output specification version is not known yet while streaming`);
  };

  const blobs = new BlobWriter();
  const weightsPath = weightsPathOf(internal);
  let wfile: SinkFile | undefined;
  const flush = async () => {
    if (blobs.pending === 0) return;
    const t = now();
    wfile ??= await sink.open(weightsPath);
    for await (const c of blobs.drain(weightsPath)) await wfile.write(c);
    seconds.write += now() - t;
  };
  const biggest = jobs.reduce((m, j) => Math.max(m, j.bytesBefore), 0);
  const big = (id: string) => (byId.get(id)?.bytesBefore ?? 0) >= Math.max(COLLECT_MIN_BYTES, biggest / 2);
  // The big buffers of a weight (its dense read, the kernel's codes) are lent from this pool and given back once
  // its blob is written (emitted), for the next weights: fresh memory is slow to touch on some machines.
  const pool = new ScratchPool();
  const scratch = (bytes: number) => pool.take(bytes);
  const collect = (id: string) => {
    if (!opts.collect || !big(id)) return;
    pool.prepare(byId.get(id)!.bytesBefore); // unusable free buffers go with this collection
    const t = now();
    opts.collect();
    seconds.collect += now() - t;
  };

  /** Reads and compresses one weight; its dense values are garbage once this returns. */
  const compressOne = async (id: string): Promise<WeightResult> => {
    const t0 = now();
    const job = byId.get(id)!;
    pool.lendTo(id);
    const dense = await model.readDense(id, job.bytesBefore >= SCRATCH_MIN_BYTES ? scratch : undefined);
    const t1 = now();
    if (opts.signal?.aborted) throw new ShrinkrayError('cancelled', 'compression cancelled');
    const r = withScratch(pool, () => compressJob(dense, job));
    seconds.read += t1 - t0;
    seconds.compress += now() - t1;
    return r;
  };

  const source: ResultSource = {
    has: (id) => byId.has(id),
    async get(id) {
      if (opts.signal?.aborted) throw new ShrinkrayError('cancelled', 'compression cancelled');
      collect(id); // what the previous weights left
      const r = await compressOne(id);
      // nothing written for it (no emitted call to wait for): its buffers are free at once
      if (r.status !== 'compressed' || !r.repr) pool.release(id, true);
      collect(id); // this weight's dense values
      checkResult(model, id, r);
      if (r.status === 'compressed' && r.repr && r.repr.kind !== 'dense') sawNonDense = true;
      if (!out.has(id)) {
        const { repr: _repr, ...metrics } = r;
        out.set(id, metrics);
        done++;
        opts.onProgress?.(done, total);
      }
      return r;
    },
    async emitted(id) {
      await flush();
      pool.release(id); // its blob bytes are written and its representation dropped
    },
  };

  let rewritten: { bytes: Uint8Array; copied: Set<string> };
  try {
    rewritten = await rewriteCoreML(model, { plan, tag: opts.tag }, { source, nnResults: new Map(), blobs, spec });
    await flush();
  } catch (e) {
    await wfile?.close().catch(() => undefined);
    throw e;
  } finally {
    pool.clear();
  }
  const { bytes, copied } = rewritten;
  const t = now();
  if (wfile) {
    try {
      await wfile.patch(0, blobs.header());
    } finally {
      await wfile.close();
    }
  }
  const layout = await packageFiles(internal, bytes, copied, blobs.count, opts.tag ?? 'compressed', (path) => ({
    path,
    size: blobs.size,
    chunks: () => {
      throw new ShrinkrayError('internal', `${path} was written while compressing`);
    },
  }));
  for (const f of layout.files) {
    if (f.path === weightsPath && blobs.count > 0) continue;
    const sf = await sink.open(f.path);
    try {
      for await (const c of f.chunks()) await sf.write(c);
    } finally {
      await sf.close();
    }
  }
  seconds.write += now() - t;
  return {
    results: inWeightOrder(model, out),
    written: { format: 'mlpackage', name: layout.name, files: layout.files.map((f) => ({ path: f.path, size: f.size })) },
    seconds: { read: seconds.read / 1000, compress: seconds.compress / 1000, write: seconds.write / 1000, collect: seconds.collect / 1000 },
  };
}
