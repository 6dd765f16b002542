// One decoder step: its graph, and the step's nodes (embedding, attention input, the stacked one-step recurrent layer, the head) inside any graph.

import { assertNever } from '../contracts/assert.js';
import type { AttentionOp, DecoderStepOp, RecurrentOp } from '../ir/ir.js';
import * as onnx from './ops.js';
import type { GraphProto, ValueInfoProto } from '../onnx/types.js';
import { dimParam, dimValue, GraphBuilder, type TensorType } from './builder.js';
import { emitRecurrentNode, Lowering } from './lower.js';
import {
  type DecoderContext,
  type StepState,
  type StepOutputs,
  type EncoderValues,
  float,
  int64,
  info,
  graphOf,
} from './decoder.js';
import { sourceMask } from './encoder.js';
import { attend, attentionalVector } from './attention.js';

/**
 * `tokens`, `h`, `c`, `memory`, lengths, `feed` → `logits`, `h_out`, `c_out`, `attention`, `feed_out`, and the
 * choice made inside the graph: `next_token`, `next_log_prob`, and where the target has TopK, `top_tokens`,
 * `top_log_probs`, `top_logits` for the `top_k` input.
 */
export function stepGraph(ctx: DecoderContext): GraphProto {
  const b = new GraphBuilder(ctx.options.opset);
  const { batch, srcTime } = ctx.sizes;
  const inputs: ValueInfoProto[] = [info('tokens', int64([batch])), info('h', ctx.stateType)];
  if (ctx.isLstm) inputs.push(info('c', ctx.stateType));
  let enc: EncoderValues = {};
  if (ctx.ir.encoder !== undefined) {
    inputs.push(info('memory', float([batch, srcTime, dimValue(ctx.sizes.memoryDim)])));
    const lengths = ctx.ir.inputs.find((i) => i.role.kind === 'lengths')?.name;
    if (lengths !== undefined) inputs.push(info(lengths, int64([batch])));
    enc = {
      memory: 'memory',
      ...(lengths === undefined ? {} : { lengths, valid: sourceMask(ctx, b, 'memory', lengths) }),
    };
  }
  const feedDim = dimValue(ctx.sizes.hidden);
  if (ctx.decoder.attention?.inputFeed === true) inputs.push(info('feed', float([batch, feedDim])));
  for (const i of inputs) b.reserve(i.name);
  for (const name of [...stepOutputNames, ...choiceOutputNames, 'top_k']) b.reserve(name);
  const state: StepState = {
    h: 'h',
    ...(ctx.isLstm ? { c: 'c' } : {}),
    ...(ctx.decoder.attention?.inputFeed === true ? { feed: 'feed' } : {}),
  };
  const out = decoderStep(ctx, b, 'tokens', state, enc);
  const outputs: ValueInfoProto[] = [];
  const expose = (internal: string | undefined, name: string, type: TensorType): void => {
    if (internal === undefined) return;
    onnx.identity(b, `output/${name}/Identity`, [internal], { name });
    outputs.push(info(name, type));
  };
  expose(out.logits, 'logits', float([batch, dimValue(ctx.sizes.vocab)]));
  expose(out.h, 'h_out', ctx.stateType);
  expose(out.c, 'c_out', ctx.stateType);
  expose(out.attention, 'attention', float([batch, srcTime]));
  expose(out.feed, 'feed_out', float([batch, feedDim]));
  // The choice's nodes write the graph outputs themselves, without an Identity: WebGPU has no int64 Identity.
  if (ctx.target.stepTopK) {
    inputs.push(info('top_k', int64([dimValue(1)])));
    topKChoice(ctx, b, out.logits, 'top_k');
    const k = dimParam('top_k');
    outputs.push(
      info('next_token', int64([batch])),
      info('next_log_prob', float([batch])),
      info('top_tokens', int64([batch, k])),
      info('top_log_probs', float([batch, k])),
      info('top_logits', float([batch, k])),
    );
  } else {
    argMaxChoice(ctx, b, out.logits);
    outputs.push(info('next_token', int64([batch])), info('next_log_prob', float([batch])));
  }
  return graphOf(b, `${ctx.ir.name}_step`, inputs, outputs, 'One decoder step (docs/seq2seq.md).');
}

