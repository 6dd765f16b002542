// Parses .onnx bytes (from seqc or any other producer) back into a ModelProto with normalized tensor data.

import { DataType } from './types.js';
import type {
  AttributeProto,
  GraphProto,
  ModelProto,
  NodeProto,
  OnnxDim,
  OperatorSetIdProto,
  StringStringEntryProto,
  TensorProto,
  TensorTypeProto,
  ValueInfoProto,
} from './types.js';
import { AttributeType, DataLocation, ModelProtoType, TensorProtoType } from './schema.js';
import type {
  WireAttribute,
  WireDimension,
  WireGraph,
  WireInt64,
  WireModel,
  WireNode,
  WireStringStringEntry,
  WireTensor,
  WireType,
  WireValueInfo,
} from './schema.js';
import { hostIsLittleEndian, int32DataWidth } from './encode.js';

/**
 * Decodes ONNX protobuf bytes into a model. Tensor data is normalized whichever field the file used:
 * FLOAT tensors get `floatData`, INT64 tensors `int64Data`, INT32 tensors `int32Data`, and every
 * other type `rawData` (little-endian, one element per its own width). The decoded model shares no
 * memory with `bytes`. A tensor stored in an external file comes back with `external` (its place
 * in that file) and no data. Throws on content seqc cannot represent, such as non-tensor types,
 * STRING tensors, or attributes holding lists of tensors or graphs.
 */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const wire = ModelProtoType.decode(plainBytes(bytes)) as unknown as WireModel;
  return fromWireModel(wire);
}

/** Decodes a single serialized TensorProto, such as an ONNX test-data `.pb` file, normalized as in decodeModel. */
export function decodeTensor(bytes: Uint8Array): TensorProto {
  const wire = TensorProtoType.decode(plainBytes(bytes)) as unknown as WireTensor;
  return fromWireTensor(wire);
}

// A Node Buffer is viewed as a plain Uint8Array, so protobufjs takes the same path as in a browser
// and byte fields come back as plain views (Buffer's slice() would not copy).
function plainBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function fromWireModel(wire: WireModel): ModelProto {
  if (!has(wire, 'graph') || wire.graph === undefined) {
    throw new Error('ONNX model has no graph');
  }
  return {
    irVersion: int64Number(wire.ir_version ?? 0),
    opsetImports: (wire.opset_import ?? []).map(fromWireOpset),
    producerName: wire.producer_name ?? '',
    producerVersion: wire.producer_version ?? '',
    ...(has(wire, 'domain') ? { domain: wire.domain } : {}),
    ...(has(wire, 'model_version') ? { modelVersion: int64Number(wire.model_version ?? 0) } : {}),
    ...(has(wire, 'doc_string') ? { docString: wire.doc_string } : {}),
    graph: fromWireGraph(wire.graph),
    metadataProps: (wire.metadata_props ?? []).map(fromWireEntry),
  };
}

function fromWireOpset(wire: { domain?: string; version?: WireInt64 }): OperatorSetIdProto {
  return { domain: wire.domain ?? '', version: int64Number(wire.version ?? 0) };
}

function fromWireEntry(wire: WireStringStringEntry): StringStringEntryProto {
  return { key: wire.key ?? '', value: wire.value ?? '' };
}

function fromWireGraph(wire: WireGraph): GraphProto {
  return {
    name: wire.name ?? '',
    nodes: (wire.node ?? []).map(fromWireNode),
    initializers: (wire.initializer ?? []).map(fromWireTensor),
    inputs: (wire.input ?? []).map(fromWireValueInfo),
    outputs: (wire.output ?? []).map(fromWireValueInfo),
    valueInfo: (wire.value_info ?? []).map(fromWireValueInfo),
    ...(has(wire, 'doc_string') ? { docString: wire.doc_string } : {}),
  };
}

function fromWireNode(wire: WireNode): NodeProto {
  const name = wire.name ?? '';
  return {
    name,
    opType: wire.op_type ?? '',
    inputs: [...(wire.input ?? [])],
    outputs: [...(wire.output ?? [])],
    attributes: (wire.attribute ?? []).map((attribute) => fromWireAttribute(attribute, name)),
    ...(has(wire, 'domain') ? { domain: wire.domain } : {}),
    ...(has(wire, 'doc_string') ? { docString: wire.doc_string } : {}),
  };
}

