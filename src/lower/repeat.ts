// Lowering of `repeat(n)`: a vector [batch, F] as the time-major sequence [n, batch, F], by Unsqueeze and Expand.

import type { RepeatOp } from '../ir/ir.js';
import type { LayerContext, LayerOutput } from './layer.js';
import * as onnx from './ops.js';
import { internalType, recordedPlace } from './values.js';

/** Emits `op`; its output is time-major, as every sequence inside the graph. */
export function lowerRepeat(ctx: LayerContext, op: RepeatOp): LayerOutput {
  const { b } = ctx;
  const x = ctx.value(op.input);
  const where = recordedPlace(op.span);
  const axis0 = b.int64Initializer(`${op.label}/axis0`, [0]);
  const row = b.fresh(`${op.label}/row`);
  const inputType = internalType(x.type, false);
  onnx.unsqueeze(
    b,
    `${op.label}/Unsqueeze`,
    [x.name, axis0],
    { name: row, type: { ...inputType, dims: [{ kind: 'value', value: 1 }, ...inputType.dims] } },
    where,
  );
  const shape = b.int64Initializer(`${op.label}/shape`, [op.times, 1, 1]);
  const out = b.fresh(`${op.label}/output`);
  onnx.expand(b, `${op.label}/Expand`, [row, shape], { name: out, type: internalType(op.output.type, true) }, where);
  return { name: out, timeMajor: true };
}
