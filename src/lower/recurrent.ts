// One layer and direction of a recurrent op as an ONNX LSTM, GRU or RNN node, with its W, R and B initializers in ONNX's gate order.

import { assertNever } from '../contracts/assert.js';
import type { RecurrentOp } from '../ir/ir.js';
import { gateCount, recurrentParameterName, type RecurrentWeight } from '../ir/parameters.js';
import type { GraphBuilder } from './builder.js';
import * as onnx from './ops.js';
import { concatFloat, onnxGateOrder, reorderGateBlocks } from './pack.js';
import type { Target } from './target.js';

/** The `activations` attribute of a recurrent node, when it differs from ONNX's defaults. */
export function recurrentActivations(op: RecurrentOp): string[] | undefined {
  if (op.cell === 'rnn') return op.nonlinearity === 'relu' ? ['Relu'] : undefined;
  if (op.recurrentActivation === 'sigmoid') return undefined;
  return op.cell === 'lstm' ? ['HardSigmoid', 'Tanh', 'Tanh'] : ['HardSigmoid', 'Tanh'];
}

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
    activations: recurrentActivations(op),
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