function fromWireAttribute(wire: WireAttribute, nodeName: string): AttributeProto {
  const name = wire.name ?? '';
  const type = has(wire, 'type') && wire.type !== AttributeType.UNDEFINED ? wire.type : inferAttributeType(wire);
  switch (type) {
    case AttributeType.FLOAT:
      return { name, kind: 'float', value: wire.f ?? 0 };
    case AttributeType.INT:
      return { name, kind: 'int', value: int64Number(wire.i ?? 0) };
    case AttributeType.STRING:
      return { name, kind: 'string', value: utf8.decode(wire.s ?? new Uint8Array(0)) };
    case AttributeType.TENSOR:
      return { name, kind: 'tensor', value: fromWireTensor(wire.t ?? {}) };
    case AttributeType.GRAPH:
      return { name, kind: 'graph', value: fromWireGraph(wire.g ?? {}) };
    case AttributeType.FLOATS:
      return { name, kind: 'floats', value: [...(wire.floats ?? [])] };
    case AttributeType.INTS:
      return { name, kind: 'ints', value: (wire.ints ?? []).map(int64Number) };
    case AttributeType.STRINGS:
      return { name, kind: 'strings', value: (wire.strings ?? []).map((bytes) => utf8.decode(bytes)) };
    default:
      throw new Error(
        `attribute '${name}' of node '${nodeName}' has type ${String(type)}, which seqc cannot represent`,
      );
  }
}

// Models from IR version 1 have no AttributeProto.type; the field that is set tells the type instead.
function inferAttributeType(wire: WireAttribute): number | undefined {
  if (has(wire, 'f')) return AttributeType.FLOAT;
  if (has(wire, 'i')) return AttributeType.INT;
  if (has(wire, 's')) return AttributeType.STRING;
  if (has(wire, 't')) return AttributeType.TENSOR;
  if (has(wire, 'g')) return AttributeType.GRAPH;
  if (wire.floats !== undefined && wire.floats.length > 0) return AttributeType.FLOATS;
  if (wire.ints !== undefined && wire.ints.length > 0) return AttributeType.INTS;
  if (wire.strings !== undefined && wire.strings.length > 0) return AttributeType.STRINGS;
  return undefined;
}

function fromWireValueInfo(wire: WireValueInfo): ValueInfoProto {
  const name = wire.name ?? '';
  return {
    name,
    type: fromWireType(wire.type, name),
    ...(has(wire, 'doc_string') ? { docString: wire.doc_string } : {}),
  };
}

function fromWireType(wire: WireType | undefined, valueName: string): TensorTypeProto {
  const tensorType = wire?.tensor_type;
  if (tensorType === undefined || tensorType === null) {
    throw new Error(`value '${valueName}' has no tensor type; seqc reads only tensor-typed values`);
  }
  const elemType = (tensorType.elem_type ?? 0) as DataType;
  if (!has(tensorType, 'shape') || tensorType.shape === undefined) {
    return { elemType };
  }
  return { elemType, shape: (tensorType.shape.dim ?? []).map(fromWireDimension) };
}

// ONNX's unknown dimension (neither field set) becomes a 'param' dimension with an empty name.
function fromWireDimension(wire: WireDimension): OnnxDim {
  if (has(wire, 'dim_value')) {
    return { kind: 'value', value: int64Number(wire.dim_value ?? 0) };
  }
  return { kind: 'param', name: wire.dim_param ?? '' };
}

function fromWireTensor(wire: WireTensor): TensorProto {
  const name = wire.name ?? '';
  const dataType = (wire.data_type ?? 0) as DataType;
  if (wire.data_location === DataLocation.EXTERNAL) {
    return {
      name,
      dataType,
      dims: (wire.dims ?? []).map(int64Number),
      external: externalPlace(wire, name),
      ...(has(wire, 'doc_string') ? { docString: wire.doc_string } : {}),
    };
  }
  if (wire.string_data !== undefined && wire.string_data.length > 0) {
    throw new Error(`tensor '${name}' holds strings, which seqc cannot represent`);
  }
  return {
    name,
    dataType,
    dims: (wire.dims ?? []).map(int64Number),
    ...fromWireTensorData(wire, dataType),
    ...(has(wire, 'doc_string') ? { docString: wire.doc_string } : {}),
  };
}

