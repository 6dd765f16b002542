// Keras masking on native recurrent nodes: masks from mask_zero and `masking`, valid steps compacted to the front and scattered back, go_backwards and merge modes.
//
// A recurrent layer over a masked value skips the masked steps wherever they are. Per row, the valid
// steps are moved to the front in order (their indices come from TopK over the key (1 − mask)·T + t,
// smallest first), the ONNX LSTM/GRU/RNN nodes run over them with `sequence_lens` = the count of valid
// steps (a backward direction then reads exactly the valid steps in reverse), and each output step is
// gathered back: a forward output at step t is the compacted output at (valid steps ≤ t) − 1, a
// backward one at (valid steps < t). Where there is none, or at a masked step with
// `masked_output=zero`, the output is zero; elsewhere a masked step repeats the previous output, as
// TF.js and Keras 2 compute it. `go_backwards` reverses the input and its mask along time first and
// runs forward, so the output is in Keras's reversed order.

import { assertNever } from '../contracts/assert.js';
import type { MaskingOp, RecurrentMerge, RecurrentOp } from '../ir/ir.js';
import { DataType, type OnnxDim } from '../onnx/types.js';
import { dimValue, type GraphBuilder } from './builder.js';
import type { LayerContext, LayerOutput } from './layer.js';
import * as onnx from './ops.js';
import { lowerRecurrent, type RecurrentContext, type RecurrentOutput } from './recurrent.js';
import { internalType, recordedPlace } from './values.js';

/** What a recurrent layer with Keras options reads besides a recurrent layer's context: the masks made so far. */
export interface KerasRecurrentContext extends RecurrentContext {
  /** The time-major bool [time, batch] mask made by the op `label` (an Embedding with mask_zero, or `masking`). */
  mask(label: string): string;
}

/** Whether a recurrent op needs this module: a Keras mask, go_backwards or a merge mode. */
export function hasKerasOptions(op: RecurrentOp): boolean {
  return op.mask !== undefined || op.goBackwards === true || op.merge !== undefined;
}

/** `masking(value=v)`: x · any(x ≠ v over the features), time-major, and its bool [time, batch] mask. */
export function lowerMasking(ctx: LayerContext, op: MaskingOp): LayerOutput & { readonly mask: string } {
  const { b } = ctx;
  const where = recordedPlace(op.span);
  const x = ctx.timeMajor(op.input, op.span);
  const type = internalType(x.type, true);
  const [time, batch] = type.dims as [OnnxDim, OnnxDim];
  const path = op.label;
  const same = b.fresh(`${path}/equal`);
  onnx.equal(
    b,
    `${path}/Equal`,
    [x.name, b.floatScalar(`${path}/value`, op.value)],
    { name: same, type: { elemType: DataType.BOOL, dims: type.dims } },
    where,
  );
  const differs = b.fresh(`${path}/differs`);
  onnx.not(b, `${path}/Not`, [same], { name: differs, type: { elemType: DataType.BOOL, dims: type.dims } }, where);
  const differsFloat = b.fresh(`${path}/differs_float`);
  onnx.cast(
    b,
    `${path}/Cast`,
    [differs],
    { name: differsFloat, type: { elemType: DataType.FLOAT, dims: type.dims } },
    { to: DataType.FLOAT },
    where,
  );
  const column = b.fresh(`${path}/mask_float`);
  onnx.reduceMax(
    b,
    `${path}/ReduceMax`,
    differsFloat,
    { values: [2], initializer: `${path}/feature_axis` },
    { name: column, type: { elemType: DataType.FLOAT, dims: [time, batch, dimValue(1)] } },
    { keepdims: 1 },
    where,
  );
  const out = b.fresh(`${path}/output`);
  onnx.mul(b, `${path}/Mul`, [x.name, column], { name: out, type }, where);
  const squeezed = b.fresh(`${path}/mask_steps`);
  onnx.squeeze(
    b,
    `${path}/SqueezeMask`,
    [column, b.int64Initializer(`${path}/mask_axis`, [2])],
    { name: squeezed, type: { elemType: DataType.FLOAT, dims: [time, batch] } },
    where,
  );
  const mask = b.fresh(`${path}/mask`);
  onnx.cast(
    b,
    `${path}/CastMask`,
    [squeezed],
    { name: mask, type: { elemType: DataType.BOOL, dims: [time, batch] } },
    { to: DataType.BOOL },
    where,
  );
  return { name: out, timeMajor: true, mask };
}

