// Typed constructors for the ONNX operators seqc emits: named inputs and attributes, absent optional inputs as `undefined`, and the opset-dependent forms in one place.
//
// Every constructor adds one node to a GraphBuilder and takes, in order: the builder, the node's
// name (the spec path, `lstm/l0/forward/LSTM`), its inputs, its output(s), its attributes when the
// operator has any, and the doc string (the spec location). An optional input or output is
// `undefined` when absent; `node` below turns it into ONNX's '' and drops trailing absent ones, the
// only place where that happens. Attributes are written in the order each constructor lists them,
// so the encoded model does not depend on how a call site spelled them.
//
// Opset-dependent forms: seqc supports opsets 14 to 21 (src/index.ts), so Squeeze, Unsqueeze and
// ReduceSum always take `axes` as an input (since opset 13); ReduceMean and ReduceMax take it as an
// attribute before opset 18 and as an input from 18 on, which `reduceMean` and `reduceMax` decide.

import { DataType, type AttributeProto, type GraphProto } from '../onnx/types.js';
import { attr, type GraphBuilder, type TensorType } from './builder.js';

/** A node output: a tensor name and, unless it is a graph output, its type (recorded in value_info). */
export interface Out {
  readonly name: string;
  readonly type?: TensorType;
}

type Maybe = string | undefined;

/** The one place where absent inputs and outputs become '' and trailing absent ones are dropped. */
function node(
  b: GraphBuilder,
  name: string,
  opType: string,
  inputs: readonly Maybe[],
  outputs: readonly (Out | undefined)[],
  attributes: readonly AttributeProto[],
  doc: string | undefined,
): void {
  const named = inputs.map((i) => i ?? '');
  while (named.length > 0 && named[named.length - 1] === '') named.pop();
  const outs = outputs.map((o) => o ?? { name: '' });
  while (outs.length > 0 && outs[outs.length - 1]!.name === '') outs.pop();
  b.node(name, opType, named, outs, attributes, doc);
}

/** The attributes given, in the order listed, leaving out the undefined ones. */
function attributes(...list: readonly (AttributeProto | undefined)[]): AttributeProto[] {
  return list.filter((a): a is AttributeProto => a !== undefined);
}

function optionalInt(name: string, value: number | undefined): AttributeProto | undefined {
  return value === undefined ? undefined : attr.int(name, value);
}

// ---------------------------------------------------------------------------------------------
// Element-wise operators.

type Unary = (b: GraphBuilder, name: string, inputs: readonly [x: string], out: Out, doc?: string) => void;
type Binary = (b: GraphBuilder, name: string, inputs: readonly [a: string, b: string], out: Out, doc?: string) => void;

function unary(opType: string): Unary {
  return (b, name, inputs, out, doc) => node(b, name, opType, inputs, [out], [], doc);
}

function binary(opType: string): Binary {
  return (b, name, inputs, out, doc) => node(b, name, opType, inputs, [out], [], doc);
}

export const identity = unary('Identity');
export const shape = unary('Shape');
export const not = unary('Not');
export const exp = unary('Exp');
export const log = unary('Log');
export const sqrt = unary('Sqrt');
export const tanh = unary('Tanh');
export const relu = unary('Relu');
export const sigmoid = unary('Sigmoid');

export const add = binary('Add');
export const sub = binary('Sub');
export const mul = binary('Mul');
export const div = binary('Div');
export const max = binary('Max');
export const matMul = binary('MatMul');
export const equal = binary('Equal');
export const less = binary('Less');
export const lessOrEqual = binary('LessOrEqual');
export const or = binary('Or');
/** Reshape `data` to the int64 `shape` tensor. */
export const reshape: (
  b: GraphBuilder,
  name: string,
  inputs: readonly [data: string, shape: string],
  out: Out,
  doc?: string,
) => void = binary('Reshape');
/** Broadcast `data` to the int64 `shape` tensor. */
export const expand: (
  b: GraphBuilder,
  name: string,
  inputs: readonly [data: string, shape: string],
  out: Out,
  doc?: string,
) => void = binary('Expand');
/** Squeeze the axes listed by the int64 `axes` tensor (an input since opset 13). */
export const squeeze: (
  b: GraphBuilder,
  name: string,
  inputs: readonly [data: string, axes: string],
  out: Out,
  doc?: string,
) => void = binary('Squeeze');
/** Unsqueeze at the axes listed by the int64 `axes` tensor (an input since opset 13). */
export const unsqueeze: (
  b: GraphBuilder,
  name: string,
  inputs: readonly [data: string, axes: string],
  out: Out,
  doc?: string,
) => void = binary('Unsqueeze');
/** Running sum along the scalar `axis` tensor. */
export const cumSum: (
  b: GraphBuilder,
  name: string,
  inputs: readonly [x: string, axis: string],
  out: Out,
  doc?: string,
) => void = binary('CumSum');