// The external_data entries of a tensor whose bytes live in another file; offset defaults to 0 and
// length to "the rest", which is recorded as -1.
function externalPlace(wire: WireTensor, name: string): { location: string; offset: number; length: number } {
  const entries = new Map((wire.external_data ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = entries.get('location');
  if (location === undefined || location === '') throw new Error(`tensor '${name}' is external but names no location`);
  const number = (key: string, fallback: number): number => {
    const text = entries.get(key);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < 0)
      throw new Error(`tensor '${name}' has external ${key} ${JSON.stringify(text)}, not a whole number`);
    return value;
  };
  return { location, offset: number('offset', 0), length: number('length', -1) };
}

type TensorData = Pick<TensorProto, 'floatData' | 'int32Data' | 'int64Data' | 'rawData'>;

// Picks whichever data field the file used and converts it to the one normalized field for the type.
// A tensor with no data field at all (a zero-element tensor written by a terse producer) gets none.
function fromWireTensorData(wire: WireTensor, dataType: number): TensorData {
  const raw = has(wire, 'raw_data') ? wire.raw_data : undefined;
  switch (dataType) {
    case DataType.FLOAT:
      if (raw !== undefined) return { floatData: new Float32Array(hostOrderBuffer(raw, 4)) };
      if (nonEmpty(wire.float_data)) return { floatData: Float32Array.from(wire.float_data) };
      return noMismatchedData(wire, dataType);
    case DataType.INT64:
      if (raw !== undefined) return { int64Data: new BigInt64Array(hostOrderBuffer(raw, 8)) };
      if (nonEmpty(wire.int64_data)) return { int64Data: BigInt64Array.from(wire.int64_data, int64BigInt) };
      return noMismatchedData(wire, dataType);
    case DataType.INT32:
      if (raw !== undefined) return { int32Data: new Int32Array(hostOrderBuffer(raw, 4)) };
      if (nonEmpty(wire.int32_data)) return { int32Data: Int32Array.from(wire.int32_data) };
      return noMismatchedData(wire, dataType);
    default:
      if (raw !== undefined) return { rawData: new Uint8Array(raw) };
      return otherDataAsRaw(wire, dataType);
  }
}

// A FLOAT, INT32 or INT64 tensor whose elements sit in a field for another type (which onnx.proto
// forbids) is refused rather than silently reinterpreted; one with no elements at all gets no data.
function noMismatchedData(wire: WireTensor, dataType: number): TensorData {
  const typedFields = [wire.float_data, wire.int32_data, wire.int64_data, wire.double_data, wire.uint64_data];
  if (typedFields.some(nonEmpty)) {
    throw new Error(
      `tensor '${wire.name ?? ''}' of data type ${dataType} keeps its elements in a field for another type`,
    );
  }
  return {};
}

// Converts the typed fields that may hold a type other than FLOAT, INT32 and INT64 to raw bytes.
function otherDataAsRaw(wire: WireTensor, dataType: number): TensorData {
  const width32 = int32DataWidth(dataType);
  if (width32 !== undefined && nonEmpty(wire.int32_data)) {
    const values = wire.int32_data;
    const bytes = new Uint8Array(values.length * width32);
    const view = new DataView(bytes.buffer);
    values.forEach((value, i) => {
      if (width32 === 4) view.setInt32(i * 4, value, true);
      else if (width32 === 2) view.setUint16(i * 2, value & 0xffff, true);
      else view.setUint8(i, value & 0xff);
    });
    return { rawData: bytes };
  }
  if (nonEmpty(wire.double_data)) {
    const bytes = new Uint8Array(wire.double_data.length * 8);
    const view = new DataView(bytes.buffer);
    wire.double_data.forEach((value, i) => view.setFloat64(i * 8, value, true));
    return { rawData: bytes };
  }
  if (nonEmpty(wire.uint64_data)) {
    // UINT32 (12) is stored one element per uint64 but is four bytes wide in raw_data.
    const width = dataType === 12 ? 4 : 8;
    const bytes = new Uint8Array(wire.uint64_data.length * width);
    const view = new DataView(bytes.buffer);
    wire.uint64_data.forEach((value, i) => {
      const bits = BigInt.asUintN(64, int64BigInt(value));
      if (width === 4) view.setUint32(i * 4, Number(bits & 0xffffffffn), true);
      else view.setBigUint64(i * 8, bits, true);
    });
    return { rawData: bytes };
  }
  if (nonEmpty(wire.float_data)) {
    // COMPLEX64 (14) is stored as pairs of floats.
    const bytes = new Uint8Array(wire.float_data.length * 4);
    const view = new DataView(bytes.buffer);
    wire.float_data.forEach((value, i) => view.setFloat32(i * 4, value, true));
    return { rawData: bytes };
  }
  if (nonEmpty(wire.int64_data)) {
    const bytes = new Uint8Array(wire.int64_data.length * 8);
    const view = new DataView(bytes.buffer);
    wire.int64_data.forEach((value, i) => view.setBigInt64(i * 8, int64BigInt(value), true));
    return { rawData: bytes };
  }
  return {};
}

// Copies raw bytes into a fresh, aligned buffer in host byte order, so a typed array can view it.
function hostOrderBuffer(raw: Uint8Array, width: 4 | 8): ArrayBuffer {
  if (raw.length % width !== 0) {
    throw new Error(`raw_data of ${raw.length} bytes is not a whole number of ${width}-byte elements`);
  }
  const copy = new Uint8Array(raw);
  if (!hostIsLittleEndian) {
    for (let start = 0; start < copy.length; start += width) {
      copy.subarray(start, start + width).reverse();
    }
  }
  return copy.buffer;
}

function nonEmpty<T>(values: T[] | undefined): values is T[] {
  return values !== undefined && values.length > 0;
}

// protobufjs decodes an int64 to a number, or to a Long when the `long` package is loaded.
function int64Number(value: WireInt64): number {
  if (typeof value === 'number') return value;
  return value.high * 4294967296 + (value.low >>> 0);
}

function int64BigInt(value: WireInt64): bigint {
  if (typeof value === 'number') return BigInt(value);
  return (BigInt(value.high | 0) << 32n) | BigInt(value.low >>> 0);
}

// Decoded messages carry defaults on their prototype, so presence is an own property.
function has<T extends object>(message: T, field: keyof T & string): boolean {
  return Object.prototype.hasOwnProperty.call(message, field);
}

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
