// Lowering of a Conv1d layer: one ONNX Conv over the time axis between Transposes, padded steps zeroed first, new lengths where it changes them.

import type { Conv1dOp } from '../ir/ir.js';
import { DataType, type OnnxDim } from '../onnx/types.js';
import { attr } from './builder.js';
import type { LayerContext, LayerOutput } from './layer.js';
import type { Lengths } from './lengths.js';
import * as onnx from './ops.js';
import { internalType, recordedPlace } from './values.js';

/**
 * Emits the Conv1d `op` (nn.Conv1d on the [batch, features, time] transpose); its output is
 * time-major. With `op.lengths`, steps past each row's length are zeroed before the convolution, as
 * PyTorch sees them in a zero-padded batch. A convolution that changes the number of steps also
 * computes its output's lengths, the tensor `op.outputLengths` (./lengths.ts, `derive`), which the
 * layers after it read like a lengths input.
 */
export function lowerConv1d(ctx: LayerContext, lengths: Lengths, op: Conv1dOp): LayerOutput {
  const { b } = ctx;
  const where = recordedPlace(op.span);
  const x = op.lengths === undefined ? ctx.value(op.input) : ctx.timeMajor(op.input, op.span);
  let input = x.name;
  if (op.lengths !== undefined) {
    const type = internalType(x.type, true);
    const [time, batch] = type.dims as [OnnxDim, OnnxDim];
    const valid = lengths.timeMajorMask(op.lengths, x.name, 3, time, batch);
    const zero = b.floatScalar(`${op.label}/zero`, 0);
    input = b.fresh(`${op.label}/masked`);
    onnx.where(b, `${op.label}/MaskPadding/Where`, [valid, x.name, zero], { name: input, type }, where);
  }
  // [batch, time, F] → [batch, F, time]; from time-major [time, batch, F] likewise.
  const [batchDim, timeDim, featureDim] = internalType(x.type, false).dims as [OnnxDim, OnnxDim, OnnxDim];
  const channels = b.fresh(`${op.label}/channels_first`);
  onnx.transpose(
    b,
    `${op.label}/to_channels_first/Transpose`,
    [input],
    { name: channels, type: { elemType: DataType.FLOAT, dims: [batchDim, featureDim, timeDim] } },
    { perm: x.timeMajor ? [1, 2, 0] : [0, 2, 1] },
    where,
  );
  const weight = b.floatInitializer(
    `${op.label}.weight`,
    [op.outChannels, op.inChannels, op.kernel],
    ctx.weight(`${op.label}.weight`),
  );
  const bias = op.bias
    ? b.floatInitializer(`${op.label}.bias`, [op.outChannels], ctx.weight(`${op.label}.bias`))
    : undefined;
  const outType = internalType(op.output.type, true);
  const [outTime, , outFeatures] = outType.dims as [OnnxDim, OnnxDim, OnnxDim];
  const convolved = b.fresh(`${op.label}/conv_output`);
  b.node(
    `${op.label}/Conv`,
    'Conv',
    bias === undefined ? [channels, weight] : [channels, weight, bias],
    [{ name: convolved, type: { elemType: DataType.FLOAT, dims: [batchDim, outFeatures, outTime] } }],
    [
      attr.ints('dilations', [op.dilation]),
      attr.ints('kernel_shape', [op.kernel]),
      attr.ints('pads', [op.padding, op.padding]),
      attr.ints('strides', [op.stride]),
    ],
    where,
  );
  const out = b.fresh(`${op.label}/output`);
  onnx.transpose(
    b,
    `${op.label}/to_time_major/Transpose`,
    [convolved],
    { name: out, type: outType },
    { perm: [2, 0, 1] },
    where,
  );
  if (op.outputLengths !== undefined)
    lengths.derive(op.outputLengths, op.lengths!, op, batchDim, `${op.label}/lengths`, where);
  return { name: out, timeMajor: true };
}