export function where(
  b: GraphBuilder,
  name: string,
  inputs: readonly [condition: string, x: string, y: string],
  out: Out,
  doc?: string,
): void {
  node(b, name, 'Where', inputs, [out], [], doc);
}

export function range(
  b: GraphBuilder,
  name: string,
  inputs: readonly [start: string, limit: string, delta: string],
  out: Out,
  doc?: string,
): void {
  node(b, name, 'Range', inputs, [out], [], doc);
}

/** Constant padding: `pads` is int64 [2·rank], `value` a scalar of the data's type. */
export function pad(
  b: GraphBuilder,
  name: string,
  inputs: readonly [data: string, pads: string, value?: Maybe],
  out: Out,
  doc?: string,
): void {
  node(b, name, 'Pad', inputs, [out], [], doc);
}

export function slice(
  b: GraphBuilder,
  name: string,
  inputs: readonly [data: string, starts: string, ends: string, axes?: Maybe, steps?: Maybe],
  out: Out,
  doc?: string,
): void {
  node(b, name, 'Slice', inputs, [out], [], doc);
}

// ---------------------------------------------------------------------------------------------
// Operators with attributes.

export function cast(
  b: GraphBuilder,
  name: string,
  inputs: readonly [x: string],
  out: Out,
  attrs: { readonly to: DataType },
  doc?: string,
): void {
  node(b, name, 'Cast', inputs, [out], [attr.int('to', attrs.to)], doc);
}

export function transpose(
  b: GraphBuilder,
  name: string,
  inputs: readonly [x: string],
  out: Out,
  attrs: { readonly perm: readonly number[] },
  doc?: string,
): void {
  node(b, name, 'Transpose', inputs, [out], [attr.ints('perm', attrs.perm)], doc);
}

export function concat(
  b: GraphBuilder,
  name: string,
  inputs: readonly string[],
  out: Out,
  attrs: { readonly axis: number },
  doc?: string,
): void {
  node(b, name, 'Concat', inputs, [out], [attr.int('axis', attrs.axis)], doc);
}

export function gather(
  b: GraphBuilder,
  name: string,
  inputs: readonly [data: string, indices: string],
  out: Out,
  attrs: { readonly axis: number },
  doc?: string,
): void {
  node(b, name, 'Gather', inputs, [out], [attr.int('axis', attrs.axis)], doc);
}

export function gatherElements(
  b: GraphBuilder,
  name: string,
  inputs: readonly [data: string, indices: string],
  out: Out,
  attrs: { readonly axis: number },
  doc?: string,
): void {
  node(b, name, 'GatherElements', inputs, [out], [attr.int('axis', attrs.axis)], doc);
}

export function softmax(
  b: GraphBuilder,
  name: string,
  inputs: readonly [x: string],
  out: Out,
  attrs: { readonly axis: number },
  doc?: string,
): void {
  node(b, name, 'Softmax', inputs, [out], [attr.int('axis', attrs.axis)], doc);
}

export function logSoftmax(
  b: GraphBuilder,
  name: string,
  inputs: readonly [x: string],
  out: Out,
  attrs: { readonly axis: number },
  doc?: string,
): void {
  node(b, name, 'LogSoftmax', inputs, [out], [attr.int('axis', attrs.axis)], doc);
}

export function argMax(
  b: GraphBuilder,
  name: string,
  inputs: readonly [x: string],
  out: Out,
  attrs: { readonly axis: number; readonly keepdims: 0 | 1 },
  doc?: string,
): void {
  node(b, name, 'ArgMax', inputs, [out], [attr.int('axis', attrs.axis), attr.int('keepdims', attrs.keepdims)], doc);
}