/** `Embedding(mask_zero=true)`'s mask: token id ≠ 0, from the time-major ids `tokens` [time, batch]. */
export function tokenMask(b: GraphBuilder, label: string, tokens: string, time: OnnxDim, batch: OnnxDim): string {
  const path = `${label}/mask`;
  const zero = b.fresh(`${path}/is_zero`);
  onnx.equal(b, `${path}/Equal`, [tokens, b.int64Initializer(`${path}/zero`, [0], [])], {
    name: zero,
    type: { elemType: DataType.BOOL, dims: [time, batch] },
  });
  const mask = b.fresh(path);
  onnx.not(b, `${path}/Not`, [zero], { name: mask, type: { elemType: DataType.BOOL, dims: [time, batch] } });
  return mask;
}

/** A recurrent layer with a Keras mask, go_backwards or a merge mode; its output is time-major, in Keras's order. */
export function lowerKerasRecurrent(ctx: KerasRecurrentContext, op: RecurrentOp): RecurrentOutput {
  const { b } = ctx;
  const where = recordedPlace(op.span);
  const x = ctx.timeMajor(op.input, op.span);
  const xType = internalType(x.type, true);
  const [time, batch] = xType.dims as [OnnxDim, OnnxDim];
  const directions = op.bidirectional ? 2 : 1;
  const width = op.hidden;
  let input = x.name;
  let mask = op.mask === undefined ? undefined : ctx.mask(op.mask);
  if (op.goBackwards === true) {
    input = reverseTime(b, `${op.label}/go_backwards`, input, xType.elemType, xType.dims, where);
    if (mask !== undefined)
      mask = reverseTime(b, `${op.label}/go_backwards/mask`, mask, DataType.BOOL, [time, batch], where);
  }
  const plan = mask === undefined ? undefined : compaction(b, op.label, mask, input, xType.dims, where);
  // The nodes read the compacted steps with sequence_lens; without a mask, the layer's own input and lengths.
  const inner: RecurrentContext = {
    ...ctx,
    timeMajor: (id, span) =>
      id === op.input ? { name: plan?.compacted ?? input, type: x.type, timeMajor: true } : ctx.timeMajor(id, span),
    sequenceLens: (lengths, reference) => plan?.counts32 ?? ctx.sequenceLens(lengths, reference),
  };
  // With a mask and given initial states, the final states of rows without a valid step are put back
  // to h0/c0 (the kernels give zeros there), so lowerRecurrent writes hn/cn under inner names first.
  const restoring = plan !== undefined && op.state !== undefined;
  const state =
    op.state === undefined || !restoring
      ? op.state
      : {
          ...op.state,
          hn: b.fresh(`${op.label}/hn_before_restore`),
          ...(op.state.cn === undefined ? {} : { cn: b.fresh(`${op.label}/cn_before_restore`) }),
        };
  const run = lowerRecurrent(inner, {
    ...op,
    ...(plan === undefined ? {} : { lengths: `${op.label}/valid_steps` }),
    ...(state === undefined ? {} : { state }),
  });
  let output = run.name;
  let states = run.states;
  let cells = run.cells;
  const produced = ctx.isRead(op.output.id);
  if (plan !== undefined) {
    if (produced) output = scatterBack(b, op, plan, run.name, time, batch, directions * width, where);
    if (restoring) {
      states = run.states.map((s, i) => restoreEmptyRows(b, op, plan, s, op.state!.h0, `h${i}`, i, batch, where));
      cells = run.cells.map((c, i) => restoreEmptyRows(b, op, plan, c, op.state!.c0, `c${i}`, i, batch, where));
      writeStateOutputs(b, op, states, cells, where);
    }
  }
  if (op.merge !== undefined && produced) {
    output = mergeHalves(b, op.label, op.merge, output, [time, batch], width, where);
  }
  return { name: output, timeMajor: true, states, cells };
}

/** The two directions of a final state or output, [..., 2·width] halves or two tensors, joined by a merge mode. */
export function mergeStates(
  b: GraphBuilder,
  label: string,
  merge: RecurrentMerge,
  forward: string,
  backward: string,
  out: onnx.Out,
  where: string,
): void {
  switch (merge) {
    case 'sum':
      return onnx.add(b, `${label}/merge/Add`, [forward, backward], out, where);
    case 'mul':
      return onnx.mul(b, `${label}/merge/Mul`, [forward, backward], out, where);
    case 'ave': {
      const sum = b.fresh(`${label}/merge/sum`);
      onnx.add(
        b,
        `${label}/merge/Add`,
        [forward, backward],
        { name: sum, ...(out.type === undefined ? {} : { type: out.type }) },
        where,
      );
      onnx.mul(b, `${label}/merge/Half`, [sum, b.floatScalar(`${label}/merge/half`, 0.5)], out, where);
      return;
    }
    default:
      return assertNever(merge);
  }
}