const stepOutputNames = ['logits', 'h_out', 'c_out', 'attention', 'feed_out'] as const;
const choiceOutputNames = ['next_token', 'next_log_prob', 'top_tokens', 'top_log_probs', 'top_logits'] as const;

/**
 * The choice where the target has TopK: the `top_k` best ids of one step's logits `[batch, V]` (largest first, the
 * lower id first among equals), their logits and their log-softmax values. `next_token` and `next_log_prob` are the
 * first column, so the graph makes one pass for the choice where it made an ArgMax and a TopK(64): TopK's order among
 * equals is ArgMax's, the lowest id. A greedy search feeds `top_k` = 1.
 */
function topKChoice(ctx: DecoderContext, b: GraphBuilder, logits: string, k: string): void {
  const { batch, vocab } = ctx.sizes;
  const where = ctx.where();
  const path = 'decoder/choice';
  const columns = dimParam('top_k');
  onnx.topK(
    b,
    `${path}/TopK`,
    [logits, k],
    {
      values: { name: 'top_logits', type: float([batch, columns]) },
      indices: { name: 'top_tokens', type: int64([batch, columns]) },
    },
    { axis: 1, largest: 1, sorted: 1 },
    where,
  );
  // ONNX Runtime's LogSoftmax is vectorized and several times faster than its ReduceLogSumExp over the same row.
  const logProbs = b.fresh(`${path}/log_probs`);
  ctx.target.logSoftmax(b, path, logits, { name: logProbs, type: float([batch, dimValue(vocab)]) }, where);
  onnx.gatherElements(
    b,
    `${path}/top/GatherElements`,
    [logProbs, 'top_tokens'],
    { name: 'top_log_probs', type: float([batch, columns]) },
    { axis: 1 },
    where,
  );
  const first = b.int64Initializer(`${path}/first`, [0], []);
  onnx.gather(
    b,
    `${path}/next/Gather`,
    ['top_tokens', first],
    { name: 'next_token', type: int64([batch]) },
    { axis: 1 },
    where,
  );
  onnx.gather(
    b,
    `${path}/next/log_prob/Gather`,
    ['top_log_probs', first],
    { name: 'next_log_prob', type: float([batch]) },
    { axis: 1 },
    where,
  );
}

/**
 * The choice where the target has no TopK (WebGPU): ArgMax of one step's logits `[batch, V]` into `next_token` (the
 * lowest id among equals) and the log-softmax's largest value into `next_log_prob`.
 */
function argMaxChoice(ctx: DecoderContext, b: GraphBuilder, logits: string): void {
  const { batch, vocab } = ctx.sizes;
  const where = ctx.where();
  const path = 'decoder/choice';
  onnx.argMax(
    b,
    `${path}/ArgMax`,
    [logits],
    { name: 'next_token', type: int64([batch]) },
    { axis: 1, keepdims: 0 },
    where,
  );
  const logProbs = b.fresh(`${path}/log_probs`);
  ctx.target.logSoftmax(b, path, logits, { name: logProbs, type: float([batch, dimValue(vocab)]) }, where);
  // The largest log-probability is the one at the ArgMax: log-softmax keeps the order of the logits.
  onnx.reduceMax(
    b,
    `${path}/next/ReduceMax`,
    logProbs,
    { values: [1], initializer: `${path}/next/axes` },
    { name: 'next_log_prob', type: float([batch]) },
    { keepdims: 0 },
    where,
  );
}

