// Plain-data mirror of the parts of onnx.proto (ModelProto and below) that seqc writes and reads.

/** ONNX TensorProto.DataType values used by seqc. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  BFLOAT16: 16,
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

/** A dimension of a tensor type: a fixed size or a symbolic name (dim_param). */
export type OnnxDim =
  { readonly kind: 'value'; readonly value: number } | { readonly kind: 'param'; readonly name: string };

export interface TensorTypeProto {
  readonly elemType: DataType;
  /** Absent when the rank is unknown. */
  readonly shape?: readonly OnnxDim[];
}

export interface ValueInfoProto {
  readonly name: string;
  readonly type: TensorTypeProto;
  readonly docString?: string;
}

/**
 * A tensor with its data. Float data is stored as `floatData`, int64 as `int64Data` (bigint),
 * int32 as `int32Data`; `rawData` (little-endian bytes) may be used instead for any type.
 */
export interface TensorProto {
  readonly name: string;
  readonly dataType: DataType;
  readonly dims: readonly number[];
  readonly floatData?: Float32Array;
  readonly int32Data?: Int32Array;
  readonly int64Data?: BigInt64Array;
  readonly rawData?: Uint8Array;
  /** A tensor decoded from a model that keeps its bytes in an external file: where they are, instead of data. */
  readonly external?: { readonly location: string; readonly offset: number; readonly length: number };
  readonly docString?: string;
}

export type AttributeProto =
  | { readonly name: string; readonly kind: 'float'; readonly value: number }
  | { readonly name: string; readonly kind: 'int'; readonly value: number }
  | { readonly name: string; readonly kind: 'string'; readonly value: string }
  | { readonly name: string; readonly kind: 'tensor'; readonly value: TensorProto }
  | { readonly name: string; readonly kind: 'graph'; readonly value: GraphProto }
  | { readonly name: string; readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly name: string; readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly name: string; readonly kind: 'strings'; readonly value: readonly string[] };

export interface NodeProto {
  readonly name: string;
  readonly opType: string;
  /** Empty string marks an omitted optional input or output, as in ONNX. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: readonly AttributeProto[];
  /** Default domain is "". */
  readonly domain?: string;
  readonly docString?: string;
}

export interface GraphProto {
  readonly name: string;
  readonly nodes: readonly NodeProto[];
  readonly initializers: readonly TensorProto[];
  readonly inputs: readonly ValueInfoProto[];
  readonly outputs: readonly ValueInfoProto[];
  readonly valueInfo: readonly ValueInfoProto[];
  readonly docString?: string;
}

export interface OperatorSetIdProto {
  readonly domain: string;
  readonly version: number;
}

export interface StringStringEntryProto {
  readonly key: string;
  readonly value: string;
}

export interface ModelProto {
  readonly irVersion: number;
  readonly opsetImports: readonly OperatorSetIdProto[];
  readonly producerName: string;
  readonly producerVersion: string;
  readonly domain?: string;
  readonly modelVersion?: number;
  readonly docString?: string;
  readonly graph: GraphProto;
  readonly metadataProps: readonly StringStringEntryProto[];
}
