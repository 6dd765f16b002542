// The compile target as one object, chosen once from the compile option: every place where a generic graph and a webgpu graph differ asks it.

import { DataType, type GraphProto, type OnnxDim } from '../onnx/types.js';
import { dimValue, type GraphBuilder, type TensorType } from './builder.js';
import * as onnx from './ops.js';
import { dataLengths, shapeLengths, type Lengths } from './lengths.js';
import { transpose2d } from './pack.js';
import { GpuSequences, logSoftmax, rnnAsGru, zerosFromState, zerosLike, type GruForm } from './webgpu.js';
import type { RecurrentOp } from '../ir/ir.js';
import type { Lowered } from './values.js';

/**
 * `generic` graphs use whichever ONNX operators fit best; `webgpu` graphs use only what
 * onnxruntime-web's WebGPU execution provider runs, so that no node falls back to the CPU.
 */
export type CompileTarget = 'generic' | 'webgpu';

/** The graphs a bundle's emitter can make, in both targets' forms; the target picks. */
export interface BundleGraphs {
  scoringGraph(): GraphProto;
  scoringGraphWithoutLoop(): GraphProto;
  greedyGraph(): GraphProto;
  greedyGraphUnrolled(): GraphProto;
}

/** Every generic-vs-webgpu decision of the lowering. */
export interface Target {
  readonly name: CompileTarget;
  /**
   * Lengths and masks computed from a sequence's data without Shape or int64 arithmetic (./webgpu.ts),
   * one instance per graph; undefined where the graph may use Shape, Range and int64 Casts.
   */
  sequences(b: GraphBuilder): GpuSequences | undefined;
  /** Sequence lengths and masks for one graph (./lengths.ts); `batchDims` gives a lengths input's dims. */
  lengths(b: GraphBuilder, batchDims: (lengths: string) => OnnxDim[]): Lengths;
  /** Float zeros shaped like `like` (of type `type`), named `path`: from its Shape, or from its data without Shape. */
  zerosLike(b: GraphBuilder, like: string, type: TensorType, path: string): string;
  /**
   * Float zeros [batch, hidden] named `path`, a decoder's first input feed: from the Shape of the [batch]
   * tensor `batchVector` gives (made only when asked), or from the data of layer 0 of the initial state `h0`.
   */
  feedZeros(
    b: GraphBuilder,
    path: string,
    h0: string,
    batchVector: () => string,
    batch: OnnxDim,
    hidden: number,
  ): string;
  /**
   * The ids an embedding gathers from: the time-major ids, or the batch-major ids as they are (the
   * WebGPU provider cannot transpose int64). Only the one asked for is made.
   */
  embeddingIds(batchMajor: () => Lowered, timeMajor: () => Lowered): Lowered;
  /**
   * One layer and direction of `op` as a GRU node's initializers and attributes, where the target has
   * no RNN kernel and `op` is a plain RNN (./webgpu.ts); undefined where the op's own node is used.
   */
  recurrentAsGru(
    b: GraphBuilder,
    weight: (name: string) => Float32Array,
    op: RecurrentOp,
    layer: number,
    direction: number,
    inputSize: number,
    path: string,
  ): GruForm | undefined;
  /**
   * A `[rows, columns]` PyTorch weight `name` as a `[columns, rows]` MatMul operand named `transposedName`:
   * transposed at compile time, or stored as PyTorch has it with a Transpose node (see `transposedInGraph`).
   */
  matMulWeight(
    b: GraphBuilder,
    name: string,
    transposedName: string,
    rows: number,
    columns: number,
    data: Float32Array,
    where: string,
  ): string;
  /** log_softmax over the last axis of `input`, for the layer `label`. */
  logSoftmax(
    b: GraphBuilder,
    label: string,
    input: string,
    out: onnx.Out & { readonly type: NonNullable<onnx.Out['type']> },
    where: string,
  ): void;
  /**
   * Whether the step graph chooses with a TopK whose k is its `top_k` input (docs/seq2seq.md); WebGPU has no TopK
   * kernel, so its step graph has only the ArgMax choice and searches that need more read the logits.
   */
  readonly stepTopK: boolean;
  /** A bundle's scoring graph: one Loop over the target steps, or (without Loop) all steps at once. */
  bundleScoringGraph(graphs: BundleGraphs): GraphProto;
  /** A bundle's greedy graph: a Loop, or the steps unrolled up to max_length. */
  bundleGreedyGraph(graphs: BundleGraphs): GraphProto;
  /** What the bundle manifest records about the target. */
  readonly manifestFields: { readonly target?: 'webgpu' };
}