/**
 * The mean over the valid steps of the time-major `x` [time, batch, F] under the bool mask [time,
 * batch]: Keras's GlobalAveragePooling1D with a mask, Σ x·mask ÷ Σ mask (NaN for a row with no valid step, as Keras).
 */
export function maskedMean(
  b: GraphBuilder,
  label: string,
  x: string,
  mask: string,
  time: OnnxDim,
  batch: OnnxDim,
  xDims: readonly OnnxDim[],
  out: onnx.Out,
  where: string,
): void {
  const maskFloat = b.fresh(`${label}/mask_float`);
  onnx.cast(
    b,
    `${label}/CastMask`,
    [mask],
    { name: maskFloat, type: { elemType: DataType.FLOAT, dims: [time, batch] } },
    { to: DataType.FLOAT },
    where,
  );
  const column = b.fresh(`${label}/mask_column`);
  onnx.unsqueeze(
    b,
    `${label}/Unsqueeze`,
    [maskFloat, b.int64Initializer(`${label}/axis2`, [2])],
    { name: column, type: { elemType: DataType.FLOAT, dims: [time, batch, dimValue(1)] } },
    where,
  );
  const masked = b.fresh(`${label}/masked`);
  onnx.mul(b, `${label}/Mul`, [x, column], { name: masked, type: { elemType: DataType.FLOAT, dims: xDims } }, where);
  const axis0 = b.int64Initializer(`${label}/axis0`, [0]);
  const sum = b.fresh(`${label}/sum`);
  onnx.reduceSum(
    b,
    `${label}/ReduceSum`,
    [masked, axis0],
    { name: sum, type: { elemType: DataType.FLOAT, dims: xDims.slice(1) } },
    { keepdims: 0 },
    where,
  );
  const count = b.fresh(`${label}/count`);
  onnx.reduceSum(
    b,
    `${label}/Count`,
    [column, axis0],
    { name: count, type: { elemType: DataType.FLOAT, dims: [batch, dimValue(1)] } },
    { keepdims: 0 },
    where,
  );
  onnx.div(b, `${label}/Div`, [sum, count], out, where);
}

/** The compaction of one layer's input: the compacted steps, the valid-step counts and the running counts. */
interface Compaction {
  /** The input with each row's valid steps moved to the front, in order: [time, batch, F]. */
  readonly compacted: string;
  /** The mask as int64 [time, batch] (1 valid, 0 masked). */
  readonly valid: string;
  /** The bool mask [time, batch]. */
  readonly mask: string;
  /** Valid steps up to and including each step: int64 [time, batch]. */
  readonly upTo: string;
  /** Valid steps per row: int64 [batch] and, for sequence_lens, int32 [batch]. */
  readonly counts: string;
  readonly counts32: string;
}