/** One decoder step (docs/seq2seq.md) emitted into `b`, which may be a Loop body: the step's ops in order. */
export function decoderStep(
  ctx: DecoderContext,
  b: GraphBuilder,
  tokens: string,
  state: StepState,
  enc: EncoderValues,
): StepOutputs {
  const d = ctx.decoder;
  const lowering = new Lowering(ctx.ir, ctx.weights, ctx.options, b);
  lowering.bind(d.embedding.input, tokens, { dtype: 'int64', dims: [], hasTime: false }, false);
  const step: StepValues = { lowering, b, state, enc, joined: [] };
  for (const op of d.step) stepOp(ctx, step, op);
  const last = d.step[d.step.length - 1]!;
  const logits = lowering.lookup(last.kind === 'attention' ? last.input : last.output.id).name;
  const { h, c, feed, attention } = step;
  return {
    logits,
    h: h!,
    ...(c === undefined ? {} : { c }),
    ...(feed === undefined ? {} : { feed }),
    ...(attention === undefined ? {} : { attention }),
  };
}

/** What one step's ops read and write besides the values of `lowering`. */
interface StepValues {
  readonly lowering: Lowering;
  readonly b: GraphBuilder;
  /** The state the step starts from. */
  readonly state: StepState;
  readonly enc: EncoderValues;
  /** Tensors joined to the recurrent layer's input after its own: a Bahdanau context. */
  readonly joined: string[];
  h?: string;
  c?: string;
  feed?: string;
  attention?: string;
}

/** The one dispatch of a step's ops: attention and the one-token recurrent layer here, every other kind as in any graph. */
function stepOp(ctx: DecoderContext, step: StepValues, op: DecoderStepOp): void {
  switch (op.kind) {
    case 'attention':
      return op.placement === 'bahdanau' ? bahdanauAttention(ctx, step, op) : luongAttention(ctx, step, op);
    case 'recurrent':
      return recurrentStep(ctx, step, op);
    case 'embedding':
    case 'linear':
    case 'layerNorm':
    case 'dropout':
    case 'activation':
    case 'repeat':
    case 'pool':
    case 'merge':
    case 'conv1d':
    case 'crf':
    case 'masking':
      return step.lowering.op(op);
    default:
      return assertNever(op);
  }
}

/** Bahdanau: attend with the top layer of the state before this step; the context joins the recurrent input. */
function bahdanauAttention(ctx: DecoderContext, step: StepValues, op: AttentionOp): void {
  const { b } = step;
  const { batch, hidden, layers } = ctx.sizes;
  const top = b.fresh(`${op.input}/previous_top`);
  const index = b.int64Initializer(`${op.input}/top_index`, [layers - 1], []);
  onnx.gather(
    b,
    `${op.label}/query/Gather`,
    [step.state.h, index],
    { name: top, type: float([batch, dimValue(hidden)]) },
    { axis: 0 },
  );
  const attended = attend(ctx, b, op, top, step.enc);
  step.joined.push(attended.context);
  step.attention = attended.weights;
}

/** Luong: attend with the recurrent output of this step; the attentional vector takes its place (and is fed). */
function luongAttention(ctx: DecoderContext, step: StepValues, op: AttentionOp): void {
  const { b, lowering } = step;
  const query = lowering.lookup(op.input).name;
  const attended = attend(ctx, b, op, query, step.enc);
  step.attention = attended.weights;
  const output = attentionalVector(ctx, b, op, attended.context, query);
  if (op.inputFeed) step.feed = output;
  lowering.bind(op.input, output, { dtype: 'float32', dims: [], hasTime: false }, false);
}

/** The recurrent layer for one token: its input joined with a Bahdanau context or the fed vector, the state carried. */
function recurrentStep(ctx: DecoderContext, step: StepValues, op: RecurrentOp): void {
  const { b, lowering, state } = step;
  const input = lowering.lookup(op.input).name;
  const parts = [input, ...step.joined, ...(state.feed === undefined ? [] : [state.feed])];
  let x = input;
  if (parts.length > 1) {
    x = b.fresh(`${op.label}/input`);
    onnx.concat(
      b,
      `${op.label}/input/Concat`,
      parts,
      { name: x, type: float([ctx.sizes.batch, dimValue(op.inputSize)]) },
      { axis: 1 },
    );
  }
  const { h, c, top } = cellStep(ctx, b, op, x, state);
  step.h = h;
  step.c = c;
  lowering.bind(op.label, top, { dtype: 'float32', dims: [], hasTime: false }, false);
}

