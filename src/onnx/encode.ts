// Serializes a ModelProto to the bytes of a .onnx file, deterministically and with tensor data as raw little-endian bytes.

import { assertNever } from '../contracts/assert.js';
import protobuf from 'protobufjs/light.js';
import { DataType } from './types.js';
import type {
  AttributeProto,
  GraphProto,
  ModelProto,
  NodeProto,
  OnnxDim,
  TensorProto,
  TensorTypeProto,
  ValueInfoProto,
} from './types.js';
import { AttributeType, DataLocation, ModelProtoType } from './schema.js';
import type {
  WireAttribute,
  WireDimension,
  WireGraph,
  WireInt64,
  WireModel,
  WireNode,
  WireTensor,
  WireType,
  WireValueInfo,
} from './schema.js';

/**
 * Encodes a model as ONNX protobuf bytes. Fields are written in field-number order and lists in the
 * order given, so the same model always gives the same bytes. Every tensor's data is written as
 * `raw_data`, whichever field the TensorProto used.
 */
export function encodeModel(model: ModelProto): Uint8Array {
  const wire = toWireModel(model);
  // The base Writer allocates a plain Uint8Array in Node too, rather than a slice of a pooled Node buffer.
  const writer = ModelProtoType.encode(wire, new protobuf.Writer());
  return writer.finish();
}

/** Where one tensor's bytes lie in an external weights file: TensorProto.external_data's `offset` and `length`. */
export interface ExternalPlace {
  readonly offset: number;
  readonly length: number;
}

/** Where the graph's initializers go: `place` returns a tensor's place in the file named `location`, or undefined to keep it inside the model. */
export interface ExternalData {
  readonly location: string;
  readonly place: (tensor: TensorProto) => ExternalPlace | undefined;
}

/**
 * Encodes a model whose main graph's initializers may live in an external file (ONNX external
 * data: `data_location = EXTERNAL` and `external_data` entries `location`, `offset`, `length`).
 * Tensors inside nodes and subgraphs stay in the model.
 */
export function encodeModelWithExternalData(model: ModelProto, external: ExternalData): Uint8Array {
  const wire = toWireModel(model, external);
  const writer = ModelProtoType.encode(wire, new protobuf.Writer());
  return writer.finish();
}

/**
 * Returns a tensor's elements as little-endian bytes, the form of TensorProto.raw_data, whichever
 * field holds them. Float and int64 data on a little-endian host are returned as views, not copies.
 */
export function tensorRawData(tensor: TensorProto): Uint8Array {
  if (tensor.rawData !== undefined) {
    return tensor.rawData;
  }
  if (tensor.floatData !== undefined) {
    return floatBytes(tensor);
  }
  if (tensor.int64Data !== undefined) {
    return int64Bytes(tensor);
  }
  if (tensor.int32Data !== undefined) {
    return int32Bytes(tensor);
  }
  return new Uint8Array(0);
}

/** Whether the tensor carries its elements in any data field. */
export function tensorHasData(tensor: TensorProto): boolean {
  return (
    tensor.rawData !== undefined ||
    tensor.floatData !== undefined ||
    tensor.int64Data !== undefined ||
    tensor.int32Data !== undefined
  );
}

/** True when typed arrays already hold their elements in little-endian order. */
export const hostIsLittleEndian: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function toWireModel(model: ModelProto, external?: ExternalData): WireModel {
  const wire: WireModel = {
    ir_version: int64(model.irVersion),
    opset_import: model.opsetImports.map((opset) => ({ domain: opset.domain, version: int64(opset.version) })),
    graph: toWireGraph(model.graph, external),
    metadata_props: model.metadataProps.map((entry) => ({ key: entry.key, value: entry.value })),
  };
  if (model.producerName !== '') wire.producer_name = model.producerName;
  if (model.producerVersion !== '') wire.producer_version = model.producerVersion;
  if (model.domain !== undefined) wire.domain = model.domain;
  if (model.modelVersion !== undefined) wire.model_version = int64(model.modelVersion);
  if (model.docString !== undefined) wire.doc_string = model.docString;
  return wire;
}

function toWireGraph(graph: GraphProto, external?: ExternalData): WireGraph {
  const wire: WireGraph = {
    node: graph.nodes.map(toWireNode),
    initializer: graph.initializers.map((tensor) => {
      const place = external?.place(tensor);
      return place === undefined ? toWireTensor(tensor) : toExternalWireTensor(tensor, external!.location, place);
    }),
    input: graph.inputs.map(toWireValueInfo),
    output: graph.outputs.map(toWireValueInfo),
    value_info: graph.valueInfo.map(toWireValueInfo),
  };
  if (graph.name !== '') wire.name = graph.name;
  if (graph.docString !== undefined) wire.doc_string = graph.docString;
  return wire;
}

function toWireNode(node: NodeProto): WireNode {
  const wire: WireNode = {
    input: [...node.inputs],
    output: [...node.outputs],
    op_type: node.opType,
    attribute: node.attributes.map(toWireAttribute),
  };
  if (node.name !== '') wire.name = node.name;
  if (node.docString !== undefined) wire.doc_string = node.docString;
  if (node.domain !== undefined) wire.domain = node.domain;
  return wire;
}

