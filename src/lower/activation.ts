// Lowering of an activation step (relu, tanh, sigmoid, softmax, log_softmax): one node, or the target's log_softmax.

import { assertNever } from '../contracts/assert.js';
import type { ActivationOp } from '../ir/ir.js';
import * as onnx from './ops.js';
import type { LayerContext, LayerOutput } from './layer.js';
import { internalType, recordedPlace } from './values.js';

/** Emits the activation `op`; returns its output tensor, in its input's layout. */
export function lowerActivation(ctx: LayerContext, op: ActivationOp): LayerOutput {
  const { b } = ctx;
  const x = ctx.value(op.input);
  const out = b.fresh(`${op.label}/output`);
  const opTypes = {
    relu: 'Relu',
    tanh: 'Tanh',
    sigmoid: 'Sigmoid',
    softmax: 'Softmax',
    log_softmax: 'LogSoftmax',
  } as const;
  const opType = opTypes[op.fn];
  const name = `${op.label}/${opType}`;
  const output = { name: out, type: internalType(op.output.type, x.timeMajor) };
  const where = recordedPlace(op.span);
  switch (op.fn) {
    case 'relu':
      onnx.relu(b, name, [x.name], output, where);
      break;
    case 'tanh':
      onnx.tanh(b, name, [x.name], output, where);
      break;
    case 'sigmoid':
      onnx.sigmoid(b, name, [x.name], output, where);
      break;
    case 'softmax':
      onnx.softmax(b, name, [x.name], output, { axis: -1 }, where);
      break;
    case 'log_softmax':
      // The webgpu target writes it out, as its provider's LogSoftmax is missing (./webgpu.ts).
      ctx.target.logSoftmax(b, op.label, x.name, output, where);
      break;
    default:
      assertNever(op.fn);
  }
  return { name: out, timeMajor: x.timeMajor };
}
