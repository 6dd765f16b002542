// Lowering of a recurrent layer (RNN, LSTM, GRU; stacked, bidirectional, stateful): one ONNX node per layer and
// direction, with its W, R and B initializers in ONNX's gate order.

import { assertNever } from '../contracts/assert.js';
import type { RecurrentActivation, RecurrentOp } from '../ir/ir.js';
import { gateCount, recurrentParameterName, type RecurrentWeight } from '../ir/parameters.js';
import { DataType, type OnnxDim } from '../onnx/types.js';
import { dimValue, type GraphBuilder } from './builder.js';
import type { LayerContext, LayerOutput } from './layer.js';
import * as onnx from './ops.js';
import { concatFloat, onnxGateOrder, reorderGateBlocks } from './pack.js';
import type { Target } from './target.js';
import { internalType, recordedPlace, type Lowered } from './values.js';

/** What a recurrent layer reads from the graph around it, besides what every layer reads. */
export interface RecurrentContext extends LayerContext {
  /** The int32 `sequence_lens` of the lengths input `lengths` for a layer reading the time-major `reference`. */
  sequenceLens(lengths: string, reference: Lowered): string;
  /** Whether some op or output reads the value `id` (a layer read only through its final state needs no Y). */
  isRead(id: string): boolean;
  /** Whether the graph needs the LSTM cell states of the layer `label` (an encoder's, for the decoder's c0). */
  keepsCells(label: string): boolean;
}

/** A recurrent layer's output sequence (time-major), and its final states in PyTorch's h_n order. */
export interface RecurrentOutput extends LayerOutput {
  /** One [1, batch, hidden] tensor per layer and direction. */
  readonly states: readonly string[];
  /** The same for LSTM cell states, when the layer is stateful or `keepsCells` asked for them. */
  readonly cells: readonly string[];
}

/** Emits the recurrent `op`: its layers one after another, each with one node per direction. */
export function lowerRecurrent(ctx: RecurrentContext, op: RecurrentOp): RecurrentOutput {
  const b = ctx.b;
  const where = recordedPlace(op.span);
  const x = ctx.timeMajor(op.input, op.span);
  const directions = op.bidirectional ? ['forward', 'reverse'] : ['forward'];
  const [time, batch] = internalType(op.output.type, true).dims as [OnnxDim, OnnxDim];
  const h = dimValue(op.hidden);
  const seqLens = op.lengths === undefined ? undefined : ctx.sequenceLens(op.lengths, x);
  const states: string[] = [];
  const cells: string[] = [];
  let input = x.name;
  let inputSize = op.inputSize;
  for (let layer = 0; layer < op.layers; layer++) {
    const top = layer === op.layers - 1;
    const ys: string[] = [];
    for (const [d, direction] of directions.entries()) {
      const path = `${op.label}/l${layer}/${direction}`;
      const stateIndex = layer * directions.length + d;
      const initialH =
        op.state === undefined ? undefined : stateSlice(b, op.state.h0, stateIndex, path, 'h0', batch, h);
      const initialC =
        op.state?.c0 === undefined ? undefined : stateSlice(b, op.state.c0, stateIndex, path, 'c0', batch, h);
      const needY = !top || ctx.isRead(op.output.id);
      const y = needY ? b.fresh(`${path}/Y`) : undefined;
      const yh = b.fresh(`${path}/Y_h`);
      const stateType = { elemType: DataType.FLOAT, dims: [dimValue(1), batch, h] };
      let yc: string | undefined;
      if (op.cell === 'lstm' && (op.state?.cn !== undefined || ctx.keepsCells(op.label))) {
        yc = b.fresh(`${path}/Y_c`);
        cells.push(yc);
      }
      const outputs = {
        y:
          y === undefined
            ? undefined
            : { name: y, type: { elemType: DataType.FLOAT, dims: [time, dimValue(1), batch, h] } },
        yH: { name: yh, type: stateType },
        yC: yc === undefined ? undefined : { name: yc, type: stateType },
      };
      const place = {
        layer,
        direction: d as 0 | 1,
        inputSize,
        initializerPath: path,
        nodePath: path,
        target: ctx.target,
        docString: where,
      };
      emitRecurrentNode(b, ctx.weight, op, place, { x: input, sequenceLens: seqLens, initialH, initialC }, outputs);
      if (y !== undefined) ys.push(y);
      states.push(yh);
    }
    if (ys.length === 0) break;
    input = mergeDirections(b, ys, `${op.label}/l${layer}`, time, batch, op.hidden);
    inputSize = op.hidden * directions.length;
  }
  if (op.state !== undefined) {
    onnx.concat(b, `${op.label}/hn/Concat`, states, { name: op.state.hn }, { axis: 0 }, where);
    if (op.state.cn !== undefined)
      onnx.concat(b, `${op.label}/cn/Concat`, cells, { name: op.state.cn }, { axis: 0 }, where);
  }
  return { name: input, timeMajor: true, states, cells };
}

