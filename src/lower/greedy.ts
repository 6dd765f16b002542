// A bundle's greedy decoding graph: a Loop (generic), or the step written out max_length times (webgpu).

import * as onnx from './ops.js';
import { DataType, type GraphProto, type ValueInfoProto } from '../onnx/types.js';
import { dimParam, dimValue, GraphBuilder } from './builder.js';
import { batchFilled, floatIdsAsInt32, idsAsFloat, prefixNodeNames, zerosLike } from './webgpu.js';
import {
  type DecoderContext,
  type StepState,
  type EncoderValues,
  float,
  int64,
  bool,
  info,
  graphOf,
  axisSize,
  batchVector,
  filled,
} from './decoder.js';
import { decoderLoop } from './loop.js';
import { decoderStart } from './encoder.js';
import { decoderStep, decoderHead } from './step.js';
import { embedSequence, recurrentOverSequence } from './sequence.js';

/** Greedy decoding as one ONNX Loop: → `tokens` [batch, max_length], `lengths` [batch]. */
export function greedyGraph(ctx: DecoderContext): GraphProto {
  const b = new GraphBuilder(ctx.options.opset);
  b.reserve('tokens');
  b.reserve('lengths');
  const lm = ctx.ir.encoder === undefined;
  if (lm) b.reserve('prompt');
  const { inputs, state: initial, enc } = decoderStart(ctx, b, lm ? 'prompt' : undefined);
  const { batch } = ctx.sizes;
  let state = initial;
  let firstTokens: string;
  if (lm) {
    inputs.push(info('prompt', int64([batch, dimParam('prompt_time')])));
    // bos, then the prompt (which may be empty): all but the last token warm the state, and
    // generation starts from the last one.
    const promptShape = b.fresh('decoder/prompt_shape');
    onnx.shape(b, 'decoder/prompt_shape/Shape', ['prompt'], { name: promptShape });
    const sliceStart = b.int64Initializer('decoder/batch_slice_start', [0]);
    const sliceEnd = b.int64Initializer('decoder/batch_slice_end', [1]);
    const batchOnly = b.fresh('decoder/prompt_batch');
    onnx.slice(b, 'decoder/prompt_batch/Slice', [promptShape, sliceStart, sliceEnd], { name: batchOnly });
    const oneColumn = b.int64Initializer('decoder/one_column', [1]);
    const columnShape = b.fresh('decoder/bos_column_shape');
    onnx.concat(b, 'decoder/bos_column_shape/Concat', [batchOnly, oneColumn], { name: columnShape }, { axis: 0 });
    const bosColumn = b.fresh('decoder/bos_column');
    onnx.constantOfShape(
      b,
      'decoder/bos_column/ConstantOfShape',
      [columnShape],
      { name: bosColumn, type: int64([batch, dimValue(1)]) },
      { int64Value: ctx.decoder.bos },
    );
    const fed = b.fresh('decoder/fed');
    onnx.concat(
      b,
      'decoder/fed/Concat',
      [bosColumn, 'prompt'],
      { name: fed, type: int64([batch, dimParam('fed_time')]) },
      { axis: 1 },
    );
    const promptTime = axisSize(b, fed, 1, 'decoder/prompt_time');
    const one = b.int64Initializer('decoder/one', [1], []);
    const warmSteps = b.fresh('decoder/warm_steps');
    onnx.sub(b, 'decoder/warm_steps/Sub', [promptTime, one], { name: warmSteps, type: int64([]) });
    const prompt = b.fresh('decoder/prompt_time_major');
    onnx.transpose(
      b,
      'decoder/prompt/Transpose',
      [fed],
      { name: prompt, type: int64([dimParam('fed_time'), batch]) },
      { perm: [1, 0] },
    );
    const warm = decoderLoop(ctx, b, 'decoder/prompt', warmSteps, state, [], (body, iteration, current) => {
      const tokens = body.fresh('decoder/prompt/tokens');
      onnx.gather(
        body,
        'decoder/prompt/tokens/Gather',
        [prompt, iteration],
        { name: tokens, type: int64([batch]) },
        { axis: 0 },
      );
      return { state: decoderStep(ctx, body, tokens, current, enc), carried: [], scans: [] };
    });
    state = warm.state;
    const minusOne = b.int64Initializer('decoder/last_index', [-1], []);
    firstTokens = b.fresh('decoder/first_tokens');
    onnx.gather(
      b,
      'decoder/first_tokens/Gather',
      [prompt, minusOne],
      { name: firstTokens, type: int64([batch]) },
      { axis: 0 },
    );
  } else {
    firstTokens = filled(ctx, b, 'decoder/bos_tokens', batchVector(ctx, b, enc), ctx.decoder.bos);
  }
  const notFinished = b.fresh('decoder/finished0');
  const zeros = filled(ctx, b, 'decoder/zeros_int', batchVector(ctx, b, enc, firstTokens), 0);
  onnx.cast(b, 'decoder/finished0/Cast', [zeros], { name: notFinished, type: bool([batch]) }, { to: DataType.BOOL });
  const maxLength = b.int64Initializer('decoder/max_length', [ctx.decoder.maxLength], []);
  const eos = b.int64Initializer('decoder/eos', [ctx.decoder.eos], []);
  const loop = decoderLoop(
    ctx,
    b,
    'decoder/greedy',
    maxLength,
    state,
    [
      { name: firstTokens, type: int64([batch]) },
      { name: notFinished, type: bool([batch]) },
    ],
    (body, _iteration, current, carried) => {
      const [tokens, finished] = carried as [string, string];
      const out = decoderStep(ctx, body, tokens, current, enc);
      const best = body.fresh('decoder/greedy/argmax');
      onnx.argMax(
        body,
        'decoder/greedy/ArgMax',
        [out.logits],
        { name: best, type: int64([batch]) },
        { axis: 1, keepdims: 0 },
      );
      const next = body.fresh('decoder/greedy/next');
      onnx.where(body, 'decoder/greedy/Where', [finished, eos, best], { name: next, type: int64([batch]) });
      const isEos = body.fresh('decoder/greedy/is_eos');
      onnx.equal(body, 'decoder/greedy/Equal', [next, eos], { name: isEos, type: bool([batch]) });
      const nowFinished = body.fresh('decoder/greedy/finished');
      onnx.or(body, 'decoder/greedy/Or', [finished, isEos], { name: nowFinished, type: bool([batch]) });
      const live = body.fresh('decoder/greedy/live');
      onnx.not(body, 'decoder/greedy/Not', [finished], { name: live, type: bool([batch]) });
      const counted = body.fresh('decoder/greedy/counted');
      onnx.cast(body, 'decoder/greedy/Cast', [live], { name: counted, type: int64([batch]) }, { to: DataType.INT64 });
      return {
        state: out,
        carried: [next, nowFinished],
        scans: [
          { name: next, type: int64([batch]) },
          { name: counted, type: int64([batch]) },
        ],
      };
    },
  );
  onnx.transpose(b, 'output/tokens/Transpose', [loop.scans[0]!], { name: 'tokens' }, { perm: [1, 0] });
  const axis0 = b.int64Initializer('decoder/axis0', [0]);
  onnx.reduceSum(b, 'output/lengths/ReduceSum', [loop.scans[1]!, axis0], { name: 'lengths' }, { keepdims: 0 });
  const outputs = [info('tokens', int64([batch, dimValue(ctx.decoder.maxLength)])), info('lengths', int64([batch]))];
  return graphOf(
    b,
    `${ctx.ir.name}_greedy`,
    inputs,
    outputs,
    'Greedy decoding in one Loop: tokens after bos, eos-filled after eos; lengths count up to and including eos.',
  );
}