/** The target named by the compile option. */
export function targetFor(name: CompileTarget): Target {
  return name === 'webgpu' ? webgpuTarget : genericTarget;
}

const genericTarget: Target = {
  name: 'generic',
  sequences: () => undefined,
  feedZeros: (b, path, _h0, batchVector, batch, hidden) => zerosFromBatchShape(b, path, batchVector(), batch, hidden),
  lengths: shapeLengths,
  zerosLike: zerosFromShape,
  embeddingIds: (_batchMajor, timeMajor) => timeMajor(),
  recurrentAsGru: () => undefined,
  matMulWeight: (b, name, transposedName, rows, columns, data) =>
    b.floatInitializer(transposedName, [columns, rows], transpose2d(data, rows, columns), `${name} transposed`),
  logSoftmax: (b, label, input, out, where) =>
    onnx.logSoftmax(b, `${label}/LogSoftmax`, [input], out, { axis: -1 }, where),
  stepTopK: true,
  bundleScoringGraph: (graphs) => graphs.scoringGraph(),
  bundleGreedyGraph: (graphs) => graphs.greedyGraph(),
  manifestFields: {},
};

const webgpuTarget: Target = {
  name: 'webgpu',
  sequences: (b) => GpuSequences.of(b),
  feedZeros: (b, path, h0, _batchVector, batch, hidden) => zerosFromState(b, path, h0, batch, hidden),
  lengths: (b) => dataLengths(b),
  zerosLike,
  embeddingIds: (batchMajor) => batchMajor(),
  recurrentAsGru: (b, weight, op, layer, direction, inputSize, path) =>
    op.cell === 'rnn' ? rnnAsGru(b, weight, op, layer, direction, inputSize, path) : undefined,
  matMulWeight: transposedInGraph,
  logSoftmax: (b, label, input, out, where) => logSoftmax(b, input, out.name, out.type, `${label}/log_softmax`, where),
  stepTopK: false,
  bundleScoringGraph: (graphs) => graphs.scoringGraphWithoutLoop(),
  bundleGreedyGraph: (graphs) => graphs.greedyGraphUnrolled(),
  manifestFields: { target: 'webgpu' },
};

/**
 * A `[rows, columns]` PyTorch weight as a `[columns, rows]` MatMul operand: the weight as PyTorch
 * stores it and a Transpose node, which ONNX Runtime folds away when it loads the model. The webgpu
 * target uses it so that a bundle's scoring graph reads the same tensor as its step graph (whose Gemm
 * takes the PyTorch layout), and the bundle's weights file holds it once.
 */
export function transposedInGraph(
  b: GraphBuilder,
  name: string,
  transposedName: string,
  rows: number,
  columns: number,
  data: Float32Array,
  where: string,
): string {
  const stored = b.floatInitializer(name, [rows, columns], data);
  const out = b.fresh(transposedName);
  onnx.transpose(
    b,
    `${transposedName}/Transpose`,
    [stored],
    { name: out, type: { elemType: DataType.FLOAT, dims: [dimValue(columns), dimValue(rows)] } },
    { perm: [1, 0] },
    where,
  );
  return out;
}

/** Float zeros shaped like `like`: its Shape, filled by ConstantOfShape (whose default value is float 0). */
function zerosFromShape(b: GraphBuilder, like: string, type: TensorType, path: string): string {
  const shape = b.fresh(`${path}/shape`);
  onnx.shape(b, `${path}/Shape`, [like], { name: shape });
  const out = b.fresh(path);
  onnx.constantOfShape(b, `${path}/ConstantOfShape`, [shape], { name: out, type }, {});
  return out;
}

/** Float zeros [batch, width]: the Shape of the [batch] tensor `batchVector` and the width, filled by ConstantOfShape. */
function zerosFromBatchShape(
  b: GraphBuilder,
  name: string,
  batchVector: string,
  batch: OnnxDim,
  width: number,
): string {
  const shape = b.fresh(`${name}/batch_shape`);
  onnx.shape(b, `${name}/Shape`, [batchVector], { name: shape });
  const widthTensor = b.int64Initializer(`${name}/width`, [width]);
  const full = b.fresh(`${name}/shape`);
  onnx.concat(b, `${name}/Concat`, [shape, widthTensor], { name: full }, { axis: 0 });
  const out = b.fresh(name);
  onnx.constantOfShape(
    b,
    `${name}/ConstantOfShape`,
    [full],
    { name: out, type: { elemType: DataType.FLOAT, dims: [batch, dimValue(width)] } },
    {},
  );
  return out;
}
