// Lowering of a CRF layer: Viterbi decoding as two ONNX Loops over time, the max-product recursion keeping back-pointers, then the backtrack.
//
// The recursion is pytorch-crf's `_viterbi_decode`: score[b, j] starts as start[j] + E[b, 0, j], and
// step t makes it max_i(score[b, i] + T[i, j]) + E[b, t, j], with the argmax over i kept as the
// back-pointer of tag j at step t. With lengths, a row's score stops changing at its last valid step,
// so score + end is that row's final score. The backtrack starts from argmax(score + end) at each row's
// last valid step and follows the back-pointers towards step 0; steps past a row's length get tag 0.
// ReduceMax and ArgMax (first index on ties, as torch.max gives) read the same candidates, so the
// path and the score agree. Both loops run T times, so that a sequence of one step needs no special
// case: step 0 keeps the starting score, and its back-pointers are never followed. A row that a
// Conv1d left without steps (length 0) gets tag 0 at every step and the score 0, that of the empty path.

import type { CrfOp } from '../ir/ir.js';
import type { GraphProto, OnnxDim } from '../onnx/types.js';
import { bool, dimValue, float, info, int64, type GraphBuilder } from './builder.js';
import type { LayerContext, LayerOutput } from './layer.js';
import type { Lengths } from './lengths.js';
import { loopCondition } from './loop-body.js';
import * as onnx from './ops.js';
import { onnxDim, recordedPlace } from './values.js';

/** Emits the CRF `op`: its output is the time-major best path, int64 [time, batch]; with `score=true` it also writes the score output. */
export function lowerCrf(ctx: LayerContext, lengths: Lengths, op: CrfOp): LayerOutput {
  const { b } = ctx;
  const where = recordedPlace(op.span);
  const emissions = ctx.timeMajor(op.input, op.span).name;
  const [batch, time] = op.output.type.dims.map(onnxDim) as [OnnxDim, OnnxDim];
  const tags = dimValue(op.tags);
  const parameter = (suffix: string, dims: number[]): string =>
    b.floatInitializer(`${op.label}.${suffix}`, dims, ctx.weight(`${op.label}.${suffix}`));
  const start = parameter('start_transitions', [op.tags]);
  const end = parameter('end_transitions', [op.tags]);
  const transitions = parameter('transitions', [op.tags, op.tags]);
  const sizes = { batch, time, tags };

  const steps = timeSteps(b, op.label, emissions, where);
  const zero = b.int64Initializer(`${op.label}/zero`, [0], []);
  const firstEmissions = b.fresh(`${op.label}/emissions_0`);
  onnx.gather(
    b,
    `${op.label}/first/Gather`,
    [emissions, zero],
    { name: firstEmissions, type: float([batch, tags]) },
    {
      axis: 0,
    },
  );
  const initial = b.fresh(`${op.label}/initial_score`);
  onnx.add(b, `${op.label}/first/Add`, [start, firstEmissions], { name: initial, type: float([batch, tags]) }, where);

  const forward = forwardLoop(b, op, sizes, { emissions, transitions, initial, time: steps.time }, where);

  const total = b.fresh(`${op.label}/final_score`);
  onnx.add(b, `${op.label}/end/Add`, [forward.score, end], { name: total, type: float([batch, tags]) }, where);
  const lastTag = b.fresh(`${op.label}/last_tag`);
  onnx.argMax(b, `${op.label}/end/ArgMax`, [total], { name: lastTag, type: int64([batch]) }, { axis: 1, keepdims: 0 });
  if (op.scoreOutput !== undefined) {
    const writeScore = (name: string): void =>
      onnx.reduceMax(
        b,
        `${op.label}/score/ReduceMax`,
        total,
        { values: [1], initializer: `${op.label}/score/axes` },
        { name },
        { keepdims: 0 },
        where,
      );
    // Lengths that a Conv1d derived may be 0: such a row's score is set to 0 (poolInto), others are written as they are.
    if (op.lengths === undefined) writeScore(op.scoreOutput);
    else lengths.poolInto(op.lengths, op.scoreOutput, float([batch]), `${op.label}/score`, where, writeScore);
  }

  const reversed = backtrackLoop(
    b,
    op,
    sizes,
    { pointers: forward.pointers, lastTag, time: steps.time, lastStep: steps.last },
    where,
  );
  const steps0 = b.fresh(`${op.label}/steps`);
  const one = b.int64Initializer(`${op.label}/order/one`, [1], []);
  onnx.range(b, `${op.label}/order/Range`, [zero, steps.time, one], { name: steps0, type: int64([time]) });
  const order = b.fresh(`${op.label}/reversed_steps`);
  onnx.sub(b, `${op.label}/order/Sub`, [steps.last, steps0], { name: order, type: int64([time]) }, where);
  const path = b.fresh(`${op.label}/path`);
  onnx.gather(
    b,
    `${op.label}/order/Gather`,
    [reversed, order],
    { name: path, type: int64([time, batch]) },
    { axis: 0 },
  );
  return { name: path, timeMajor: true };
}

