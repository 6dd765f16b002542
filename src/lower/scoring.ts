// A bundle's teacher-forced scoring graph: a Loop over the target steps (generic), or all steps at once or written out (webgpu).

import * as onnx from './ops.js';
import { DataType, type GraphProto, type ValueInfoProto } from '../onnx/types.js';
import { dimParam, dimValue, GraphBuilder } from './builder.js';
import { floatIdsAsInt32, idsAsFloat, prefixNodeNames } from './webgpu.js';
import { type DecoderContext, type EncoderValues, float, int64, info, graphOf, axisSize } from './decoder.js';
import { decoderLoop } from './loop.js';
import { decoderStart } from './encoder.js';
import { decoderStep } from './step.js';
import { embedSequence, recurrentOverSequence, headOverSequence } from './sequence.js';
import { attentionalSequence } from './attention.js';

/** Teacher forcing: (`src`, `src_lengths`,) `tgt_in` → `logits` [batch, tgt_time, vocab], through a Loop over the step. */
export function scoringGraph(ctx: DecoderContext): GraphProto {
  const b = new GraphBuilder(ctx.options.opset);
  b.reserve('tgt_in');
  b.reserve('logits');
  const { inputs, state, enc } = decoderStart(ctx, b, 'tgt_in');
  inputs.push(info('tgt_in', int64([ctx.sizes.batch, dimParam('tgt_time')])));
  const tgtTime = axisSize(b, 'tgt_in', 1, 'decoder/tgt_time');
  const targets = b.fresh('decoder/tgt_time_major');
  onnx.transpose(
    b,
    'decoder/tgt_in/Transpose',
    ['tgt_in'],
    { name: targets, type: int64([dimParam('tgt_time'), ctx.sizes.batch]) },
    { perm: [1, 0] },
  );
  const loop = decoderLoop(ctx, b, 'decoder/teacher_forcing', tgtTime, state, [], (body, iteration, current) => {
    const tokens = body.fresh('decoder/teacher_forcing/tokens');
    onnx.gather(
      body,
      'decoder/teacher_forcing/tokens/Gather',
      [targets, iteration],
      { name: tokens, type: int64([ctx.sizes.batch]) },
      { axis: 0 },
    );
    const out = decoderStep(ctx, body, tokens, current, enc);
    return {
      state: out,
      carried: [],
      scans: [{ name: out.logits, type: float([ctx.sizes.batch, dimValue(ctx.sizes.vocab)]) }],
    };
  });
  onnx.transpose(b, 'output/logits/Transpose', [loop.scans[0]!], { name: 'logits' }, { perm: [1, 0, 2] });
  const outputs = [info('logits', float([ctx.sizes.batch, dimParam('tgt_time'), dimValue(ctx.sizes.vocab)]))];
  return graphOf(
    b,
    ctx.ir.name,
    inputs,
    outputs,
    'Teacher-forced scoring: tgt_in starts with bos; logits for every step (docs/seq2seq.md).',
  );
}

/**
 * Teacher forcing without Loop. When the recurrent layer's input does not depend on attention (no
 * attention, or Luong attention without input feeding), the recurrent layer runs over the whole of
 * `tgt_in` at once and attention is batched over the target steps: `tgt_time` stays symbolic. Bahdanau
 * attention and input feeding make each step's input depend on the last one, so the step is written
 * out `max_length` times and `tgt_in` has exactly `max_length` columns.
 */
export function scoringGraphWithoutLoop(ctx: DecoderContext): GraphProto {
  const b = new GraphBuilder(ctx.options.opset);
  b.reserve('tgt_in');
  b.reserve('logits');
  const att = ctx.decoder.attention;
  const lm = ctx.ir.encoder === undefined;
  const { inputs, state, enc } = lm
    ? { inputs: [] as ValueInfoProto[], state: undefined, enc: {} as EncoderValues }
    : decoderStart(ctx, b);
  const { batch, vocab } = ctx.sizes;
  if (att?.placement === 'bahdanau' || att?.inputFeed === true) {
    const steps = ctx.decoder.maxLength;
    inputs.push(info('tgt_in', int64([batch, dimValue(steps)])));
    const ids = floatIdsAsInt32(
      b,
      idsAsFloat(b, 'tgt_in', ctx.decoder.embedding.vocab, float([batch, dimValue(steps)]), 'decoder/tgt_ids'),
      [batch, dimValue(steps)],
      'decoder/tgt_ids_int32',
    );
    let current = state!;
    const columns: string[] = [];
    for (let t = 0; t < steps; t++) {
      const tokens = b.fresh(`decoder/t${t}/tokens`);
      onnx.gather(
        b,
        `decoder/t${t}/tokens/Gather`,
        [ids, b.int64Initializer(`decoder/t${t}/index`, [t], [])],
        { name: tokens, type: { elemType: DataType.INT32, dims: [batch] } },
        { axis: 1 },
      );
      const first = b.nodes.length;
      const out = decoderStep(ctx, b, tokens, current, enc);
      prefixNodeNames(b, first, `decoder/t${t}`);
      current = out;
      const column = b.fresh(`decoder/t${t}/logits`);
      onnx.unsqueeze(
        b,
        `decoder/t${t}/logits/Unsqueeze`,
        [out.logits, b.int64Initializer(`decoder/t${t}/axis1`, [1])],
        { name: column, type: float([batch, dimValue(1), dimValue(vocab)]) },
      );
      columns.push(column);
    }
    onnx.concat(b, 'output/logits/Concat', columns, { name: 'logits' }, { axis: 1 });
    const outputs = [info('logits', float([batch, dimValue(steps), dimValue(vocab)]))];
    return graphOf(
      b,
      ctx.ir.name,
      inputs,
      outputs,
      `Teacher-forced scoring for WebGPU: tgt_in has max_length (${steps}) columns and starts with bos; the step is written out once per column (docs/seq2seq.md).`,
    );
  }
  const tgtTime = dimParam('tgt_time');
  inputs.push(info('tgt_in', int64([batch, tgtTime])));
  const embedded = embedSequence(ctx, b, 'tgt_in', tgtTime);
  const run = recurrentOverSequence(ctx, b, embedded, tgtTime, state);
  const top = b.fresh(`${ctx.decoder.recurrent.label}/output_batch_major`);
  onnx.transpose(
    b,
    `${ctx.decoder.recurrent.label}/output/Transpose`,
    [run.top],
    { name: top, type: float([batch, tgtTime, dimValue(ctx.sizes.hidden)]) },
    { perm: [1, 0, 2] },
  );
  const output = att?.placement === 'luong' ? attentionalSequence(ctx, b, top, tgtTime, enc) : top;
  const logits = headOverSequence(ctx, b, output, tgtTime);
  onnx.identity(b, 'output/logits/Identity', [logits], { name: 'logits' });
  const outputs = [info('logits', float([batch, tgtTime, dimValue(vocab)]))];
  return graphOf(
    b,
    ctx.ir.name,
    inputs,
    outputs,
    'Teacher-forced scoring for WebGPU: the recurrent layer runs over all of tgt_in (which starts with bos) at once (docs/seq2seq.md).',
  );
}