function compaction(
  b: GraphBuilder,
  label: string,
  mask: string,
  x: string,
  xDims: readonly OnnxDim[],
  where: string,
): Compaction {
  const path = `${label}/compact`;
  const [time, batch] = xDims as [OnnxDim, OnnxDim];
  const steps2 = { elemType: DataType.INT64, dims: [time, batch] };
  const valid = b.fresh(`${path}/valid`);
  onnx.cast(b, `${path}/CastMask`, [mask], { name: valid, type: steps2 }, { to: DataType.INT64 }, where);
  // T as int64 [1] (TopK's k) and as a scalar; t as a [time, 1] column.
  const shape = b.fresh(`${path}/shape`);
  onnx.shape(b, `${path}/Shape`, [x], { name: shape }, where);
  const timeOne = b.fresh(`${path}/time`);
  onnx.slice(
    b,
    `${path}/SliceTime`,
    [shape, b.int64Initializer(`${path}/zero_start`, [0]), b.int64Initializer(`${path}/one_end`, [1])],
    { name: timeOne, type: { elemType: DataType.INT64, dims: [dimValue(1)] } },
    where,
  );
  const timeScalar = b.fresh(`${path}/time_scalar`);
  onnx.squeeze(
    b,
    `${path}/SqueezeTime`,
    [timeOne, b.int64Initializer(`${path}/axis0`, [0])],
    { name: timeScalar, type: { elemType: DataType.INT64, dims: [] } },
    where,
  );
  const range = b.fresh(`${path}/steps`);
  onnx.range(
    b,
    `${path}/Range`,
    [b.int64Initializer(`${path}/zero`, [0], []), timeScalar, b.int64Initializer(`${path}/one`, [1], [])],
    { name: range, type: { elemType: DataType.INT64, dims: [time] } },
    where,
  );
  const column = b.fresh(`${path}/steps_column`);
  onnx.unsqueeze(
    b,
    `${path}/UnsqueezeSteps`,
    [range, b.int64Initializer(`${path}/axis1`, [1])],
    { name: column, type: { elemType: DataType.INT64, dims: [time, dimValue(1)] } },
    where,
  );
  // key = (1 − valid)·T + t: the valid steps first, each group in time order; the keys are distinct.
  const invalid = b.fresh(`${path}/invalid`);
  onnx.sub(
    b,
    `${path}/Invalid`,
    [b.int64Initializer(`${path}/one_int`, [1], []), valid],
    { name: invalid, type: steps2 },
    where,
  );
  const shifted = b.fresh(`${path}/shifted`);
  onnx.mul(b, `${path}/Shift`, [invalid, timeScalar], { name: shifted, type: steps2 }, where);
  const key = b.fresh(`${path}/key`);
  onnx.add(b, `${path}/Key`, [shifted, column], { name: key, type: steps2 }, where);
  const sortedKeys = b.fresh(`${path}/sorted_keys`);
  const order = b.fresh(`${path}/order`);
  onnx.topK(
    b,
    `${path}/TopK`,
    [key, timeOne],
    { values: { name: sortedKeys, type: steps2 }, indices: { name: order, type: steps2 } },
    { axis: 0, largest: 0, sorted: 1 },
    where,
  );
  const compacted = gatherSteps(b, `${path}/input`, x, order, xDims, where);
  const upTo = b.fresh(`${path}/valid_up_to`);
  onnx.cumSum(
    b,
    `${path}/CumSum`,
    [valid, b.int64Initializer(`${path}/time_axis`, [0], [])],
    { name: upTo, type: steps2 },
    where,
  );
  const counts = b.fresh(`${path}/counts`);
  onnx.reduceSum(
    b,
    `${path}/Count`,
    [valid, b.int64Initializer(`${path}/count_axis`, [0])],
    { name: counts, type: { elemType: DataType.INT64, dims: [batch] } },
    { keepdims: 0 },
    where,
  );
  // A row with no valid step has length 0: ONNX Runtime's kernels give zeros for it, outputs and final states.
  const counts32 = b.fresh(`${path}/sequence_lens`);
  onnx.cast(
    b,
    `${path}/CastCounts`,
    [counts],
    { name: counts32, type: { elemType: DataType.INT32, dims: [batch] } },
    { to: DataType.INT32 },
    where,
  );
  return { compacted, valid, mask, upTo, counts, counts32 };
}

/** Gathers along time: out[k, b, :] = x[index[k, b], b, :], for x [time, batch, F] and index int64 [time, batch]. */
function gatherSteps(
  b: GraphBuilder,
  path: string,
  x: string,
  index: string,
  xDims: readonly OnnxDim[],
  where: string,
): string {
  const [time, batch] = xDims as [OnnxDim, OnnxDim];
  const column = b.fresh(`${path}/index_column`);
  onnx.unsqueeze(
    b,
    `${path}/UnsqueezeIndex`,
    [index, b.int64Initializer(`${path}/axis2`, [2])],
    { name: column, type: { elemType: DataType.INT64, dims: [time, batch, dimValue(1)] } },
    where,
  );
  const features = xDims[2]!;
  const expanded = b.fresh(`${path}/index`);
  onnx.expand(
    b,
    `${path}/ExpandIndex`,
    [column, b.int64Initializer(`${path}/features`, [1, 1, features.kind === 'value' ? features.value : 1])],
    { name: expanded, type: { elemType: DataType.INT64, dims: xDims } },
    where,
  );
  const out = b.fresh(`${path}/gathered`);
  onnx.gatherElements(
    b,
    `${path}/GatherElements`,
    [x, expanded],
    { name: out, type: { elemType: DataType.FLOAT, dims: xDims } },
    { axis: 0 },
    where,
  );
  return out;
}