interface Sizes {
  readonly batch: OnnxDim;
  readonly time: OnnxDim;
  readonly tags: OnnxDim;
}

/** The number of steps of the time-major `emissions` as an int64 scalar, and the index of the last one. */
function timeSteps(b: GraphBuilder, label: string, emissions: string, where: string): { time: string; last: string } {
  const shape = b.fresh(`${label}/shape`);
  onnx.shape(b, `${label}/Shape`, [emissions], { name: shape, type: int64([dimValue(3)]) }, where);
  const axis = b.int64Initializer(`${label}/time_axis`, [0], []);
  const time = b.fresh(`${label}/time`);
  onnx.gather(b, `${label}/time/Gather`, [shape, axis], { name: time, type: int64([]) }, { axis: 0 }, where);
  const one = b.int64Initializer(`${label}/one`, [1], []);
  const last = b.fresh(`${label}/last_step`);
  onnx.sub(b, `${label}/last_step/Sub`, [time, one], { name: last, type: int64([]) }, where);
  return { time, last };
}

/**
 * The max-product recursion: a Loop over the steps carrying score [batch, tags], with the
 * back-pointers [batch, tags] of each step as its scan output, [time, batch, tags].
 */
function forwardLoop(
  b: GraphBuilder,
  op: CrfOp,
  { batch, time, tags }: Sizes,
  inputs: { emissions: string; transitions: string; initial: string; time: string },
  where: string,
): { score: string; pointers: string } {
  const path = `${op.label}/viterbi`;
  const bb = b.subgraph();
  const step = bb.fresh(`${path}/step`);
  const condIn = bb.fresh(`${path}/cond_in`);
  const scoreIn = bb.fresh(`${path}/score_in`);
  const stepEmissions = bb.fresh(`${path}/emissions`);
  onnx.gather(
    bb,
    `${path}/Gather`,
    [inputs.emissions, step],
    { name: stepEmissions, type: float([batch, tags]) },
    {
      axis: 0,
    },
  );
  const axis2 = bb.int64Initializer(`${path}/axis2`, [2]);
  const column = bb.fresh(`${path}/score_column`);
  onnx.unsqueeze(bb, `${path}/Unsqueeze`, [scoreIn, axis2], { name: column, type: float([batch, tags, dimValue(1)]) });
  // candidates[b, i, j]: the best score ending in tag i, then the transition i → j.
  const candidates = bb.fresh(`${path}/candidates`);
  onnx.add(bb, `${path}/Add`, [column, inputs.transitions], { name: candidates, type: float([batch, tags, tags]) });
  const best = bb.fresh(`${path}/best`);
  onnx.reduceMax(
    bb,
    `${path}/ReduceMax`,
    candidates,
    { values: [1], initializer: `${path}/axes` },
    { name: best, type: float([batch, tags]) },
    { keepdims: 0 },
  );
  const pointers = bb.fresh(`${path}/pointers`);
  onnx.argMax(
    bb,
    `${path}/ArgMax`,
    [candidates],
    { name: pointers, type: int64([batch, tags]) },
    { axis: 1, keepdims: 0 },
  );
  const stepped = bb.fresh(`${path}/stepped`);
  onnx.add(bb, `${path}/AddEmissions`, [best, stepEmissions], { name: stepped, type: float([batch, tags]) });
  const zero = bb.int64Initializer(`${path}/zero`, [0], []);
  const isFirst = bb.fresh(`${path}/is_first`);
  onnx.equal(bb, `${path}/Equal`, [step, zero], { name: isFirst, type: bool([]) });
  let next = bb.fresh(`${path}/next`);
  onnx.where(bb, `${path}/First/Where`, [isFirst, scoreIn, stepped], { name: next, type: float([batch, tags]) });
  if (op.lengths !== undefined) {
    // Past a row's length its score stays as it was at the last valid step.
    const axis1 = b.int64Initializer(`${path}/axis1`, [1]);
    const lengthsColumn = b.fresh(`${path}/lengths_column`);
    onnx.unsqueeze(b, `${path}/lengths/Unsqueeze`, [op.lengths, axis1], {
      name: lengthsColumn,
      type: int64([batch, dimValue(1)]),
    });
    const valid = bb.fresh(`${path}/valid`);
    onnx.less(bb, `${path}/Less`, [step, lengthsColumn], { name: valid, type: bool([batch, dimValue(1)]) });
    const kept = bb.fresh(`${path}/next_valid`);
    onnx.where(bb, `${path}/Valid/Where`, [valid, next, scoreIn], { name: kept, type: float([batch, tags]) });
    next = kept;
  }
  const condOut = loopCondition(bb, path, condIn);
  const body: GraphProto = {
    name: path.replace(/\//g, '_'),
    nodes: bb.nodes,
    initializers: [],
    inputs: [info(step, int64([])), info(condIn, bool([])), info(scoreIn, float([batch, tags]))],
    outputs: [info(condOut, bool([])), info(next, float([batch, tags])), info(pointers, int64([batch, tags]))],
    valueInfo: bb.valueInfo,
  };
  const cond = b.boolScalar(`${path}/cond`, true);
  const score = b.fresh(`${path}/score`);
  const allPointers = b.fresh(`${path}/all_pointers`);
  onnx.loop(
    b,
    `${path}/Loop`,
    { tripCount: inputs.time, condition: cond, carried: [inputs.initial] },
    [
      { name: score, type: float([batch, tags]) },
      { name: allPointers, type: int64([time, batch, tags]) },
    ],
    { body },
    where,
  );
  return { score, pointers: allPointers };
}

/**
 * The backtrack: a Loop over the steps from the last to the first, carrying each row's current tag
 * [batch] (the best last tag at first), and giving the tag of each step, last step first: [time, batch].
 */
function backtrackLoop(
  b: GraphBuilder,
  op: CrfOp,
  { batch, time, tags }: Sizes,
  inputs: { pointers: string; lastTag: string; time: string; lastStep: string },
  where: string,
): string {
  const path = `${op.label}/backtrack`;
  const bb = b.subgraph();
  const iteration = bb.fresh(`${path}/iteration`);
  const condIn = bb.fresh(`${path}/cond_in`);
  const tagIn = bb.fresh(`${path}/tag_in`);
  const step = bb.fresh(`${path}/step`);
  onnx.sub(bb, `${path}/Sub`, [inputs.lastStep, iteration], { name: step, type: int64([]) });
  const stepPointers = bb.fresh(`${path}/pointers`);
  onnx.gather(
    bb,
    `${path}/Gather`,
    [inputs.pointers, step],
    { name: stepPointers, type: int64([batch, tags]) },
    {
      axis: 0,
    },
  );
  const axis1 = bb.int64Initializer(`${path}/axis1`, [1]);
  const tagColumn = bb.fresh(`${path}/tag_column`);
  onnx.unsqueeze(bb, `${path}/Unsqueeze`, [tagIn, axis1], { name: tagColumn, type: int64([batch, dimValue(1)]) });
  const previousColumn = bb.fresh(`${path}/previous_column`);
  onnx.gatherElements(
    bb,
    `${path}/GatherElements`,
    [stepPointers, tagColumn],
    { name: previousColumn, type: int64([batch, dimValue(1)]) },
    { axis: 1 },
  );
  const squeezeAxis = bb.int64Initializer(`${path}/squeeze_axis`, [1]);
  const previous = bb.fresh(`${path}/previous`);
  onnx.squeeze(bb, `${path}/Squeeze`, [previousColumn, squeezeAxis], { name: previous, type: int64([batch]) });
  let tag: string;
  let next: string;
  if (op.lengths === undefined) {
    tag = bb.fresh(`${path}/tag`);
    onnx.identity(bb, `${path}/tag/Identity`, [tagIn], { name: tag, type: int64([batch]) });
    next = previous;
  } else {
    // A row's steps past its last valid one get tag 0, and leave its best last tag in place.
    const one = b.int64Initializer(`${path}/one`, [1], []);
    const lastValid = b.fresh(`${path}/last_valid_step`);
    onnx.sub(b, `${path}/last_valid/Sub`, [op.lengths, one], { name: lastValid, type: int64([batch]) }, where);
    const inside = bb.fresh(`${path}/inside`);
    onnx.lessOrEqual(bb, `${path}/LessOrEqual`, [step, lastValid], { name: inside, type: bool([batch]) });
    const zero = bb.int64Initializer(`${path}/zero`, [0], []);
    tag = bb.fresh(`${path}/tag`);
    onnx.where(bb, `${path}/tag/Where`, [inside, tagIn, zero], { name: tag, type: int64([batch]) });
    next = bb.fresh(`${path}/next`);
    onnx.where(bb, `${path}/next/Where`, [inside, previous, tagIn], { name: next, type: int64([batch]) });
  }
  const condOut = loopCondition(bb, path, condIn);
  const body: GraphProto = {
    name: path.replace(/\//g, '_'),
    nodes: bb.nodes,
    initializers: [],
    inputs: [info(iteration, int64([])), info(condIn, bool([])), info(tagIn, int64([batch]))],
    outputs: [info(condOut, bool([])), info(next, int64([batch])), info(tag, int64([batch]))],
    valueInfo: bb.valueInfo,
  };
  const cond = b.boolScalar(`${path}/cond`, true);
  const firstTag = b.fresh(`${path}/first_tag`);
  const reversed = b.fresh(`${path}/tags_reversed`);
  onnx.loop(
    b,
    `${path}/Loop`,
    { tripCount: inputs.time, condition: cond, carried: [inputs.lastTag] },
    [
      { name: firstTag, type: int64([batch]) },
      { name: reversed, type: int64([time, batch]) },
    ],
    { body },
    where,
  );
  return reversed;
}
