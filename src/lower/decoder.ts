// What every graph of a seq2seq or language-model bundle shares: the decoder context, its sizes and state names, and small shape helpers.

import * as onnx from './ops.js';
import type { DecoderIR, ModelIR } from '../ir/ir.js';
import type { GraphProto, OnnxDim, ValueInfoProto } from '../onnx/types.js';
import type { WeightMap } from '../weights/types.js';
import type { Span } from '../diagnostics/diagnostic.js';
import { dimParam, dimValue, float, int64, type GraphBuilder, type TensorType } from './builder.js';
import { onnxDim, recordedPlace, type LowerOptions } from './lower.js';
import { targetFor, type Target } from './target.js';

export { float, int64, bool, info } from './builder.js';

/** The symbolic and fixed sizes every graph of the bundle uses. */
export interface Sizes {
  readonly batch: OnnxDim;
  readonly srcTime: OnnxDim;
  readonly layers: number;
  readonly hidden: number;
  readonly memoryDim: number;
  readonly vocab: number;
}

/** Tensor names of a decoder state inside one graph. */
export interface StepState {
  readonly h: string;
  readonly c?: string;
  readonly feed?: string;
}

export interface StepOutputs extends StepState {
  readonly logits: string;
  readonly attention?: string;
}

/** The encoder side as seen from a graph: memory [batch, src_time, D], its mask, and the initial state. */
export interface EncoderValues {
  readonly memory?: string;
  readonly valid?: string;
  readonly lengths?: string;
}

/** What every function building a bundle's graphs reads: the model, its decoder, the weights, the options and the target. */
export interface DecoderContext {
  readonly ir: ModelIR;
  readonly decoder: DecoderIR;
  readonly weights: WeightMap;
  readonly options: LowerOptions;
  readonly sizes: Sizes;
  /** Every generic-vs-webgpu decision (./target.ts): for webgpu, no Loop, no Shape, no int64 arithmetic, no RNN node. */
  readonly target: Target;
  readonly isLstm: boolean;
  /** The decoder state's type, [layers, batch, hidden]. */
  readonly stateType: TensorType;
  /** A weight's data; resolving the weights guaranteed that every parameter is there. */
  weight(name: string): Float32Array;
  /** A span (by default the decoder's recurrent layer's) as a node's doc string records it. */
  where(span?: Span): string;
}

/** The context for `ir`, which has a decoder. */
export function decoderContext(ir: ModelIR, weights: WeightMap, options: LowerOptions): DecoderContext {
  const decoder = ir.decoder!;
  const memoryType = ir.encoder?.memoryType;
  const sizes: Sizes = {
    batch: memoryType === undefined ? dimParam('batch') : onnxDim(memoryType.dims[0]!),
    srcTime: memoryType === undefined ? dimParam('src_time') : onnxDim(memoryType.dims[1]!),
    layers: decoder.recurrent.layers,
    hidden: decoder.recurrent.hidden,
    memoryDim:
      decoder.attention?.memoryDim ?? (memoryType === undefined ? 0 : (memoryType.dims[2] as { size: number }).size),
    vocab: decoder.vocab,
  };
  return {
    ir,
    decoder,
    weights,
    options,
    sizes,
    target: targetFor(options.target),
    isLstm: decoder.recurrent.cell === 'lstm',
    stateType: float([dimValue(sizes.layers), sizes.batch, dimValue(sizes.hidden)]),
    weight: (name) => {
      const w = weights.get(name);
      if (w === undefined) throw new Error(`weight ${name} is missing after weights were resolved`);
      return w.data;
    },
    where: (span = decoder.recurrent.span) => recordedPlace(span),
  };
}

/** A graph holding what `b` built. */
export function graphOf(
  b: GraphBuilder,
  name: string,
  inputs: ValueInfoProto[],
  outputs: ValueInfoProto[],
  doc: string,
): GraphProto {
  return {
    name,
    nodes: b.nodes,
    initializers: b.initializers,
    inputs,
    outputs,
    valueInfo: b.valueInfo,
    docString: doc,
  };
}

/** A scalar int64 tensor: the size of `axis` of `tensor`. */
export function axisSize(b: GraphBuilder, tensor: string, axis: number, name: string): string {
  const shape = b.fresh(`${name}/shape`);
  onnx.shape(b, `${name}/Shape`, [tensor], { name: shape });
  const index = b.int64Initializer(`${name}/index`, [axis], []);
  const out = b.fresh(name);
  onnx.gather(b, `${name}/Gather`, [shape, index], { name: out, type: int64([]) }, { axis: 0 });
  return out;
}

/** A [batch] tensor in the graph, for shaping things per row: the source lengths or a batch of tokens. */
export function batchVector(ctx: DecoderContext, b: GraphBuilder, enc: EncoderValues, fallback?: string): string {
  if (enc.lengths !== undefined) return enc.lengths;
  if (fallback !== undefined) return fallback;
  const source = ctx.ir.inputs.find((i) => i.role.kind === 'data')!.name;
  const batch = axisSize(b, source, 0, 'decoder/batch');
  const axis0 = b.int64Initializer('decoder/batch_axis', [0]);
  const vector = b.fresh('decoder/batch_vector');
  onnx.unsqueeze(b, 'decoder/batch_vector/Unsqueeze', [batch, axis0], { name: vector, type: int64([dimValue(1)]) });
  const zeros = b.fresh('decoder/batch_zeros');
  onnx.constantOfShape(
    b,
    'decoder/batch_zeros/ConstantOfShape',
    [vector],
    { name: zeros, type: int64([ctx.sizes.batch]) },
    { int64Value: 0n },
  );
  return zeros;
}

/** An int64 [batch] tensor of one value, shaped like `like`. */
export function filled(ctx: DecoderContext, b: GraphBuilder, name: string, like: string, value: number): string {
  const shape = b.fresh(`${name}/shape`);
  onnx.shape(b, `${name}/Shape`, [like], { name: shape });
  const out = b.fresh(name);
  onnx.constantOfShape(
    b,
    `${name}/ConstantOfShape`,
    [shape],
    { name: out, type: int64([ctx.sizes.batch]) },
    { int64Value: value },
  );
  return out;
}

/** Float zeros [layers, batch, hidden] for a batch size given as a scalar. */
export function zerosState(ctx: DecoderContext, b: GraphBuilder, name: string, batchScalar: string): string {
  const axis0 = b.int64Initializer(`${name}/axis0`, [0]);
  const batch = b.fresh(`${name}/batch`);
  onnx.unsqueeze(b, `${name}/Unsqueeze`, [batchScalar, axis0], { name: batch });
  const layers = b.int64Initializer(`${name}/layers`, [ctx.sizes.layers]);
  const hidden = b.int64Initializer(`${name}/hidden`, [ctx.sizes.hidden]);
  const shape = b.fresh(`${name}/shape`);
  onnx.concat(b, `${name}/Concat`, [layers, batch, hidden], { name: shape }, { axis: 0 });
  const out = b.fresh(name);
  onnx.constantOfShape(b, `${name}/ConstantOfShape`, [shape], { name: out, type: ctx.stateType }, {});
  return out;
}