/** Row `index` of a [layers·directions, batch, hidden] state input, kept as [1, batch, hidden]. */
export function stateSlice(
  b: GraphBuilder,
  input: string,
  index: number,
  path: string,
  what: string,
  batch: OnnxDim,
  h: OnnxDim,
): string {
  const indices = b.int64Initializer(`${path}/${what}_index`, [index]);
  const name = b.fresh(`${path}/${what}`);
  onnx.gather(
    b,
    `${path}/${what}/Gather`,
    [input, indices],
    { name, type: { elemType: DataType.FLOAT, dims: [dimValue(1), batch, h] } },
    { axis: 0 },
  );
  return name;
}

/** [time, 1, batch, hidden] per direction → [time, batch, hidden·directions]. */
function mergeDirections(
  b: GraphBuilder,
  ys: readonly string[],
  path: string,
  time: OnnxDim,
  batch: OnnxDim,
  hidden: number,
): string {
  const axes = b.int64Initializer(`${path}/direction_axis`, [1]);
  let joined = ys[0]!;
  if (ys.length > 1) {
    joined = b.fresh(`${path}/Y_concat`);
    onnx.concat(
      b,
      `${path}/Concat`,
      ys,
      {
        name: joined,
        type: { elemType: DataType.FLOAT, dims: [time, dimValue(1), batch, dimValue(hidden * ys.length)] },
      },
      { axis: 3 },
    );
  }
  const out = b.fresh(`${path}/output`);
  onnx.squeeze(b, `${path}/Squeeze`, [joined, axes], {
    name: out,
    type: { elemType: DataType.FLOAT, dims: [time, batch, dimValue(hidden * ys.length)] },
  });
  return out;
}

/** The `activations` attribute of a recurrent node and the alphas and betas they read, when they differ from ONNX's defaults. */
export interface RecurrentActivationAttributes {
  readonly activations: readonly string[];
  /** Present only when an activation needs values other than its ONNX defaults (Keras 3's hardsigmoid, linear). */
  readonly activationAlpha?: readonly number[];
  readonly activationBeta?: readonly number[];
}

/**
 * A recurrent node's activations, in ONNX's slot order (RNN f; GRU f, g; LSTM f, g, h), or undefined
 * for ONNX's defaults. ONNX Runtime reads `activation_alpha` and `activation_beta` in slot order,
 * one value for each activation that takes them (HardSigmoid, Affine).
 */
export function recurrentActivations(op: RecurrentOp): RecurrentActivationAttributes | undefined {
  const slots: readonly RecurrentActivation[] =
    op.cell === 'rnn'
      ? [op.nonlinearity]
      : op.cell === 'lstm'
        ? [op.recurrentActivation, op.activation, op.activation]
        : [op.recurrentActivation, op.activation];
  const defaults: readonly RecurrentActivation[] =
    op.cell === 'rnn' ? ['tanh'] : op.cell === 'lstm' ? ['sigmoid', 'tanh', 'tanh'] : ['sigmoid', 'tanh'];
  if (slots.every((a, i) => a === defaults[i])) return undefined;
  const activations = slots.map((a) => onnxActivation[a].name);
  if (!slots.some((a) => a === 'hardsigmoid' || a === 'linear')) return { activations };
  const scaled = slots.filter((a) => onnxActivation[a].alpha !== undefined);
  return {
    activations,
    activationAlpha: scaled.map((a) => onnxActivation[a].alpha!),
    activationBeta: scaled.map((a) => onnxActivation[a].beta!),
  };
}

/** Each recurrent activation as an ONNX activation function, with the alpha and beta of those that take them. */
const onnxActivation: Readonly<
  Record<RecurrentActivation, { readonly name: string; readonly alpha?: number; readonly beta?: number }>
> = {
  tanh: { name: 'Tanh' },
  relu: { name: 'Relu' },
  sigmoid: { name: 'Sigmoid' },
  // Keras 2: clip(0.2·x + 0.5, 0, 1), ONNX HardSigmoid's defaults.
  hard_sigmoid: { name: 'HardSigmoid', alpha: 0.2, beta: 0.5 },
  // Keras 3 and PyTorch: relu6(x + 3)/6 = clip(x/6 + 0.5, 0, 1).
  hardsigmoid: { name: 'HardSigmoid', alpha: 1 / 6, beta: 0.5 },
  linear: { name: 'Affine', alpha: 1, beta: 0 },
};