/**
 * The compacted output [time, batch, directions·H] back at each row's steps: the forward half at
 * (valid ≤ t) − 1, the backward half at (valid < t); zero where no such step exists, and at masked
 * steps with masked_output=zero.
 */
function scatterBack(
  b: GraphBuilder,
  op: RecurrentOp,
  plan: Compaction,
  y: string,
  time: OnnxDim,
  batch: OnnxDim,
  features: number,
  where: string,
): string {
  const path = `${op.label}/scatter`;
  const steps2 = { elemType: DataType.INT64, dims: [time, batch] };
  const bool2 = { elemType: DataType.BOOL, dims: [time, batch] };
  const zeroInt = b.int64Initializer(`${path}/zero`, [0], []);
  const forwardRaw = b.fresh(`${path}/forward_raw`);
  onnx.sub(
    b,
    `${path}/Forward`,
    [plan.upTo, b.int64Initializer(`${path}/one`, [1], [])],
    { name: forwardRaw, type: steps2 },
    where,
  );
  const halves: { index: string; valid: string }[] = [];
  const previous = op.maskedOutput === undefined;
  let forwardValid = plan.mask;
  if (previous) {
    forwardValid = b.fresh(`${path}/forward_valid`);
    onnx.less(b, `${path}/ForwardValid`, [zeroInt, plan.upTo], { name: forwardValid, type: bool2 }, where);
  }
  halves.push({ index: forwardRaw, valid: forwardValid });
  if (op.bidirectional) {
    if (previous) {
      const backwardRaw = b.fresh(`${path}/backward_raw`);
      onnx.sub(b, `${path}/Backward`, [plan.upTo, plan.valid], { name: backwardRaw, type: steps2 }, where);
      const backwardValid = b.fresh(`${path}/backward_valid`);
      onnx.less(b, `${path}/BackwardValid`, [backwardRaw, plan.counts], { name: backwardValid, type: bool2 }, where);
      halves.push({ index: backwardRaw, valid: backwardValid });
    } else {
      halves.push({ index: forwardRaw, valid: forwardValid });
    }
  }
  const width = features / halves.length;
  const expand = (name: string, what: string, elemType: DataType): string => {
    const column = b.fresh(`${path}/${what}_column`);
    onnx.unsqueeze(
      b,
      `${path}/Unsqueeze_${what}`,
      [name, b.int64Initializer(`${path}/${what}_axis`, [2])],
      { name: column, type: { elemType, dims: [time, batch, dimValue(1)] } },
      where,
    );
    const wide = b.fresh(`${path}/${what}_wide`);
    onnx.expand(
      b,
      `${path}/Expand_${what}`,
      [column, b.int64Initializer(`${path}/${what}_shape`, [1, 1, width])],
      { name: wide, type: { elemType, dims: [time, batch, dimValue(width)] } },
      where,
    );
    return wide;
  };
  const indexParts: string[] = [];
  const validParts: string[] = [];
  for (const [i, half] of halves.entries()) {
    const safe = b.fresh(`${path}/index_${i}`);
    onnx.where(b, `${path}/SafeIndex_${i}`, [half.valid, half.index, zeroInt], { name: safe, type: steps2 }, where);
    indexParts.push(expand(safe, `index_${i}`, DataType.INT64));
    validParts.push(expand(half.valid, `valid_${i}`, DataType.BOOL));
  }
  const full = { elemType: DataType.INT64, dims: [time, batch, dimValue(features)] };
  const index = joinHalves(b, `${path}/index`, indexParts, full, where);
  const valid = joinHalves(b, `${path}/valid`, validParts, { ...full, elemType: DataType.BOOL }, where);
  const gathered = b.fresh(`${path}/gathered`);
  const floatFull = { elemType: DataType.FLOAT, dims: full.dims };
  onnx.gatherElements(b, `${path}/GatherElements`, [y, index], { name: gathered, type: floatFull }, { axis: 0 }, where);
  const out = b.fresh(`${op.label}/output`);
  onnx.where(
    b,
    `${path}/Where`,
    [valid, gathered, b.floatScalar(`${path}/zero_output`, 0)],
    { name: out, type: floatFull },
    where,
  );
  return out;
}

function joinHalves(
  b: GraphBuilder,
  path: string,
  parts: readonly string[],
  type: { elemType: DataType; dims: OnnxDim[] },
  where: string,
): string {
  if (parts.length === 1) return parts[0]!;
  const out = b.fresh(path);
  onnx.concat(b, `${path}/Concat`, parts, { name: out, type }, { axis: 2 }, where);
  return out;
}

