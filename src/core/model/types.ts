/**
 * What every format reader produces: a summary, the list of weights, and random access to their values.
 * Readers live in src/core/formats/<format>/; writers take the same LoadedModel back (its `internal`
 * handle is format-specific) plus the engine's per-weight results.
 */
import type { Compressed } from '../compress/types';

export type ModelFormat = 'mlpackage' | 'mlmodel' | 'onnx';

/** MIL / ONNX-style dtype names: fp16, fp32, bf16, fp64, int8, uint8, int4, uint4, uint1..uint6, int16, ... */
export type DType = string;

export interface Consumer {
  /** op / layer / node name */
  name: string;
  /** op type (MIL op type, NN layer type such as `convolution`, ONNX op_type) */
  type: string;
  /** which input of the consumer the weight feeds (MIL param name, NN field such as `weights`, ONNX input index) */
  param: string;
  /**
   * Optional op attributes the engine needs for channel axes (formats.md §7.5): MIL matmul `transpose_x` /
   * `transpose_y`, conv `groups`; ONNX Gemm `transA` / `transB`, Conv `group`. Absent = the op's default.
   */
  attrs?: Record<string, number | boolean | string>;
}

export type WeightLocation =
  | { kind: 'inline' }
  | { kind: 'blob'; file: string; offset: number }
  | { kind: 'external'; file: string; offset: number; length: number };

export interface ExistingCompression {
  /** e.g. 'palettized', 'quantized', 'sparse', 'sparse+palettized', 'sparse+quantized', 'fp16', 'lut', 'linear' */
  kind: string;
  nbits?: number;
  /** per_tensor, per_channel, per_block, per_grouped_channel, vector */
  granularity?: string;
  /** constexpr ops first to last (mlprogram) or the NN storage kind */
  opChain: string[];
}

export interface WeightInfo {
  /** Stable id, unique in the model (e.g. `main/conv1_weight_to_fp16`, `layers/conv1.weights`, `onnx/conv1.weight`). */
  id: string;
  /** The name the consumer reads (golden `name`). */
  name: string;
  /** `name` without the _palettized/_quantized/_sparsified/_palettized_pcs suffixes (golden `base_name`). */
  baseName: string;
  /** golden `op_type`: `const`, the last constexpr op, `<layerType>.<field>` for NN, `initializer`/`Constant` for ONNX */
  opType: string;
  consumers: Consumer[];
  /** dense (decompressed) shape */
  shape: number[];
  /** dense dtype (fp16 / fp32 / ...). For NN: the storage kind as golden files name it (float32, float16, ...). */
  dtype: DType;
  /** element count of the dense tensor */
  count: number;
  /** exact bytes on disk, including packed sub-byte data, LUTs, scales, zero points and masks */
  bytes: number;
  location: WeightLocation;
  /** set when the weight is already stored compressed */
  compression?: ExistingCompression;
  /** the function / graph / sub-block path the weight lives in, for display */
  scope?: string;
  /**
   * NeuralNetwork weights only: the per-channel axis quantize_weights uses (1 for deconvolution weights,
   * else 0) and whether its default layer selector quantizes this field (formats.md §6.4-§6.5).
   */
  nn?: { axis: number; quantizable: boolean };
}

export interface ModelSummary {
  format: ModelFormat;
  /** mlProgram, neuralNetwork, neuralNetworkClassifier, pipeline, textClassifier, onnx, ... */
  modelType: string;
  fileName: string;
  /** total bytes of the input files */
  fileBytes: number;
  specificationVersion?: number;
  /** e.g. 'iOS16 / macOS13' */
  os?: string;
  /** MIL opsets per function, e.g. ['CoreML6'] */
  opsets?: string[];
  functions?: string[];
  onnx?: { irVersion: number; opsets: { domain: string; version: number }[]; producer?: string };
  weightCount: number;
  totalParams: number;
  totalWeightBytes: number;
  bytesByDtype: Record<string, number>;
  /** a plain sentence when the model has nothing to compress, etc. */
  note?: string;
}

/** A dense float tensor as stored: fp16 as raw bits, fp32 as floats. */
export interface DenseTensor {
  dtype: 'fp16' | 'fp32';
  shape: number[];
  data: Float32Array | Uint16Array;
}

export interface LoadedModel {
  summary: ModelSummary;
  weights: WeightInfo[];
  /** The fully decompressed values as float32, row-major in `shape`. */
  readFloat32(id: string): Promise<Float32Array>;
  /**
   * The dense stored tensor of an uncompressed float weight (fp16 bits kept exact). `scratch` (optional; readers
   * may ignore it): lends the buffer for the stored bytes (called with their byte length), so the returned values
   * may live in it: the caller must not reuse that buffer while the tensor or anything viewing it is in use.
   */
  readDense(id: string, scratch?: (bytes: number) => Uint8Array): Promise<DenseTensor>;
  /** The stored representation of a weight (dense, or what its constexpr chain / NN quantization holds). */
  readRepr(id: string): Promise<Compressed>;
  /** Format-specific handle for the writer of the same format. */
  readonly internal: unknown;
}

/** One file of a written model, produced in pieces so that big weights never sit in one buffer. */
export interface OutputFile {
  /** '/'-separated path inside the output (for an .mlpackage: `Manifest.json`, `Data/com.apple.CoreML/...`) */
  path: string;
  /** exact size in bytes */
  size: number;
  chunks(): AsyncIterable<Uint8Array>;
}

export interface WrittenModel {
  format: ModelFormat;
  /** e.g. `Model.pal4.mlpackage`, `model.q8.onnx` (an .mlpackage is a folder: zip it or write it to a folder) */
  name: string;
  files: OutputFile[];
  /** plain sentences about choices the writer made (e.g. a pruned ONNX weight stored dense, and why) */
  notes?: string[];
}

/** Collects an OutputFile into one buffer (tests and small models only). */
export async function outputBytes(f: OutputFile): Promise<Uint8Array> {
  const out = new Uint8Array(f.size);
  let o = 0;
  for await (const c of f.chunks()) {
    out.set(c, o);
    o += c.length;
  }
  if (o !== f.size) throw new Error(`${f.path}: wrote ${o} bytes, declared ${f.size}`);
  return out;
}
