/**
 * Core ML protobuf schema for protobufjs, written from the public specification (field numbers per
 * formats.md §1 and §3). MIL.proto is complete; of Model.proto only what the reader shows is declared.
 * Rewriting goes through the wire-level splicer, so fields this schema does not know are never lost.
 */
import protobuf from 'protobufjs';

const MIL_PROTO = `
syntax = "proto3";
package CoreML.Specification.MILSpec;

message Program {
  int64 version = 1;
  map<string, Function> functions = 2;
  string docString = 3;
  map<string, Value> attributes = 4;
}

message Function {
  repeated NamedValueType inputs = 1;
  string opset = 2;
  map<string, Block> block_specializations = 3;
  map<string, Value> attributes = 4;
}

message Block {
  repeated NamedValueType inputs = 1;
  repeated string outputs = 2;
  repeated Operation operations = 3;
  map<string, Value> attributes = 4;
}

message Argument {
  message Binding {
    oneof binding {
      string name = 1;
      Value value = 2;
    }
  }
  repeated Binding arguments = 1;
}

message Operation {
  string type = 1;
  map<string, Argument> inputs = 2;
  repeated NamedValueType outputs = 3;
  repeated Block blocks = 4;
  map<string, Value> attributes = 5;
}

message NamedValueType {
  string name = 1;
  ValueType type = 2;
}

message ValueType {
  oneof type {
    TensorType tensorType = 1;
    ListType listType = 2;
    TupleType tupleType = 3;
    DictionaryType dictionaryType = 4;
    StateType stateType = 5;
  }
}

enum DataType {
  UNUSED_TYPE = 0;
  BOOL = 1;
  STRING = 2;
  FLOAT8E4M3FN = 40;
  FLOAT8E5M2 = 41;
  FLOAT16 = 10;
  FLOAT32 = 11;
  FLOAT64 = 12;
  BFLOAT16 = 13;
  INT8 = 21;
  INT16 = 22;
  INT32 = 23;
  INT64 = 24;
  INT4 = 25;
  UINT8 = 31;
  UINT16 = 32;
  UINT32 = 33;
  UINT64 = 34;
  UINT4 = 35;
  UINT2 = 36;
  UINT1 = 37;
  UINT6 = 38;
  UINT3 = 39;
}

message TensorType {
  DataType dataType = 1;
  int64 rank = 2;
  repeated Dimension dimensions = 3;
  map<string, Value> attributes = 4;
}

message TupleType {
  repeated ValueType types = 1;
}

message ListType {
  ValueType type = 1;
  Dimension length = 2;
}

message DictionaryType {
  ValueType keyType = 1;
  ValueType valueType = 2;
}

message StateType {
  ValueType wrappedType = 1;
}

message Dimension {
  message ConstantDimension {
    uint64 size = 1;
  }
  message UnknownDimension {
    bool variadic = 1;
  }
  oneof dimension {
    ConstantDimension constant = 1;
    UnknownDimension unknown = 2;
  }
}

message Value {
  message ImmediateValue {
    oneof value {
      TensorValue tensor = 1;
      TupleValue tuple = 2;
      ListValue list = 3;
      DictionaryValue dictionary = 4;
    }
  }
  message BlobFileValue {
    string fileName = 1;
    uint64 offset = 2;
  }
  string docString = 1;
  ValueType type = 2;
  oneof value {
    ImmediateValue immediateValue = 3;
    BlobFileValue blobFileValue = 5;
  }
}

message TensorValue {
  message RepeatedFloats { repeated float values = 1 [packed = true]; }
  message RepeatedDoubles { repeated double values = 1 [packed = true]; }
  message RepeatedInts { repeated int32 values = 1 [packed = true]; }
  message RepeatedLongInts { repeated int64 values = 1 [packed = true]; }
  message RepeatedBools { repeated bool values = 1 [packed = true]; }
  message RepeatedStrings { repeated string values = 1; }
  message RepeatedBytes { bytes values = 1; }
  oneof value {
    RepeatedFloats floats = 1;
    RepeatedInts ints = 2;
    RepeatedBools bools = 3;
    RepeatedStrings strings = 4;
    RepeatedLongInts longInts = 5;
    RepeatedDoubles doubles = 6;
    RepeatedBytes bytes = 7;
  }
}

message TupleValue {
  repeated Value values = 1;
}

message ListValue {
  repeated Value values = 1;
}

message DictionaryValue {
  message KeyValuePair {
    Value key = 1;
    Value value = 2;
  }
  repeated KeyValuePair values = 1;
}
`;