/** A final state [1, batch, H] with the rows that had no valid step put back to the given initial state. */
function restoreEmptyRows(
  b: GraphBuilder,
  op: RecurrentOp,
  plan: Compaction,
  state: string,
  initial: string | undefined,
  what: string,
  index: number,
  batch: OnnxDim,
  where: string,
): string {
  if (initial === undefined) return state;
  const path = `${op.label}/final_${what}`;
  const type = { elemType: DataType.FLOAT, dims: [dimValue(1), batch, dimValue(op.hidden)] };
  const nonEmpty = b.fresh(`${path}/non_empty`);
  onnx.less(
    b,
    `${path}/NonEmpty`,
    [b.int64Initializer(`${path}/zero_count`, [0], []), plan.counts],
    { name: nonEmpty, type: { elemType: DataType.BOOL, dims: [batch] } },
    where,
  );
  const nonEmptyColumn = b.fresh(`${path}/non_empty_column`);
  onnx.unsqueeze(
    b,
    `${path}/Unsqueeze`,
    [nonEmpty, b.int64Initializer(`${path}/axes`, [0, 2])],
    { name: nonEmptyColumn, type: { elemType: DataType.BOOL, dims: [dimValue(1), batch, dimValue(1)] } },
    where,
  );
  const fallback = b.fresh(`${path}/initial`);
  onnx.gather(
    b,
    `${path}/Initial`,
    [initial, b.int64Initializer(`${path}/index`, [index])],
    { name: fallback, type },
    { axis: 0 },
    where,
  );
  const out = b.fresh(`${path}/state`);
  onnx.where(b, `${path}/Where`, [nonEmptyColumn, state, fallback], { name: out, type }, where);
  return out;
}

/** Writes a stateful layer's hn (and cn) from the restored final states. */
function writeStateOutputs(
  b: GraphBuilder,
  op: RecurrentOp,
  states: readonly string[],
  cells: readonly string[],
  where: string,
): void {
  const state = op.state!;
  for (const [output, parts] of [
    [state.hn, states],
    [state.cn, cells],
  ] as const) {
    if (output === undefined) continue;
    onnx.concat(
      b,
      `${op.label}/${output === state.hn ? 'hn' : 'cn'}/ConcatRestored`,
      parts,
      { name: output },
      { axis: 0 },
      where,
    );
  }
}

/** [time, batch, 2·width] → the forward and backward halves joined by `merge`: [time, batch, width]. */
function mergeHalves(
  b: GraphBuilder,
  label: string,
  merge: RecurrentMerge,
  y: string,
  leading: readonly OnnxDim[],
  width: number,
  where: string,
): string {
  const half = { elemType: DataType.FLOAT, dims: [...leading, dimValue(width)] };
  const axis = b.int64Initializer(`${label}/merge/feature_axis`, [2]);
  const forward = b.fresh(`${label}/merge/forward`);
  onnx.slice(
    b,
    `${label}/merge/SliceForward`,
    [
      y,
      b.int64Initializer(`${label}/merge/forward_start`, [0]),
      b.int64Initializer(`${label}/merge/forward_end`, [width]),
      axis,
    ],
    { name: forward, type: half },
    where,
  );
  const backward = b.fresh(`${label}/merge/backward`);
  onnx.slice(
    b,
    `${label}/merge/SliceBackward`,
    [
      y,
      b.int64Initializer(`${label}/merge/backward_start`, [width]),
      b.int64Initializer(`${label}/merge/backward_end`, [2 * width]),
      axis,
    ],
    { name: backward, type: half },
    where,
  );
  const out = b.fresh(`${label}/merged`);
  mergeStates(b, label, merge, forward, backward, { name: out, type: half }, where);
  return out;
}

/** The time-major `x` in reversed time order: Slice with step −1 along axis 0. */
function reverseTime(
  b: GraphBuilder,
  path: string,
  x: string,
  elemType: DataType,
  dims: readonly OnnxDim[],
  where: string,
): string {
  const out = b.fresh(`${path}/reversed`);
  onnx.slice(
    b,
    `${path}/Reverse`,
    [
      x,
      b.int64Initializer(`${path}/start`, [-1]),
      b.int64Initializer(`${path}/end`, [-(2 ** 63)]),
      b.int64Initializer(`${path}/axis`, [0]),
      b.int64Initializer(`${path}/step`, [-1]),
    ],
    { name: out, type: { elemType, dims: [...dims] } },
    where,
  );
  return out;
}
