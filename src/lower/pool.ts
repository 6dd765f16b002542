// Lowering of a pool layer (first, last, mean, max over time, or a recurrent layer's final state) to ONNX nodes.

import type { PoolOp, RecurrentOp } from '../ir/ir.js';
import type { Span } from '../diagnostics/diagnostic.js';
import { DataType, type OnnxDim } from '../onnx/types.js';
import { dimValue, type GraphBuilder, type TensorType } from './builder.js';
import type { Lengths } from './lengths.js';
import { internalType, recordedPlace, type Lowered } from './values.js';
import * as onnx from './ops.js';
import { maskedMean, mergeStates } from './mask.js';

/** What pooling reads from the lowering around it. */
export interface PoolContext {
  readonly b: GraphBuilder;
  readonly lengths: Lengths;
  /** The final states of a recurrent label: one [1, batch, hidden] tensor per layer and direction. */
  finalStates(label: string): readonly string[];
  recurrentOp(label: string): RecurrentOp;
  /** A value as a time-major tensor, transposed on first use. */
  timeMajor(id: string, span: Span): Lowered;
  /** The time-major bool [time, batch] Keras mask made by the op `label` (./mask.ts). */
  mask(label: string): string;
}

/** Emits the pool `op`; returns its batch-major output tensor. */
export function lowerPool(ctx: PoolContext, op: PoolOp): string {
  const where = recordedPlace(op.span);
  const outType = internalType(op.output.type, false);
  const out = ctx.b.fresh(`${op.label}/output`);
  if (op.finalStateOf !== undefined) {
    const all = ctx.finalStates(op.finalStateOf);
    const source = ctx.recurrentOp(op.finalStateOf);
    const states = all.slice(-(source.bidirectional ? 2 : 1));
    let joined = states[0]!;
    const features = outType.dims[outType.dims.length - 1]!;
    if (states.length > 1 && source.merge !== undefined) {
      joined = ctx.b.fresh(`${op.label}/final_states`);
      const type = { elemType: DataType.FLOAT, dims: [dimValue(1), outType.dims[0]!, features] };
      mergeStates(ctx.b, op.label, source.merge, states[0]!, states[1]!, { name: joined, type }, where);
    } else if (states.length > 1) {
      joined = ctx.b.fresh(`${op.label}/final_states`);
      onnx.concat(
        ctx.b,
        `${op.label}/Concat`,
        states,
        { name: joined, type: { elemType: DataType.FLOAT, dims: [dimValue(1), outType.dims[0]!, features] } },
        { axis: 2 },
        where,
      );
    }
    const axes = ctx.b.int64Initializer(`${op.label}/axis0`, [0]);
    onnx.squeeze(ctx.b, `${op.label}/Squeeze`, [joined, axes], { name: out, type: outType }, where);
    return out;
  }
  const x = ctx.timeMajor(op.input, op.span);
  const xType = internalType(x.type, true);
  const [time, batch] = xType.dims as [OnnxDim, OnnxDim];
  const axis0 = (): string => ctx.b.int64Initializer(`${op.label}/axis0`, [0]);
  const lengths = op.lengths;
  if (op.mode === 'mean' && op.mask !== undefined) {
    maskedMean(
      ctx.b,
      op.label,
      x.name,
      ctx.mask(op.mask),
      time,
      batch,
      xType.dims,
      { name: out, type: outType },
      where,
    );
    return out;
  }
  if (op.mode === 'first' || (op.mode === 'last' && lengths === undefined)) {
    const index = ctx.b.int64Initializer(`${op.label}/index`, [op.mode === 'first' ? 0 : -1], []);
    const gather = (name: string): void =>
      onnx.gather(ctx.b, `${op.label}/Gather`, [x.name, index], { name, type: outType }, { axis: 0 }, where);
    // A row that a Conv1d left without steps has no first step: poolInto sets it to zeros.
    if (lengths === undefined) gather(out);
    else ctx.lengths.poolInto(lengths, out, outType, op.label, where, gather);
  } else if (op.mode === 'last') {
    ctx.lengths.lastStep(op.label, x.name, xType, lengths!, out, outType, where);
  } else if (lengths === undefined) {
    reduceOverTime(ctx.b, op, op.mode === 'mean' ? 'ReduceMean' : 'ReduceMax', x.name, out, outType, where);
  } else if (op.mode === 'mean') {
    const valid = ctx.lengths.timeMajorMask(lengths, x.name, xType.dims.length, time, batch);
    const maskFloat = ctx.b.fresh(`${op.label}/mask_float`);
    onnx.cast(
      ctx.b,
      `${op.label}/CastMask`,
      [valid],
      { name: maskFloat, type: { elemType: DataType.FLOAT, dims: [time, batch, dimValue(1)] } },
      { to: DataType.FLOAT },
      where,
    );
    const masked = ctx.b.fresh(`${op.label}/masked`);
    onnx.mul(ctx.b, `${op.label}/Mul`, [x.name, maskFloat], { name: masked, type: xType }, where);
    const sum = ctx.b.fresh(`${op.label}/sum`);
    onnx.reduceSum(
      ctx.b,
      `${op.label}/ReduceSum`,
      [masked, axis0()],
      { name: sum, type: outType },
      { keepdims: 0 },
      where,
    );
    const lengthsFloat = ctx.lengths.float(lengths, x.name, xType.dims.length, time, batch, op.label, where);
    const axis1 = ctx.b.int64Initializer(`${op.label}/axis1`, [1]);
    const divisor = ctx.b.fresh(`${op.label}/lengths_column`);
    onnx.unsqueeze(
      ctx.b,
      `${op.label}/Unsqueeze`,
      [lengthsFloat, axis1],
      { name: divisor, type: { elemType: DataType.FLOAT, dims: [batch, dimValue(1)] } },
      where,
    );
    onnx.div(ctx.b, `${op.label}/Div`, [sum, divisor], { name: out, type: outType }, where);
  } else {
    const valid = ctx.lengths.timeMajorMask(lengths, x.name, xType.dims.length, time, batch);
    const lowest = ctx.b.floatScalar(`${op.label}/minus_infinity`, -Infinity);
    const masked = ctx.b.fresh(`${op.label}/masked`);
    onnx.where(ctx.b, `${op.label}/Where`, [valid, x.name, lowest], { name: masked, type: xType }, where);
    ctx.lengths.poolInto(lengths, out, outType, op.label, where, (name) =>
      reduceOverTime(ctx.b, op, 'ReduceMax', masked, name, outType, where),
    );
  }
  return out;
}

function reduceOverTime(
  b: GraphBuilder,
  op: PoolOp,
  opType: 'ReduceMean' | 'ReduceMax',
  input: string,
  out: string,
  type: TensorType,
  where: string,
): void {
  const reduce = opType === 'ReduceMean' ? onnx.reduceMean : onnx.reduceMax;
  reduce(
    b,
    `${op.label}/${opType}`,
    input,
    { values: [0], initializer: `${op.label}/axis0` },
    { name: out, type },
    { keepdims: 0 },
    where,
  );
}