/** Y = A·B (Bᵀ with `transB`) + C. */
export function gemm(
  b: GraphBuilder,
  name: string,
  inputs: readonly [a: string, b: string, c?: Maybe],
  out: Out,
  attrs: { readonly transA?: 0 | 1; readonly transB?: 0 | 1 },
  doc?: string,
): void {
  node(
    b,
    name,
    'Gemm',
    inputs,
    [out],
    attributes(optionalInt('transA', attrs.transA), optionalInt('transB', attrs.transB)),
    doc,
  );
}

export function layerNormalization(
  b: GraphBuilder,
  name: string,
  inputs: readonly [x: string, scale: string, bias?: Maybe],
  out: Out,
  attrs: { readonly axis: number; readonly epsilon: number },
  doc?: string,
): void {
  node(
    b,
    name,
    'LayerNormalization',
    inputs,
    [out],
    [attr.int('axis', attrs.axis), attr.float('epsilon', attrs.epsilon)],
    doc,
  );
}

/** A tensor of the int64 `shape`, filled with `value` (an int64 when given; ONNX's default is float 0). */
export function constantOfShape(
  b: GraphBuilder,
  name: string,
  inputs: readonly [shape: string],
  out: Out,
  attrs: { readonly int64Value?: number | bigint },
  doc?: string,
): void {
  const value = attrs.int64Value;
  const list: AttributeProto[] =
    value === undefined
      ? []
      : [
          {
            name: 'value',
            kind: 'tensor',
            value: { name: 'value', dataType: DataType.INT64, dims: [1], int64Data: BigInt64Array.of(BigInt(value)) },
          },
        ];
  node(b, name, 'ConstantOfShape', inputs, [out], list, doc);
}

/** The `k` (int64 [1]) largest or smallest entries along `axis`: their values (optional) and indices. */
export function topK(
  b: GraphBuilder,
  name: string,
  inputs: readonly [x: string, k: string],
  outs: { readonly values?: Out | undefined; readonly indices: Out },
  attrs: { readonly axis: number; readonly largest: 0 | 1; readonly sorted: 0 | 1 },
  doc?: string,
): void {
  const list = [attr.int('axis', attrs.axis), attr.int('largest', attrs.largest), attr.int('sorted', attrs.sorted)];
  node(b, name, 'TopK', inputs, [outs.values, outs.indices], list, doc);
}

// ---------------------------------------------------------------------------------------------
// Reductions: ReduceSum takes `axes` as an input (opset 13 on); ReduceMean and ReduceMax moved it
// from an attribute to an input at opset 18.

export function reduceSum(
  b: GraphBuilder,
  name: string,
  inputs: readonly [data: string, axes: string],
  out: Out,
  attrs: { readonly keepdims: 0 | 1 },
  doc?: string,
): void {
  node(b, name, 'ReduceSum', inputs, [out], [attr.int('keepdims', attrs.keepdims)], doc);
}

/** The axes of a ReduceMean or ReduceMax: their values, and the initializer name they get where the opset wants an input. */
export interface ReduceAxes {
  readonly values: readonly number[];
  readonly initializer: string;
}

export function reduceMean(
  b: GraphBuilder,
  name: string,
  data: string,
  axes: ReduceAxes,
  out: Out,
  attrs: { readonly keepdims: 0 | 1 },
  doc?: string,
): void {
  reduceWithAxes(b, name, 'ReduceMean', data, axes, out, attrs.keepdims, doc);
}

export function reduceMax(
  b: GraphBuilder,
  name: string,
  data: string,
  axes: ReduceAxes,
  out: Out,
  attrs: { readonly keepdims: 0 | 1 },
  doc?: string,
): void {
  reduceWithAxes(b, name, 'ReduceMax', data, axes, out, attrs.keepdims, doc);
}