function toWireAttribute(attribute: AttributeProto): WireAttribute {
  const name = attribute.name;
  switch (attribute.kind) {
    case 'float':
      return { name, type: AttributeType.FLOAT, f: attribute.value };
    case 'int':
      return { name, type: AttributeType.INT, i: int64(attribute.value) };
    case 'string':
      return { name, type: AttributeType.STRING, s: utf8.encode(attribute.value) };
    case 'tensor':
      return { name, type: AttributeType.TENSOR, t: toWireTensor(attribute.value) };
    case 'graph':
      return { name, type: AttributeType.GRAPH, g: toWireGraph(attribute.value) };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: [...attribute.value] };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: attribute.value.map(int64) };
    case 'strings':
      return { name, type: AttributeType.STRINGS, strings: attribute.value.map((text) => utf8.encode(text)) };
    default:
      return assertNever(attribute);
  }
}

function toWireTensor(tensor: TensorProto): WireTensor {
  const wire: WireTensor = {
    dims: tensor.dims.map(int64),
    data_type: tensor.dataType,
  };
  if (tensor.name !== '') wire.name = tensor.name;
  if (tensor.external !== undefined) {
    wire.external_data = [
      { key: 'location', value: tensor.external.location },
      { key: 'offset', value: String(tensor.external.offset) },
      ...(tensor.external.length < 0 ? [] : [{ key: 'length', value: String(tensor.external.length) }]),
    ];
    wire.data_location = DataLocation.EXTERNAL;
  } else if (tensorHasData(tensor)) wire.raw_data = tensorRawData(tensor);
  if (tensor.docString !== undefined) wire.doc_string = tensor.docString;
  return wire;
}

function toExternalWireTensor(tensor: TensorProto, location: string, place: ExternalPlace): WireTensor {
  const wire: WireTensor = {
    dims: tensor.dims.map(int64),
    data_type: tensor.dataType,
    external_data: [
      { key: 'location', value: location },
      { key: 'offset', value: String(place.offset) },
      { key: 'length', value: String(place.length) },
    ],
    data_location: DataLocation.EXTERNAL,
  };
  if (tensor.name !== '') wire.name = tensor.name;
  if (tensor.docString !== undefined) wire.doc_string = tensor.docString;
  return wire;
}

function toWireValueInfo(info: ValueInfoProto): WireValueInfo {
  const wire: WireValueInfo = { name: info.name, type: toWireType(info.type) };
  if (info.docString !== undefined) wire.doc_string = info.docString;
  return wire;
}

function toWireType(type: TensorTypeProto): WireType {
  if (type.shape === undefined) {
    return { tensor_type: { elem_type: type.elemType } };
  }
  return { tensor_type: { elem_type: type.elemType, shape: { dim: type.shape.map(toWireDimension) } } };
}

// A 'param' dimension with an empty name stands for ONNX's unknown dimension, which has neither field set.
function toWireDimension(dim: OnnxDim): WireDimension {
  if (dim.kind === 'value') {
    return { dim_value: int64(dim.value) };
  }
  return dim.name === '' ? {} : { dim_param: dim.name };
}

function floatBytes(tensor: TensorProto): Uint8Array {
  const data = tensor.floatData as Float32Array;
  if (tensor.dataType !== DataType.FLOAT) {
    throw new Error(`tensor '${tensor.name}' has floatData but data type ${tensor.dataType}, not FLOAT`);
  }
  if (hostIsLittleEndian) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  const bytes = new Uint8Array(data.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return bytes;
}

function int64Bytes(tensor: TensorProto): Uint8Array {
  const data = tensor.int64Data as BigInt64Array;
  if (tensor.dataType !== DataType.INT64) {
    throw new Error(`tensor '${tensor.name}' has int64Data but data type ${tensor.dataType}, not INT64`);
  }
  if (hostIsLittleEndian) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  const bytes = new Uint8Array(data.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setBigInt64(i * 8, data[i], true);
  return bytes;
}

// ONNX keeps every type narrower than 32 bits in int32_data, one element per int32; raw_data packs
// them at their own width, so the values are narrowed here.
function int32Bytes(tensor: TensorProto): Uint8Array {
  const data = tensor.int32Data as Int32Array;
  const width = int32DataWidth(tensor.dataType);
  if (width === undefined) {
    throw new Error(`tensor '${tensor.name}' has int32Data but data type ${tensor.dataType} is not stored there`);
  }
  const bytes = new Uint8Array(data.length * width);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) {
    const value = data[i];
    if (width === 4) view.setInt32(i * 4, value, true);
    else if (width === 2) view.setUint16(i * 2, value & 0xffff, true);
    else view.setUint8(i, value & 0xff);
  }
  return bytes;
}

/** The raw_data width in bytes of a data type that ONNX stores in int32_data, or undefined for other types. */
export function int32DataWidth(dataType: number): 1 | 2 | 4 | undefined {
  switch (dataType) {
    case DataType.INT32:
      return 4;
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
    case 4: // UINT16
    case 5: // INT16
      return 2;
    case DataType.UINT8:
    case DataType.INT8:
    case DataType.BOOL:
      return 1;
    default:
      return undefined;
  }
}

const int64Limit = 2 ** 63;

// protobufjs writes a JavaScript number as an int64 exactly only within 2^53, and wraps numbers at or
// beyond 2^63; larger magnitudes are clamped to the int64 range (so 2^63 becomes INT64_MAX, the usual
// "to the end" value) and written as explicit low and high words.
function int64(value: number): WireInt64 {
  if (!Number.isInteger(value)) {
    throw new Error(`${value} is not an integer and cannot be written as an ONNX int64`);
  }
  if (Number.isSafeInteger(value)) {
    return value;
  }
  const clamped = value >= int64Limit ? 2n ** 63n - 1n : value < -int64Limit ? -(2n ** 63n) : BigInt(value);
  const bits = BigInt.asUintN(64, clamped);
  return { low: Number(bits & 0xffffffffn), high: Number(bits >> 32n) };
}

const utf8 = new TextEncoder();