/**
 * Greedy decoding without Loop: the step written out `max_length` times, with token ids carried as
 * floats (the WebGPU provider reads int64 only as Gather indices) and cast to int64 at the end. A
 * language model reads bos and the prompt in one pass of the recurrent layer.
 */
export function greedyGraphUnrolled(ctx: DecoderContext): GraphProto {
  const b = new GraphBuilder(ctx.options.opset);
  b.reserve('tokens');
  b.reserve('lengths');
  const { batch, vocab, layers } = ctx.sizes;
  const steps = ctx.decoder.maxLength;
  let inputs: ValueInfoProto[];
  let state: StepState;
  let enc: EncoderValues = {};
  let logits: string;
  if (ctx.ir.encoder === undefined) {
    b.reserve('prompt');
    const promptTime = dimParam('prompt_time');
    const fedTime = dimParam('fed_time');
    inputs = [info('prompt', int64([batch, promptTime]))];
    // bos, then the prompt (which may be empty), all through the recurrent layer at once.
    const prompt = idsAsFloat(
      b,
      'prompt',
      ctx.decoder.embedding.vocab,
      float([batch, promptTime]),
      'decoder/prompt_ids',
    );
    const fed = b.fresh('decoder/fed_ids');
    const pads = b.int64Initializer('decoder/bos_pads', [0, 1, 0, 0]);
    onnx.pad(b, 'decoder/fed/Pad', [prompt, pads, b.floatScalar('decoder/bos_value', ctx.decoder.bos)], {
      name: fed,
      type: float([batch, fedTime]),
    });
    const embedded = embedSequence(ctx, b, floatIdsAsInt32(b, fed, [batch, fedTime], 'decoder/fed_ids_int32'), fedTime);
    const run = recurrentOverSequence(ctx, b, embedded, fedTime, undefined);
    state = { h: run.h, ...(run.c === undefined ? {} : { c: run.c }) };
    const last = b.fresh('decoder/prompt_output');
    onnx.gather(
      b,
      'decoder/prompt_output/Gather',
      [run.h, b.int64Initializer('decoder/top_layer', [layers - 1], [])],
      { name: last, type: float([batch, dimValue(ctx.sizes.hidden)]) },
      { axis: 0 },
    );
    logits = decoderHead(ctx, b, last);
  } else {
    const started = decoderStart(ctx, b);
    inputs = started.inputs;
    enc = started.enc;
    const bos = floatIdsAsInt32(
      b,
      batchFilled(b, enc.memory!, 3, batch, ctx.decoder.bos, 'decoder/bos'),
      [batch],
      'decoder/bos_int32',
    );
    const first = b.nodes.length;
    const out = decoderStep(ctx, b, bos, started.state, enc);
    prefixNodeNames(b, first, 'decoder/t0');
    state = out;
    logits = out.logits;
  }
  const eos = b.floatScalar('decoder/eos', ctx.decoder.eos);
  const one = b.floatScalar('decoder/one', 1);
  const axis1 = b.int64Initializer('decoder/axis1', [1]);
  const picked: string[] = [];
  const counted: string[] = [];
  let finished: string | undefined;
  for (let t = 0; t < steps; t++) {
    const path = `decoder/t${t}`;
    const argmax = b.fresh(`${path}/argmax`);
    onnx.argMax(b, `${path}/ArgMax`, [logits], { name: argmax, type: int64([batch]) }, { axis: 1, keepdims: 0 });
    const best = idsAsFloat(b, argmax, vocab, float([batch]), `${path}/best`);
    let next = best;
    let count: string;
    if (finished === undefined) {
      count = b.fresh(`${path}/counted`);
      onnx.add(b, `${path}/counted/Add`, [zerosLike(b, best, float([batch]), `${path}/zeros`), one], {
        name: count,
        type: float([batch]),
      });
    } else {
      const done = b.fresh(`${path}/finished_bool`);
      onnx.cast(b, `${path}/finished/Cast`, [finished], { name: done, type: bool([batch]) }, { to: DataType.BOOL });
      next = b.fresh(`${path}/next`);
      onnx.where(b, `${path}/Where`, [done, eos, best], { name: next, type: float([batch]) });
      count = b.fresh(`${path}/counted`);
      onnx.sub(b, `${path}/counted/Sub`, [one, finished], { name: count, type: float([batch]) });
    }
    for (const [list, value, label] of [
      [picked, next, 'token'],
      [counted, count, 'count'],
    ] as const) {
      const column = b.fresh(`${path}/${label}_column`);
      onnx.unsqueeze(b, `${path}/${label}/Unsqueeze`, [value, axis1], {
        name: column,
        type: float([batch, dimValue(1)]),
      });
      list.push(column);
    }
    const isEos = b.fresh(`${path}/is_eos`);
    onnx.equal(b, `${path}/Equal`, [next, eos], { name: isEos, type: bool([batch]) });
    const isEosFloat = b.fresh(`${path}/is_eos_float`);
    onnx.cast(b, `${path}/is_eos/Cast`, [isEos], { name: isEosFloat, type: float([batch]) }, { to: DataType.FLOAT });
    if (finished === undefined) {
      finished = isEosFloat;
    } else {
      const nowFinished = b.fresh(`${path}/finished`);
      onnx.max(b, `${path}/finished/Max`, [finished, isEosFloat], { name: nowFinished, type: float([batch]) });
      finished = nowFinished;
    }
    if (t + 1 === steps) break;
    const tokens = floatIdsAsInt32(b, next, [batch], `${path}/next_int32`);
    const first = b.nodes.length;
    const out = decoderStep(ctx, b, tokens, state, enc);
    prefixNodeNames(b, first, `decoder/t${t + 1}`);
    state = out;
    logits = out.logits;
  }
  const joinedTokens = b.fresh('output/tokens/float');
  onnx.concat(
    b,
    'output/tokens/Concat',
    picked,
    { name: joinedTokens, type: float([batch, dimValue(steps)]) },
    { axis: 1 },
  );
  onnx.cast(b, 'output/tokens/Cast', [joinedTokens], { name: 'tokens' }, { to: DataType.INT64 });
  const joinedCounts = b.fresh('output/lengths/counts');
  onnx.concat(
    b,
    'output/lengths/Concat',
    counted,
    { name: joinedCounts, type: float([batch, dimValue(steps)]) },
    { axis: 1 },
  );
  const lengths = b.fresh('output/lengths/float');
  onnx.reduceSum(
    b,
    'output/lengths/ReduceSum',
    [joinedCounts, axis1],
    { name: lengths, type: float([batch]) },
    { keepdims: 0 },
  );
  onnx.cast(b, 'output/lengths/Cast', [lengths], { name: 'lengths' }, { to: DataType.INT64 });
  const outputs = [info('tokens', int64([batch, dimValue(steps)])), info('lengths', int64([batch]))];
  return graphOf(
    b,
    `${ctx.ir.name}_greedy`,
    inputs,
    outputs,
    `Greedy decoding for WebGPU, the step written out max_length (${steps}) times: tokens after bos, eos-filled after eos; lengths count up to and including eos.`,
  );
}