/** Where one layer and direction of a recurrent op goes in a graph. */
export interface RecurrentNodePlace {
  readonly layer: number;
  readonly direction: 0 | 1;
  readonly inputSize: number;
  /** Prefix of the W, R and B initializers: `lstm/l0/forward`. */
  readonly initializerPath: string;
  /** Prefix of the node's name: `lstm/l0/forward`, or `decoder/l0` for a decoder step. */
  readonly nodePath: string;
  /** The target: the webgpu one runs a plain RNN as a GRU, since its provider has no RNN kernel (./webgpu.ts). */
  readonly target: Target;
  readonly docString: string;
}

/**
 * One layer and direction of a recurrent op as an ONNX LSTM, GRU or RNN node, with its initializers.
 * Absent inputs and outputs are left undefined.
 */
export function emitRecurrentNode(
  b: GraphBuilder,
  weight: (name: string) => Float32Array,
  op: RecurrentOp,
  place: RecurrentNodePlace,
  inputs: {
    readonly x: string;
    readonly sequenceLens?: string | undefined;
    readonly initialH?: string | undefined;
    readonly initialC?: string | undefined;
  },
  outputs: {
    readonly y?: onnx.Out | undefined;
    readonly yH?: onnx.Out | undefined;
    readonly yC?: onnx.Out | undefined;
  },
): void {
  const { layer, direction, inputSize, initializerPath, nodePath, docString } = place;
  const directionName = direction === 1 ? 'reverse' : 'forward';
  const common = { x: inputs.x, sequenceLens: inputs.sequenceLens, initialH: inputs.initialH };
  const asGru = place.target.recurrentAsGru(b, weight, op, layer, direction, inputSize, initializerPath);
  if (asGru !== undefined) {
    const { wName, rName, bName, attributes } = asGru;
    onnx.gru(
      b,
      `${nodePath}/RNN_as_GRU`,
      { ...common, w: wName, r: rName, b: bName },
      outputs,
      { ...attributes, direction: directionName },
      docString,
    );
    return;
  }
  const { wName, rName, bName } = recurrentInitializers(b, weight, op, layer, direction, inputSize, initializerPath);
  const nodeInputs = { ...common, w: wName, r: rName, b: bName };
  const attributes = {
    hiddenSize: op.hidden,
    ...recurrentActivations(op),
    direction: directionName,
  } as const;
  switch (op.cell) {
    case 'lstm':
      return onnx.lstm(
        b,
        `${nodePath}/LSTM`,
        { ...nodeInputs, initialC: inputs.initialC },
        outputs,
        attributes,
        docString,
      );
    case 'gru':
      return onnx.gru(
        b,
        `${nodePath}/GRU`,
        nodeInputs,
        outputs,
        { ...attributes, linearBeforeReset: op.resetAfter ? 1 : 0 },
        docString,
      );
    case 'rnn':
      return onnx.rnn(b, `${nodePath}/RNN`, nodeInputs, outputs, attributes, docString);
    default:
      return assertNever(op.cell);
  }
}

/**
 * The W, R and B initializers of one layer and direction of a recurrent op, from its PyTorch
 * parameters with gate blocks reordered for ONNX; B is undefined when the layer has no bias.
 */
export function recurrentInitializers(
  b: GraphBuilder,
  weight: (name: string) => Float32Array,
  op: RecurrentOp,
  layer: number,
  direction: number,
  inputSize: number,
  path: string,
): { wName: string; rName: string; bName: string | undefined } {
  const name = (w: RecurrentWeight): string => recurrentParameterName(op.label, w, layer, direction);
  const hidden = op.hidden;
  const gates = gateCount(op.cell);
  const order = onnxGateOrder(op.cell);
  const w = reorderGateBlocks(weight(name('weight_ih')), hidden, inputSize, order);
  const r = reorderGateBlocks(weight(name('weight_hh')), hidden, hidden, order);
  const wName = b.floatInitializer(
    `${path}/W`,
    [1, gates * hidden, inputSize],
    w,
    `${name('weight_ih')}, gates in ONNX order`,
  );
  const rName = b.floatInitializer(
    `${path}/R`,
    [1, gates * hidden, hidden],
    r,
    `${name('weight_hh')}, gates in ONNX order`,
  );
  let bName: string | undefined;
  if (op.bias) {
    const bias = concatFloat([
      reorderGateBlocks(weight(name('bias_ih')), hidden, 1, order),
      reorderGateBlocks(weight(name('bias_hh')), hidden, 1, order),
    ]);
    bName = b.floatInitializer(
      `${path}/B`,
      [1, 2 * gates * hidden],
      bias,
      `${name('bias_ih')} ++ ${name('bias_hh')}, gates in ONNX order`,
    );
  }
  return { wName, rName, bName };
}
