// Prints a ModelProto in ONNX's textual syntax with initializer values elided, for reading and golden-file diffs.

import { assertNever } from '../contracts/assert.js';
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
import { tensorHasData, tensorRawData } from './encode.js';

/**
 * Formats a model close to onnx.printer's syntax: a `<ir_version: …, opset_import: […]>` header, the
 * graph signature, a `<…>` list of initializers and value_info, and one node per line as
 * `[node/name] out = Op <attr = value> (in1, in2)`. Initializer values are replaced by an FNV-1a
 * checksum of their bytes, so a weight change shows in a diff without the weights themselves.
 * Metadata and doc strings become `#` comment lines. The output depends only on the model, so equal
 * models give equal text.
 */
export function formatModel(model: ModelProto): string {
  const lines = [headerLine(model)];
  for (const entry of model.metadataProps) {
    lines.push(`# metadata_props: ${quote(entry.key)}: ${quote(entry.value)}`);
  }
  lines.push(...graphLines(model.graph, ''));
  return lines.join('\n') + '\n';
}

/** Tensor attributes with at most this many elements print their values; larger ones print a checksum. */
export const inlineTensorLimit = 16;

/** The 32-bit FNV-1a hash of some bytes as eight hex digits, the checksum printed for elided tensors. */
export function fnv1a32(bytes: Uint8Array): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    hash = Math.imul(hash ^ bytes[i], 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}

const step = '   ';

function headerLine(model: ModelProto): string {
  const opsets = model.opsetImports.map((opset) => `${quote(opset.domain)} : ${opset.version}`).join(', ');
  const fields = [`ir_version: ${model.irVersion}`, `opset_import: [${opsets}]`];
  if (model.producerName !== '') fields.push(`producer_name: ${quote(model.producerName)}`);
  if (model.producerVersion !== '') fields.push(`producer_version: ${quote(model.producerVersion)}`);
  if (model.domain !== undefined) fields.push(`domain: ${quote(model.domain)}`);
  if (model.modelVersion !== undefined) fields.push(`model_version: ${model.modelVersion}`);
  if (model.docString !== undefined) fields.push(`doc_string: ${quote(model.docString)}`);
  return `<${fields.join(', ')}>`;
}

// The first line (the signature) carries no indentation, so a graph can follow `name = ` in an
// attribute list; the lines after it are indented by `indent`. Doc strings of the graph and of its
// inputs and outputs come right after the signature, before the initializers and the nodes.
function graphLines(graph: GraphProto, indent: string): string[] {
  const inputs = graph.inputs.map(valueInfoText).join(', ');
  const outputs = graph.outputs.map(valueInfoText).join(', ');
  const lines = [`${identifier(graph.name)} (${inputs}) => (${outputs})`];
  lines.push(...commentLines(graph.docString, indent));
  for (const info of graph.inputs)
    lines.push(...commentLines(info.docString, indent, `input ${identifier(info.name)}: `));
  for (const info of graph.outputs)
    lines.push(...commentLines(info.docString, indent, `output ${identifier(info.name)}: `));
  const inner = indent + step;
  const declarations = [
    ...graph.initializers.map((tensor) => ({ doc: tensor.docString, text: initializerText(tensor) })),
    ...graph.valueInfo.map((info) => ({ doc: info.docString, text: valueInfoText(info) })),
  ];
  if (declarations.length > 0) {
    lines.push(`${indent}<`);
    declarations.forEach((declaration, i) => {
      lines.push(...commentLines(declaration.doc, inner));
      const separator = i < declarations.length - 1 ? ',' : '';
      lines.push(`${inner}${declaration.text}${separator}`);
    });
    lines.push(`${indent}>`);
  }
  lines.push(`${indent}{`);
  for (const node of graph.nodes) {
    lines.push(...commentLines(node.docString, inner));
    lines.push(inner + nodeText(node, inner));
  }
  lines.push(`${indent}}`);
  return lines;
}

// Like onnx.printer, attributes go before the inputs unless one holds a graph, which would push the
// inputs far below the operator; then they go after.
function nodeText(node: NodeProto, indent: string): string {
  const label = node.name === '' ? '' : `[${identifier(node.name)}] `;
  const outputs = node.outputs.map(identifier).join(', ');
  const operator = node.domain !== undefined && node.domain !== '' ? `${node.domain}.${node.opType}` : node.opType;
  const inputs = `(${node.inputs.map(identifier).join(', ')})`;
  if (node.attributes.length === 0) {
    return `${label}${outputs} = ${operator} ${inputs}`;
  }
  const attributes = `<${node.attributes.map((attribute) => attributeText(attribute, indent)).join(', ')}>`;
  const hasGraph = node.attributes.some((attribute) => attribute.kind === 'graph');
  return hasGraph
    ? `${label}${outputs} = ${operator} ${inputs} ${attributes}`
    : `${label}${outputs} = ${operator} ${attributes} ${inputs}`;
}

function attributeText(attribute: AttributeProto, indent: string): string {
  return `${attribute.name} = ${attributeValueText(attribute, indent)}`;
}

function attributeValueText(attribute: AttributeProto, indent: string): string {
  switch (attribute.kind) {
    case 'float':
      return floatAttributeText(attribute.value);
    case 'int':
      return String(attribute.value);
    case 'string':
      return quote(attribute.value);
    case 'tensor':
      return tensorConstantText(attribute.value);
    case 'graph':
      return graphLines(attribute.value, indent + step).join('\n');
    case 'floats':
      return `[${attribute.value.map(floatAttributeText).join(', ')}]`;
    case 'ints':
      return `[${attribute.value.map(String).join(', ')}]`;
    case 'strings':
      return `[${attribute.value.map(quote).join(', ')}]`;
    default:
      return assertNever(attribute);
  }
}