/** What the reader decodes of Model.proto: the description (for display) and the model kinds it walks. */
const MODEL_PROTO = `
syntax = "proto3";
package CoreML.Specification;

message Metadata {
  string shortDescription = 1;
  string versionString = 2;
  string author = 3;
  string license = 4;
  map<string, string> userDefined = 100;
}

message ArrayFeatureType {
  repeated int64 shape = 1;
  int32 dataType = 2;
}

message ImageFeatureType {
  int64 width = 1;
  int64 height = 2;
  int32 colorSpace = 3;
}

message FeatureType {
  oneof Type {
    bytes int64Type = 1;
    bytes doubleType = 2;
    bytes stringType = 3;
    ImageFeatureType imageType = 4;
    ArrayFeatureType multiArrayType = 5;
    bytes dictionaryType = 6;
    bytes sequenceType = 7;
    bytes stateType = 8;
  }
  bool isOptional = 1000;
}

message FeatureDescription {
  string name = 1;
  string shortDescription = 2;
  FeatureType type = 3;
}

message FunctionDescription {
  string name = 1;
  repeated FeatureDescription input = 2;
  repeated FeatureDescription output = 3;
  string predictedFeatureName = 4;
  string predictedProbabilitiesName = 5;
  repeated FeatureDescription state = 6;
}

message ModelDescription {
  repeated FeatureDescription input = 1;
  repeated FeatureDescription output = 10;
  string predictedFeatureName = 11;
  string predictedProbabilitiesName = 12;
  repeated FeatureDescription state = 13;
  repeated FunctionDescription functions = 20;
  string defaultFunctionName = 21;
  Metadata metadata = 100;
}

message Pipeline {
  repeated bytes models = 1;
  repeated string names = 2;
}
`;

export const root = new protobuf.Root();
protobuf.parse(MIL_PROTO, root, { keepCase: true });
protobuf.parse(MODEL_PROTO, root, { keepCase: true });
root.resolveAll();

export const ProgramT = root.lookupType('CoreML.Specification.MILSpec.Program');
export const OperationT = root.lookupType('CoreML.Specification.MILSpec.Operation');
export const BlockT = root.lookupType('CoreML.Specification.MILSpec.Block');
export const FunctionT = root.lookupType('CoreML.Specification.MILSpec.Function');
export const ValueT = root.lookupType('CoreML.Specification.MILSpec.Value');
export const ModelDescriptionT = root.lookupType('CoreML.Specification.ModelDescription');
export const PipelineT = root.lookupType('CoreML.Specification.Pipeline');

// Field numbers used by the wire-level walkers.
export const MODEL_FIELDS = {
  specificationVersion: 1,
  description: 2,
  pipelineClassifier: 200,
  pipelineRegressor: 201,
  pipeline: 202,
  neuralNetworkRegressor: 303,
  neuralNetworkClassifier: 403,
  neuralNetwork: 500,
  mlProgram: 502,
} as const;

/** The Model `Type` oneof: field number → name (formats.md §1.2). */
export const MODEL_TYPES: Record<number, string> = {
  200: 'pipelineClassifier', 201: 'pipelineRegressor', 202: 'pipeline',
  300: 'glmRegressor', 301: 'supportVectorRegressor', 302: 'treeEnsembleRegressor', 303: 'neuralNetworkRegressor',
  304: 'bayesianProbitRegressor',
  400: 'glmClassifier', 401: 'supportVectorClassifier', 402: 'treeEnsembleClassifier', 403: 'neuralNetworkClassifier',
  404: 'kNearestNeighborsClassifier',
  500: 'neuralNetwork', 501: 'itemSimilarityRecommender', 502: 'mlProgram',
  555: 'customModel', 556: 'linkedModel', 560: 'classConfidenceThresholding',
  600: 'oneHotEncoder', 601: 'imputer', 602: 'featureVectorizer', 603: 'dictVectorizer', 604: 'scaler',
  606: 'categoricalMapping', 607: 'normalizer', 609: 'arrayFeatureExtractor', 610: 'nonMaximumSuppression',
  900: 'identity',
  2000: 'textClassifier', 2001: 'wordTagger', 2002: 'visionFeaturePrint', 2003: 'soundAnalysisPreprocessing',
  2004: 'gazetteer', 2005: 'wordEmbedding', 2006: 'audioFeaturePrint',
  3000: 'serializedModel',
};

// ---------------------------------------------------------------------------------------------
// Plain object shapes of decoded MIL messages (protobufjs toObject-free decode: message instances
// with these fields; maps are plain objects).

export interface PDim { constant?: { size: number | string }; unknown?: { variadic?: boolean } }
export interface PTensorType { dataType: number; rank: number; dimensions: PDim[]; attributes?: Record<string, PValue> }
export interface PValueType {
  tensorType?: PTensorType;
  listType?: unknown;
  tupleType?: unknown;
  dictionaryType?: unknown;
  stateType?: unknown;
}
export interface PTensorValue {
  floats?: { values: number[] };
  ints?: { values: number[] };
  bools?: { values: boolean[] };
  strings?: { values: string[] };
  longInts?: { values: (number | string)[] };
  doubles?: { values: number[] };
  bytes?: { values: Uint8Array };
}
export interface PValue {
  docString?: string;
  type?: PValueType;
  immediateValue?: { tensor?: PTensorValue; tuple?: unknown; list?: unknown; dictionary?: unknown };
  blobFileValue?: { fileName: string; offset: number | string };
}
export interface PBinding { name?: string; value?: PValue }
export interface PArgument { arguments: PBinding[] }
export interface PNamedValueType { name: string; type?: PValueType }
export interface POperation {
  type: string;
  inputs: Record<string, PArgument>;
  outputs: PNamedValueType[];
  blocks: PBlock[];
  attributes: Record<string, PValue>;
}
export interface PBlock { inputs: PNamedValueType[]; outputs: string[]; operations: POperation[]; attributes: Record<string, PValue> }
export interface PFunction { inputs: PNamedValueType[]; opset: string; block_specializations: Record<string, PBlock>; attributes: Record<string, PValue> }
export interface PProgram { version: number; functions: Record<string, PFunction>; docString: string; attributes: Record<string, PValue> }
