// The subset of onnx.proto that seqc reads and writes, as a protobufjs reflection root with the real field numbers.

import protobuf from 'protobufjs/light.js';
import type { INamespace, Type } from 'protobufjs/light.js';

/** AttributeProto.AttributeType values, the discriminator written in AttributeProto.type. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;
export type AttributeType = (typeof AttributeType)[keyof typeof AttributeType];

/** TensorProto.DataLocation values; seqc only writes DEFAULT (data inside the tensor). */
export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;

/**
 * The message shapes below are what protobufjs encodes from and decodes to. Field names are those of
 * onnx.proto (snake_case). An int64 arrives as a number, or as a Long-like `{ low, high }` pair when
 * the `long` package is available; bytes arrive as views into the decoded buffer.
 */
export interface LongBits {
  readonly low: number;
  readonly high: number;
}
export type WireInt64 = number | LongBits;

export interface WireStringStringEntry {
  key?: string;
  value?: string;
}

export interface WireOperatorSetId {
  domain?: string;
  version?: WireInt64;
}

export interface WireDimension {
  dim_value?: WireInt64;
  dim_param?: string;
}

export interface WireTensorShape {
  dim?: WireDimension[];
}

export interface WireTypeTensor {
  elem_type?: number;
  shape?: WireTensorShape;
}

export interface WireType {
  tensor_type?: WireTypeTensor;
}

export interface WireValueInfo {
  name?: string;
  type?: WireType;
  doc_string?: string;
}

export interface WireTensor {
  dims?: WireInt64[];
  data_type?: number;
  float_data?: number[];
  int32_data?: number[];
  string_data?: Uint8Array[];
  int64_data?: WireInt64[];
  name?: string;
  raw_data?: Uint8Array;
  double_data?: number[];
  uint64_data?: WireInt64[];
  doc_string?: string;
  external_data?: WireStringStringEntry[];
  data_location?: number;
}

export interface WireAttribute {
  name?: string;
  f?: number;
  i?: WireInt64;
  s?: Uint8Array;
  t?: WireTensor;
  g?: WireGraph;
  floats?: number[];
  ints?: WireInt64[];
  strings?: Uint8Array[];
  doc_string?: string;
  type?: number;
}

export interface WireNode {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  attribute?: WireAttribute[];
  doc_string?: string;
  domain?: string;
}

export interface WireGraph {
  node?: WireNode[];
  name?: string;
  initializer?: WireTensor[];
  doc_string?: string;
  input?: WireValueInfo[];
  output?: WireValueInfo[];
  value_info?: WireValueInfo[];
}

export interface WireModel {
  ir_version?: WireInt64;
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: WireInt64;
  doc_string?: string;
  graph?: WireGraph;
  opset_import?: WireOperatorSetId[];
  metadata_props?: WireStringStringEntry[];
}

// Field numbers and packing follow onnx/onnx.proto (proto2): repeated numeric fields are packed only
// where onnx.proto says `[packed = true]`, which is TensorProto's *_data fields.
const unpacked = { packed: false };
const packed = { packed: true };

const onnxDescriptor: INamespace = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            g: { type: 'GraphProto', id: 6 },
            floats: { rule: 'repeated', type: 'float', id: 7, options: unpacked },
            ints: { rule: 'repeated', type: 'int64', id: 8, options: unpacked },
            strings: { rule: 'repeated', type: 'bytes', id: 9 },
            doc_string: { type: 'string', id: 13 },
            type: { type: 'AttributeType', id: 20 },
          },
          nested: {
            AttributeType: { values: { ...AttributeType } },
          },
        },
        ValueInfoProto: {
          fields: {
            name: { type: 'string', id: 1 },
            type: { type: 'TypeProto', id: 2 },
            doc_string: { type: 'string', id: 3 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            op_type: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            doc_string: { type: 'string', id: 6 },
            domain: { type: 'string', id: 7 },
          },
        },
        ModelProto: {
          fields: {
            ir_version: { type: 'int64', id: 1 },
            producer_name: { type: 'string', id: 2 },
            producer_version: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            model_version: { type: 'int64', id: 5 },
            doc_string: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
            opset_import: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
            metadata_props: { rule: 'repeated', type: 'StringStringEntryProto', id: 14 },
          },
        },
        StringStringEntryProto: {
          fields: {
            key: { type: 'string', id: 1 },
            value: { type: 'string', id: 2 },
          },
        },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            doc_string: { type: 'string', id: 10 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
            value_info: { rule: 'repeated', type: 'ValueInfoProto', id: 13 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1, options: unpacked },
            data_type: { type: 'int32', id: 2 },
            float_data: { rule: 'repeated', type: 'float', id: 4, options: packed },
            int32_data: { rule: 'repeated', type: 'int32', id: 5, options: packed },
            string_data: { rule: 'repeated', type: 'bytes', id: 6 },
            int64_data: { rule: 'repeated', type: 'int64', id: 7, options: packed },
            name: { type: 'string', id: 8 },
            raw_data: { type: 'bytes', id: 9 },
            double_data: { rule: 'repeated', type: 'double', id: 10, options: packed },
            uint64_data: { rule: 'repeated', type: 'uint64', id: 11, options: packed },
            doc_string: { type: 'string', id: 12 },
            external_data: { rule: 'repeated', type: 'StringStringEntryProto', id: 13 },
            data_location: { type: 'DataLocation', id: 14 },
          },
          nested: {
            DataLocation: { values: { ...DataLocation } },
          },
        },
        TensorShapeProto: {
          fields: {
            dim: { rule: 'repeated', type: 'Dimension', id: 1 },
          },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dim_value', 'dim_param'] } },
              fields: {
                dim_value: { type: 'int64', id: 1 },
                dim_param: { type: 'string', id: 2 },
              },
            },
          },
        },
        TypeProto: {
          fields: {
            tensor_type: { type: 'Tensor', id: 1 },
          },
          nested: {
            Tensor: {
              fields: {
                elem_type: { type: 'int32', id: 1 },
                shape: { type: 'TensorShapeProto', id: 2 },
              },
            },
          },
        },
        OperatorSetIdProto: {
          fields: {
            domain: { type: 'string', id: 1 },
            version: { type: 'int64', id: 2 },
          },
        },
      },
    },
  },
};

const onnxRoot = protobuf.Root.fromJSON(onnxDescriptor);

/** The reflected onnx.ModelProto message, the top level of a .onnx file. */
export const ModelProtoType: Type = onnxRoot.lookupType('onnx.ModelProto');

/** The reflected onnx.TensorProto message, the format of ONNX test-data `.pb` files. */
export const TensorProtoType: Type = onnxRoot.lookupType('onnx.TensorProto');