/** The stacked recurrent layer for one token: each layer is a one-step ONNX recurrent node. */
export function cellStep(
  ctx: DecoderContext,
  b: GraphBuilder,
  op: RecurrentOp,
  x: string,
  state: StepState,
): { h: string; c?: string; top: string } {
  const { batch, hidden } = ctx.sizes;
  const hs: string[] = [];
  const cs: string[] = [];
  let input = x;
  let inputSize = op.inputSize;
  const axis0 = b.int64Initializer(`${op.label}/axis0`, [0]);
  for (let layer = 0; layer < op.layers; layer++) {
    const path = `${op.label}/l${layer}`;
    const sequence = b.fresh(`${path}/step_input`);
    onnx.unsqueeze(b, `${path}/Unsqueeze`, [input, axis0], {
      name: sequence,
      type: float([dimValue(1), batch, dimValue(inputSize)]),
    });
    const index = b.int64Initializer(`${path}/state_index`, [layer]);
    const h0 = b.fresh(`${path}/h`);
    onnx.gather(
      b,
      `${path}/h/Gather`,
      [state.h, index],
      { name: h0, type: float([dimValue(1), batch, dimValue(hidden)]) },
      { axis: 0 },
    );
    const yh = b.fresh(`${path}/Y_h`);
    let c0: string | undefined;
    let yc: string | undefined;
    if (state.c !== undefined) {
      c0 = b.fresh(`${path}/c`);
      onnx.gather(
        b,
        `${path}/c/Gather`,
        [state.c, index],
        { name: c0, type: float([dimValue(1), batch, dimValue(hidden)]) },
        { axis: 0 },
      );
      yc = b.fresh(`${path}/Y_c`);
      cs.push(yc);
    }
    const outputs = {
      yH: { name: yh, type: float([dimValue(1), batch, dimValue(hidden)]) },
      yC: yc === undefined ? undefined : { name: yc, type: float([dimValue(1), batch, dimValue(hidden)]) },
    };
    const place = {
      layer,
      direction: 0 as const,
      inputSize,
      initializerPath: `${path}/forward`,
      nodePath: path,
      target: ctx.target,
      docString: ctx.where(),
    };
    emitRecurrentNode(b, (n) => ctx.weight(n), op, place, { x: sequence, initialH: h0, initialC: c0 }, outputs);
    hs.push(yh);
    const next = b.fresh(`${path}/output`);
    onnx.squeeze(b, `${path}/Squeeze`, [yh, axis0], { name: next, type: float([batch, dimValue(hidden)]) });
    input = next;
    inputSize = hidden;
  }
  const h = b.fresh(`${op.label}/h_out`);
  onnx.concat(b, `${op.label}/h_out/Concat`, hs, { name: h, type: ctx.stateType }, { axis: 0 });
  let c: string | undefined;
  if (state.c !== undefined) {
    c = b.fresh(`${op.label}/c_out`);
    onnx.concat(b, `${op.label}/c_out/Concat`, cs, { name: c, type: ctx.stateType }, { axis: 0 });
  }
  return { h, ...(c === undefined ? {} : { c }), top: input };
}

/** The decoder's head (the steps after the recurrent layer and attention) on one step's output [batch, F]. */
export function decoderHead(ctx: DecoderContext, b: GraphBuilder, output: string): string {
  const d = ctx.decoder;
  const lowering = new Lowering(ctx.ir, ctx.weights, ctx.options, b);
  lowering.bind(d.recurrent.label, output, { dtype: 'float32', dims: [], hasTime: false }, false);
  for (const op of d.head) lowering.op(op);
  return lowering.lookup(d.head.length === 0 ? d.recurrent.label : d.head[d.head.length - 1]!.output.id).name;
}
