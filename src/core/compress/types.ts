/**
 * The contract between the kernels (src/core/compress/<method>/), the engine, the writers and the UI.
 * Option names, defaults and meaning follow coremltools 9 `coremltools.optimize.coreml` (formats.md §5.12, §7).
 */

export type Target = 'iOS16' | 'iOS17' | 'iOS18';
export type FloatDtype = 'fp16' | 'fp32';

export interface OpPalettizerConfig {
  type: 'OpPalettizerConfig';
  mode: 'kmeans' | 'uniform' | 'unique';
  /** 1, 2, 3, 4, 6, 8 (required for kmeans / uniform, absent for unique) */
  nbits?: number;
  granularity: 'per_tensor' | 'per_grouped_channel';
  group_size: number; // default 32
  channel_axis?: number | null;
  cluster_dim: number; // default 1
  enable_per_channel_scale: boolean; // default false
  /** Shrinkray extension of the joint "palettize then linear_quantize the LUT" form: quantize the LUT to int8/uint8. */
  lut_dtype?: 'int8' | 'uint8' | null;
  weight_threshold: number; // default 2048
}

export interface OpLinearQuantizerConfig {
  type: 'OpLinearQuantizerConfig';
  mode: 'linear_symmetric' | 'linear';
  dtype: 'int8' | 'uint8' | 'int4' | 'uint4';
  granularity: 'per_tensor' | 'per_channel' | 'per_block';
  block_size: number | number[]; // default 32
  weight_threshold: number;
}

export interface OpMagnitudePrunerConfig {
  type: 'OpMagnitudePrunerConfig';
  target_sparsity?: number | null;
  block_size?: number | null;
  n_m_ratio?: [number, number] | null;
  dim?: number | null;
  weight_threshold: number;
}

export interface OpThresholdPrunerConfig {
  type: 'OpThresholdPrunerConfig';
  threshold: number; // default 1e-12
  minimum_sparsity_percentile: number; // default 0.5
  weight_threshold: number;
}

/**
 * The old NeuralNetwork path (coremltools.models.neural_network.quantization_utils.quantize_weights):
 * nbits 1-8 or 16, quantization_mode linear | linear_symmetric | kmeans_lut | linear_lut.
 */
export interface NNQuantizeConfig {
  type: 'NNQuantizeConfig';
  nbits: number;
  quantization_mode: 'linear' | 'linear_symmetric' | 'kmeans_lut' | 'linear_lut' | 'kmeans';
}

export type OpConfig =
  | OpPalettizerConfig
  | OpLinearQuantizerConfig
  | OpMagnitudePrunerConfig
  | OpThresholdPrunerConfig
  | NNQuantizeConfig;

/** coremltools OptimizationConfig: null skips. */
export interface OptimizationConfig {
  global_config?: OpConfig | null;
  op_type_configs?: Record<string, OpConfig | null>;
  op_name_configs?: Record<string, OpConfig | null>;
}

/**
 * A whole recipe: one or more OptimizationConfigs applied in order, each step after the first in
 * coremltools' joint_compression mode (prune → palettize, prune → quantize, palettize → quantize LUT).
 */
export interface CompressionPlan {
  target: Target;
  steps: OptimizationConfig[];
}

/** Where a kernel finds the channel axes of a weight (formats.md §7.5). */
export interface WeightContext {
  outputAxis: number;
  inputAxis: number;
  /** consumer op type, e.g. conv, linear, matmul */
  opType?: string;
}

// ---------------------------------------------------------------------------------------------
// Representations. Arrays of codes are unpacked (one element per value); writers pack them.
// Float arrays hold values already representable in `dtype` (fp16 values rounded to fp16).

export interface DenseRepr {
  kind: 'dense';
  dtype: FloatDtype;
  shape: number[];
  values: Float32Array;
}

export interface LutQuant {
  /** the LUT quantized (iOS18 blockwise_shift_scale on the LUT), per-tensor */
  qdtype: 'int8' | 'uint8';
  data: Int8Array | Uint8Array; // same element count as lut
  scale: Float32Array;
  scaleShape: number[]; // same rank as lutShape, all ones
  offset?: Int8Array | Uint8Array;
}

export interface LutRepr {
  kind: 'lut';
  dtype: FloatDtype;
  nbits: number;
  /** dense output shape */
  shape: number[];
  /** index per element of indicesShape (for vector LUTs the vector axis is divided by V) */
  indices: Uint8Array;
  indicesShape: number[];
  /** [G_0..G_{K-1}, 2^nbits, V] */
  lut: Float32Array;
  lutShape: number[];
  vectorAxis?: number;
  lutQuant?: LutQuant;
  /** enable_per_channel_scale: output = lut_to_dense(...) * scale (scale shape has rank K) */
  perChannelScale?: { scale: Float32Array; shape: number[] };
}

export interface AffineRepr {
  kind: 'affine';
  dtype: FloatDtype;
  qdtype: 'int8' | 'uint8' | 'int4' | 'uint4';
  shape: number[];
  /** quantized codes, signed for int*, one per element */
  data: Int8Array | Uint8Array;
  /** same rank as shape; shape[d] % scaleShape[d] == 0 */
  scale: Float32Array;
  scaleShape: number[];
  /** same shape as scale, same qdtype as data; absent = 0 */
  offset?: Int8Array | Uint8Array;
}

/**
 * Sparse: a 0/1 mask over the dense shape plus the nonzero values in row-major order. `inner`, when set,
 * is the joint form: its codes / indices have one entry per nonzero (length D) while its scales / LUT
 * groups refer to dense positions. fp16 pruning returns a compact object (compress/prune/compact.ts) whose
 * `mask` and `values` are built on first read; writers can take the stored forms with sparseStorage() and
 * counts with nonzeroCount() / numel(shape) without building them.
 */
export interface SparseRepr {
  kind: 'sparse';
  dtype: FloatDtype;
  shape: number[];
  mask: Uint8Array;
  /** nonzero values (the decompressed nonzeros for joint forms) */
  values: Float32Array;
  inner?: LutRepr | AffineRepr;
}

/** NeuralNetwork linear quantization: W = q * scale + bias, scale/bias per channel along `axis` (length 1 or C). */
export interface NNLinearRepr {
  kind: 'nnlinear';
  dtype: 'fp32';
  nbits: number;
  shape: number[];
  /** unsigned codes, one per element */
  data: Uint8Array;
  scale: Float32Array;
  bias: Float32Array;
  axis: number;
}

export type Compressed = DenseRepr | LutRepr | AffineRepr | SparseRepr | NNLinearRepr;

// ---------------------------------------------------------------------------------------------

export interface WeightResult {
  id: string;
  status: 'compressed' | 'skipped';
  /** why a weight was skipped (always set when skipped) */
  reason?: string;
  /** the representation writers store (absent when skipped) */
  repr?: Compressed;
  /** short label such as 'palettize kmeans 4-bit per_tensor' */
  label: string;
  bytesBefore: number;
  bytesAfter: number;
  mse: number;
  snrDb: number;
  maxAbsErr: number;
  sparsity: number;
  distinct: number;
  /** bits per weight after compression, all storage included */
  bitsPerWeight: number;
}
