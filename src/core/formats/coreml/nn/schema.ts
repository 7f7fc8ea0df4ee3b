/**
 * Partial protobufjs schema of Core ML's NeuralNetwork.proto (package CoreML.Specification), written from
 * the public specification: the layer envelope and every layer message that holds WeightParams. Field
 * numbers are facts of the format (formats.md §6, NeuralNetwork.proto). Only small messages are decoded
 * with it (layer parameters with their weight fields stripped, QuantizationParams); weights themselves are
 * read and rewritten at the wire level so that nothing is copied or lost.
 */
import protobuf from 'protobufjs';

export const NN_PROTO = `
syntax = "proto3";
package CoreML.Specification;

message WeightParams {
  repeated float floatValue = 1;
  bytes float16Value = 2;
  bytes rawValue = 30;
  bytes int8RawValue = 31;
  QuantizationParams quantization = 40;
  bool isUpdatable = 50;
}

message QuantizationParams {
  uint64 numberOfBits = 1;
  oneof QuantizationType {
    LinearQuantizationParams linearQuantization = 101;
    LookUpTableQuantizationParams lookupTableQuantization = 102;
  }
}

message LinearQuantizationParams {
  repeated float scale = 1;
  repeated float bias = 2;
}

message LookUpTableQuantizationParams {
  repeated float floatValue = 1;
}

message NeuralNetwork {
  repeated NeuralNetworkLayer layers = 1;
}

message NeuralNetworkLayer {
  string name = 1;
  repeated string input = 2;
  repeated string output = 3;
  bool isUpdatable = 10;
  oneof layer {
    ConvolutionLayerParams convolution = 100;
    ActivationParams activation = 130;
    InnerProductLayerParams innerProduct = 140;
    EmbeddingLayerParams embedding = 150;
    BatchnormLayerParams batchnorm = 160;
    ScaleLayerParams scale = 245;
    BiasLayerParams bias = 250;
    LoadConstantLayerParams loadConstant = 290;
    SimpleRecurrentLayerParams simpleRecurrent = 400;
    GRULayerParams gru = 410;
    UniDirectionalLSTMLayerParams uniDirectionalLSTM = 420;
    BiDirectionalLSTMLayerParams biDirectionalLSTM = 430;
    CustomLayerParams custom = 500;
    BranchLayerParams branch = 605;
    LoopLayerParams loop = 615;
    EmbeddingNDLayerParams embeddingND = 1040;
    BatchedMatMulLayerParams batchedMatmul = 1045;
    LoadConstantNDLayerParams loadConstantND = 1070;
    LayerNormalizationLayerParams layerNormalization = 1350;
    Convolution3DLayerParams convolution3d = 1471;
  }
}

message ActivationPReLU {
  WeightParams alpha = 1;
}

message ActivationParametricSoftplus {
  WeightParams alpha = 1;
  WeightParams beta = 2;
}

message ActivationParams {
  oneof NonlinearityType {
    ActivationPReLU PReLU = 25;
    ActivationParametricSoftplus parametricSoftplus = 71;
  }
}

message ConvolutionLayerParams {
  uint64 outputChannels = 1;
  uint64 kernelChannels = 2;
  uint64 nGroups = 10;
  repeated uint64 kernelSize = 20;
  bool isDeconvolution = 60;
  bool hasBias = 70;
  WeightParams weights = 90;
  WeightParams bias = 91;
}

message Convolution3DLayerParams {
  int32 outputChannels = 1;
  int32 inputChannels = 2;
  int32 nGroups = 10;
  int32 kernelDepth = 20;
  int32 kernelHeight = 21;
  int32 kernelWidth = 22;
  bool hasBias = 50;
  WeightParams weights = 60;
  WeightParams bias = 61;
}

message InnerProductLayerParams {
  uint64 inputChannels = 1;
  uint64 outputChannels = 2;
  bool hasBias = 10;
  WeightParams weights = 20;
  WeightParams bias = 21;
  bool int8DynamicQuantize = 22;
}

message EmbeddingLayerParams {
  uint64 inputDim = 1;
  uint64 outputChannels = 2;
  bool hasBias = 10;
  WeightParams weights = 20;
  WeightParams bias = 21;
}

message EmbeddingNDLayerParams {
  uint64 vocabSize = 1;
  uint64 embeddingSize = 2;
  bool hasBias = 3;
  WeightParams weights = 20;
  WeightParams bias = 21;
}

message BatchnormLayerParams {
  uint64 channels = 1;
  bool computeMeanVar = 5;
  bool instanceNormalization = 6;
  float epsilon = 10;
  WeightParams gamma = 15;
  WeightParams beta = 16;
  WeightParams mean = 17;
  WeightParams variance = 18;
}

message ScaleLayerParams {
  repeated uint64 shapeScale = 1;
  WeightParams scale = 2;
  bool hasBias = 3;
  repeated uint64 shapeBias = 4;
  WeightParams bias = 5;
}

message BiasLayerParams {
  repeated uint64 shape = 1;
  WeightParams bias = 2;
}

message LoadConstantLayerParams {
  repeated uint64 shape = 1;
  WeightParams data = 2;
}

message LoadConstantNDLayerParams {
  repeated uint64 shape = 1;
  WeightParams data = 2;
}

message SimpleRecurrentLayerParams {
  uint64 inputVectorSize = 1;
  uint64 outputVectorSize = 2;
  bool sequenceOutput = 15;
  bool hasBiasVector = 20;
  WeightParams weightMatrix = 30;
  WeightParams recursionMatrix = 31;
  WeightParams biasVector = 32;
}

message GRULayerParams {
  uint64 inputVectorSize = 1;
  uint64 outputVectorSize = 2;
  bool sequenceOutput = 15;
  bool hasBiasVectors = 20;
  WeightParams updateGateWeightMatrix = 30;
  WeightParams resetGateWeightMatrix = 31;
  WeightParams outputGateWeightMatrix = 32;
  WeightParams updateGateRecursionMatrix = 50;
  WeightParams resetGateRecursionMatrix = 51;
  WeightParams outputGateRecursionMatrix = 52;
  WeightParams updateGateBiasVector = 70;
  WeightParams resetGateBiasVector = 71;
  WeightParams outputGateBiasVector = 72;
}

message LSTMParams {
  bool sequenceOutput = 10;
  bool hasBiasVectors = 20;
  bool forgetBias = 30;
  bool hasPeepholeVectors = 40;
  bool coupledInputAndForgetGate = 50;
  float cellClipThreshold = 60;
}

message LSTMWeightParams {
  WeightParams inputGateWeightMatrix = 1;
  WeightParams forgetGateWeightMatrix = 2;
  WeightParams blockInputWeightMatrix = 3;
  WeightParams outputGateWeightMatrix = 4;
  WeightParams inputGateRecursionMatrix = 20;
  WeightParams forgetGateRecursionMatrix = 21;
  WeightParams blockInputRecursionMatrix = 22;
  WeightParams outputGateRecursionMatrix = 23;
  WeightParams inputGateBiasVector = 40;
  WeightParams forgetGateBiasVector = 41;
  WeightParams blockInputBiasVector = 42;
  WeightParams outputGateBiasVector = 43;
  WeightParams inputGatePeepholeVector = 60;
  WeightParams forgetGatePeepholeVector = 61;
  WeightParams outputGatePeepholeVector = 62;
}

message UniDirectionalLSTMLayerParams {
  uint64 inputVectorSize = 1;
  uint64 outputVectorSize = 2;
  LSTMParams params = 15;
  LSTMWeightParams weightParams = 20;
  bool reverseInput = 100;
}

message BiDirectionalLSTMLayerParams {
  uint64 inputVectorSize = 1;
  uint64 outputVectorSize = 2;
  LSTMParams params = 15;
  repeated LSTMWeightParams weightParams = 20;
}

message CustomLayerParams {
  string className = 10;
  repeated WeightParams weights = 20;
  string description = 40;
}

message BranchLayerParams {
  NeuralNetwork ifBranch = 1;
  NeuralNetwork elseBranch = 2;
}

message LoopLayerParams {
  uint64 maxLoopIterations = 1;
  string conditionVar = 2;
  NeuralNetwork conditionNetwork = 3;
  NeuralNetwork bodyNetwork = 4;
}

message BatchedMatMulLayerParams {
  bool transposeA = 1;
  bool transposeB = 2;
  uint64 weightMatrixFirstDimension = 5;
  uint64 weightMatrixSecondDimension = 6;
  bool hasBias = 7;
  WeightParams weights = 8;
  WeightParams bias = 9;
  bool int8DynamicQuantize = 10;
}

message LayerNormalizationLayerParams {
  repeated int64 normalizedShape = 1;
  float eps = 2;
  WeightParams gamma = 3;
  WeightParams beta = 4;
}
`;

let root: protobuf.Root | undefined;

export function nnRoot(): protobuf.Root {
  if (!root) root = protobuf.parse(NN_PROTO, { keepCase: true }).root;
  return root;
}

export function nnType(name: string): protobuf.Type {
  return nnRoot().lookupType(`CoreML.Specification.${name}`);
}