function initializerText(tensor: TensorProto): string {
  return `${tensorTypeText(tensor)} ${identifier(tensor.name)} /* ${checksumText(tensor)} */`;
}

function tensorConstantText(tensor: TensorProto): string {
  const name = tensor.name === '' ? '' : ` ${identifier(tensor.name)}`;
  const values = elementCount(tensor) <= inlineTensorLimit ? tensorValues(tensor) : undefined;
  const body = values === undefined ? `/* ${checksumText(tensor)} */` : `{${values.join(',')}}`;
  return `${tensorTypeText(tensor)}${name} ${body}`;
}

function checksumText(tensor: TensorProto): string {
  if (tensor.external !== undefined) return `external ${tensor.external.location} at ${tensor.external.offset}`;
  return tensorHasData(tensor) ? `fnv1a ${fnv1a32(tensorRawData(tensor))}` : 'no data';
}

function tensorTypeText(tensor: TensorProto): string {
  const dims = tensor.dims.length > 0 ? `[${tensor.dims.join(',')}]` : '';
  return `${dataTypeName(tensor.dataType)}${dims}`;
}

function elementCount(tensor: TensorProto): number {
  return tensor.dims.reduce((count, dim) => count * dim, 1);
}

// Reads the elements from the tensor's little-endian bytes, so every storage field prints the same.
// Returns undefined for types it cannot print and for data whose length does not fit the dims.
function tensorValues(tensor: TensorProto): string[] | undefined {
  const reader = elementReader(tensor.dataType);
  if (reader === undefined) return undefined;
  const bytes = tensorRawData(tensor);
  const count = elementCount(tensor);
  if (bytes.length !== count * reader.width) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values: string[] = [];
  for (let i = 0; i < count; i++) values.push(reader.read(view, i * reader.width));
  return values;
}

interface ElementReader {
  readonly width: number;
  readonly read: (view: DataView, offset: number) => string;
}

// Half-precision types print their 16-bit patterns, as onnx.printer does.
function elementReader(dataType: number): ElementReader | undefined {
  switch (dataType) {
    case DataType.FLOAT:
      return { width: 4, read: (view, offset) => float32Text(view.getFloat32(offset, true)) };
    case DataType.DOUBLE:
      return { width: 8, read: (view, offset) => numberText(view.getFloat64(offset, true)) };
    case DataType.INT64:
      return { width: 8, read: (view, offset) => view.getBigInt64(offset, true).toString() };
    case 13: // UINT64
      return { width: 8, read: (view, offset) => view.getBigUint64(offset, true).toString() };
    case DataType.INT32:
      return { width: 4, read: (view, offset) => String(view.getInt32(offset, true)) };
    case 12: // UINT32
      return { width: 4, read: (view, offset) => String(view.getUint32(offset, true)) };
    case 5: // INT16
      return { width: 2, read: (view, offset) => String(view.getInt16(offset, true)) };
    case 4: // UINT16
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
      return { width: 2, read: (view, offset) => String(view.getUint16(offset, true)) };
    case DataType.INT8:
      return { width: 1, read: (view, offset) => String(view.getInt8(offset)) };
    case DataType.UINT8:
    case DataType.BOOL:
      return { width: 1, read: (view, offset) => String(view.getUint8(offset)) };
    default:
      return undefined;
  }
}

function valueInfoText(info: ValueInfoProto): string {
  return `${tensorTypeProtoText(info.type)} ${identifier(info.name)}`;
}

// As in onnx.printer, a scalar prints as the bare element type and an unknown rank as `type[]`.
function tensorTypeProtoText(type: TensorTypeProto): string {
  const name = dataTypeName(type.elemType);
  if (type.shape === undefined) return `${name}[]`;
  if (type.shape.length === 0) return name;
  return `${name}[${type.shape.map(dimText).join(',')}]`;
}

function dimText(dim: OnnxDim): string {
  if (dim.kind === 'value') return String(dim.value);
  return dim.name === '' ? '?' : identifier(dim.name);
}

const dataTypeNames: Readonly<Record<number, string>> = {
  1: 'float',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'double',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
};

function dataTypeName(dataType: number): string {
  return dataTypeNames[dataType] ?? `dtype${dataType}`;
}

// Attribute floats are float32 in ONNX, so they print as the float32 they will be stored as, with a
// `.0` on whole numbers to tell them from ints (the printed form carries no type annotation).
function floatAttributeText(value: number): string {
  const text = float32Text(value);
  return /^-?\d+$/.test(text) ? `${text}.0` : text;
}

// The shortest decimal that reads back as the same float32.
function float32Text(value: number): string {
  const single = Math.fround(value);
  if (!Number.isFinite(single) || single === 0) return numberText(single);
  for (let precision = 1; precision < 9; precision++) {
    const candidate = Number(single.toPrecision(precision));
    if (Math.fround(candidate) === single) return numberText(candidate);
  }
  return numberText(Number(single.toPrecision(9)));
}

function numberText(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (Object.is(value, -0)) return '-0';
  return String(value);
}

function commentLines(text: string | undefined, indent: string, prefix = ''): string[] {
  if (text === undefined || text === '') return [];
  return text.split(/\r?\n/).map((line, i) => `${indent}# ${i === 0 ? prefix : ''}${line}`.trimEnd());
}

// Names that are not plain identifiers (such as `lstm/l0/forward/LSTM`) are quoted, as onnx.printer does.
function identifier(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : quote(name);
}

function quote(text: string): string {
  return JSON.stringify(text);
}