function reduceWithAxes(
  b: GraphBuilder,
  name: string,
  opType: 'ReduceMean' | 'ReduceMax',
  data: string,
  axes: ReduceAxes,
  out: Out,
  keepdims: 0 | 1,
  doc: string | undefined,
): void {
  if (b.opset >= 18) {
    const axesTensor = b.int64Initializer(axes.initializer, axes.values);
    node(b, name, opType, [data, axesTensor], [out], [attr.int('keepdims', keepdims)], doc);
  } else {
    node(b, name, opType, [data], [out], [attr.ints('axes', axes.values), attr.int('keepdims', keepdims)], doc);
  }
}

// ---------------------------------------------------------------------------------------------
// Recurrent cells and the Loop.

/** The inputs of an LSTM, GRU or RNN node; everything after R is optional. */
export interface RecurrentInputs {
  readonly x: string;
  readonly w: string;
  readonly r: string;
  readonly b?: Maybe;
  readonly sequenceLens?: Maybe;
  readonly initialH?: Maybe;
}

export interface RecurrentOutputs {
  readonly y?: Out | undefined;
  readonly yH?: Out | undefined;
}

export interface RecurrentAttributes {
  readonly hiddenSize: number;
  readonly activations?: readonly string[] | undefined;
  readonly activationAlpha?: readonly number[] | undefined;
  readonly activationBeta?: readonly number[] | undefined;
  readonly direction: 'forward' | 'reverse';
}

export function lstm(
  b: GraphBuilder,
  name: string,
  inputs: RecurrentInputs & { readonly initialC?: Maybe },
  outputs: RecurrentOutputs & { readonly yC?: Out | undefined },
  attrs: RecurrentAttributes,
  doc?: string,
): void {
  const { x, w, r, b: bias, sequenceLens, initialH, initialC } = inputs;
  node(
    b,
    name,
    'LSTM',
    [x, w, r, bias, sequenceLens, initialH, initialC],
    [outputs.y, outputs.yH, outputs.yC],
    recurrentAttributes(attrs, undefined),
    doc,
  );
}

export function gru(
  b: GraphBuilder,
  name: string,
  inputs: RecurrentInputs,
  outputs: RecurrentOutputs,
  attrs: RecurrentAttributes & { readonly linearBeforeReset: 0 | 1 },
  doc?: string,
): void {
  const { x, w, r, b: bias, sequenceLens, initialH } = inputs;
  node(
    b,
    name,
    'GRU',
    [x, w, r, bias, sequenceLens, initialH],
    [outputs.y, outputs.yH],
    recurrentAttributes(attrs, attrs.linearBeforeReset),
    doc,
  );
}

export function rnn(
  b: GraphBuilder,
  name: string,
  inputs: RecurrentInputs,
  outputs: RecurrentOutputs,
  attrs: RecurrentAttributes,
  doc?: string,
): void {
  const { x, w, r, b: bias, sequenceLens, initialH } = inputs;
  node(
    b,
    name,
    'RNN',
    [x, w, r, bias, sequenceLens, initialH],
    [outputs.y, outputs.yH],
    recurrentAttributes(attrs, undefined),
    doc,
  );
}

function recurrentAttributes(attrs: RecurrentAttributes, linearBeforeReset: number | undefined): AttributeProto[] {
  return attributes(
    attr.int('hidden_size', attrs.hiddenSize),
    attrs.activationAlpha === undefined ? undefined : attr.floats('activation_alpha', attrs.activationAlpha),
    attrs.activationBeta === undefined ? undefined : attr.floats('activation_beta', attrs.activationBeta),
    attrs.activations === undefined ? undefined : attr.strings('activations', attrs.activations),
    optionalInt('linear_before_reset', linearBeforeReset),
    attr.string('direction', attrs.direction),
  );
}

/** A Loop: `carried` are the loop-carried values' initial tensors; outputs are their finals, then the scans. */
export function loop(
  b: GraphBuilder,
  name: string,
  inputs: { readonly tripCount?: Maybe; readonly condition?: Maybe; readonly carried: readonly string[] },
  outputs: readonly Out[],
  attrs: { readonly body: GraphProto },
  doc?: string,
): void {
  node(
    b,
    name,
    'Loop',
    [inputs.tripCount ?? '', inputs.condition ?? '', ...inputs.carried],
    outputs,
    [attr.graph('body', attrs.body)],
    doc,
  );
}
