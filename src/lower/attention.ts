// Attention in a decoder: the three scores (dot, general, additive), the masked softmax and context, for one step or for every target step at once.

import type { AttentionOp } from '../ir/ir.js';
import { attentionParameterName } from '../ir/parameters.js';
import * as onnx from './ops.js';
import type { OnnxDim } from '../onnx/types.js';
import { dimValue, type GraphBuilder, type TensorType } from './builder.js';
import { transpose2d } from './pack.js';
import { type DecoderContext, type EncoderValues, float, bool } from './decoder.js';

/** attend(q, M): scores by the layer's score function, masked softmax over source steps, context. */
export function attend(
  ctx: DecoderContext,
  b: GraphBuilder,
  att: AttentionOp,
  query: string,
  enc: EncoderValues,
): { context: string; weights: string } {
  const { batch, srcTime, memoryDim } = ctx.sizes;
  const memory = enc.memory!;
  const path = att.label;
  const where = ctx.where(att.span);
  const axis1 = b.int64Initializer(`${path}/axis1`, [1]);
  const axis2 = b.int64Initializer(`${path}/axis2`, [2]);
  let scores3: string;
  if (att.score === 'additive') {
    const queryProjected = b.fresh(`${path}/query_projected`);
    const wq = b.floatInitializer(
      attentionParameterName(att.label, 'linear_query.weight'),
      [memoryDim, att.queryDim],
      ctx.weight(attentionParameterName(att.label, 'linear_query.weight')),
    );
    const bq = b.floatInitializer(
      attentionParameterName(att.label, 'linear_query.bias'),
      [memoryDim],
      ctx.weight(attentionParameterName(att.label, 'linear_query.bias')),
    );
    onnx.gemm(
      b,
      `${path}/linear_query/Gemm`,
      [query, wq, bq],
      { name: queryProjected, type: float([batch, dimValue(memoryDim)]) },
      { transB: 1 },
      where,
    );
    const queryRow = b.fresh(`${path}/query_row`);
    onnx.unsqueeze(
      b,
      `${path}/query/Unsqueeze`,
      [queryProjected, axis1],
      { name: queryRow, type: float([batch, dimValue(1), dimValue(memoryDim)]) },
      where,
    );
    const wcT = b.floatInitializer(
      `${att.label}/linear_context_T`,
      [memoryDim, memoryDim],
      transpose2d(ctx.weight(attentionParameterName(att.label, 'linear_context.weight')), memoryDim, memoryDim),
      `${attentionParameterName(att.label, 'linear_context.weight')} transposed`,
    );
    const contextProjected = b.fresh(`${path}/context_projected`);
    onnx.matMul(
      b,
      `${path}/linear_context/MatMul`,
      [memory, wcT],
      { name: contextProjected, type: float([batch, srcTime, dimValue(memoryDim)]) },
      where,
    );
    const summed = b.fresh(`${path}/summed`);
    onnx.add(
      b,
      `${path}/Add`,
      [contextProjected, queryRow],
      { name: summed, type: float([batch, srcTime, dimValue(memoryDim)]) },
      where,
    );
    const activated = b.fresh(`${path}/tanh`);
    onnx.tanh(
      b,
      `${path}/Tanh`,
      [summed],
      { name: activated, type: float([batch, srcTime, dimValue(memoryDim)]) },
      where,
    );
    const vT = b.floatInitializer(
      `${att.label}/v_T`,
      [memoryDim, 1],
      ctx.weight(attentionParameterName(att.label, 'v.weight')),
      `${attentionParameterName(att.label, 'v.weight')} transposed`,
    );
    scores3 = b.fresh(`${path}/scores3`);
    onnx.matMul(
      b,
      `${path}/v/MatMul`,
      [activated, vT],
      { name: scores3, type: float([batch, srcTime, dimValue(1)]) },
      where,
    );
  } else {
    let projected = query;
    if (att.score === 'general') {
      projected = b.fresh(`${path}/query_projected`);
      const w = b.floatInitializer(
        attentionParameterName(att.label, 'linear_in.weight'),
        [memoryDim, att.queryDim],
        ctx.weight(attentionParameterName(att.label, 'linear_in.weight')),
      );
      onnx.gemm(
        b,
        `${path}/linear_in/Gemm`,
        [query, w],
        { name: projected, type: float([batch, dimValue(memoryDim)]) },
        { transB: 1 },
        where,
      );
    }
    const column = b.fresh(`${path}/query_column`);
    onnx.unsqueeze(
      b,
      `${path}/query/Unsqueeze`,
      [projected, axis2],
      { name: column, type: float([batch, dimValue(memoryDim), dimValue(1)]) },
      where,
    );
    scores3 = b.fresh(`${path}/scores3`);
    onnx.matMul(
      b,
      `${path}/scores/MatMul`,
      [memory, column],
      { name: scores3, type: float([batch, srcTime, dimValue(1)]) },
      where,
    );
  }
  let scores = b.fresh(`${path}/scores`);
  onnx.squeeze(b, `${path}/scores/Squeeze`, [scores3, axis2], { name: scores, type: float([batch, srcTime]) }, where);
  if (enc.valid !== undefined) {
    // The lowest float rather than −∞, so a row can never turn into NaN.
    const lowest = b.floatScalar(`${path}/lowest`, -3.4028234663852886e38);
    const masked = b.fresh(`${path}/masked_scores`);
    onnx.where(
      b,
      `${path}/mask/Where`,
      [enc.valid, scores, lowest],
      { name: masked, type: float([batch, srcTime]) },
      where,
    );
    scores = masked;
  }
  const weights = b.fresh(`${path}/weights`);
  onnx.softmax(b, `${path}/Softmax`, [scores], { name: weights, type: float([batch, srcTime]) }, { axis: 1 }, where);
  const weightsRow = b.fresh(`${path}/weights_row`);
  onnx.unsqueeze(
    b,
    `${path}/weights/Unsqueeze`,
    [weights, axis1],
    { name: weightsRow, type: float([batch, dimValue(1), srcTime]) },
    where,
  );
  const context3 = b.fresh(`${path}/context3`);
  onnx.matMul(
    b,
    `${path}/context/MatMul`,
    [weightsRow, memory],
    { name: context3, type: float([batch, dimValue(1), dimValue(memoryDim)]) },
    where,
  );
  const context = b.fresh(`${path}/context`);
  onnx.squeeze(
    b,
    `${path}/context/Squeeze`,
    [context3, axis1],
    { name: context, type: float([batch, dimValue(memoryDim)]) },
    where,
  );
  return { context, weights };
}

/** Luong's attentional vector: linear_out([context ; query]), then tanh for dot and general. */
export function attentionalVector(
  ctx: DecoderContext,
  b: GraphBuilder,
  att: AttentionOp,
  context: string,
  query: string,
): string {
  const { batch, memoryDim } = ctx.sizes;
  const q = att.queryDim;
  const path = att.label;
  const where = ctx.where(att.span);
  const joined = b.fresh(`${path}/context_query`);
  onnx.concat(
    b,
    `${path}/Concat`,
    [context, query],
    { name: joined, type: float([batch, dimValue(memoryDim + q)]) },
    { axis: 1 },
    where,
  );
  const weight = b.floatInitializer(
    attentionParameterName(att.label, 'linear_out.weight'),
    [q, memoryDim + q],
    ctx.weight(attentionParameterName(att.label, 'linear_out.weight')),
  );
  const bias = att.outBias
    ? b.floatInitializer(
        attentionParameterName(att.label, 'linear_out.bias'),
        [q],
        ctx.weight(attentionParameterName(att.label, 'linear_out.bias')),
      )
    : undefined;
  const projected = b.fresh(`${path}/linear_out`);
  onnx.gemm(
    b,
    `${path}/linear_out/Gemm`,
    [joined, weight, bias],
    { name: projected, type: float([batch, dimValue(q)]) },
    { transB: 1 },
    where,
  );
  if (att.score === 'additive') return projected;
  const out = b.fresh(`${path}/attentional`);
  onnx.tanh(b, `${path}/Tanh`, [projected], { name: out, type: float([batch, dimValue(q)]) }, where);
  return out;
}

/**
 * Luong attention for every target step at once: queries [batch, T, Q] against the memory, the same
 * scores, mask, softmax and linear_out as `attend` and `attentionalVector`, as batched MatMuls.
 */
export function attentionalSequence(
  ctx: DecoderContext,
  b: GraphBuilder,
  queries: string,
  time: OnnxDim,
  enc: EncoderValues,
): string {
  const att = ctx.decoder.attention!;
  const { batch, srcTime, memoryDim } = ctx.sizes;
  const q = att.queryDim;
  const memory = enc.memory!;
  const path = att.label;
  const where = ctx.where(att.span);
  const seq = (features: OnnxDim): TensorType => float([batch, time, features]);
  const matmul = (name: string, left: string, right: string, type: TensorType): string => {
    const out = b.fresh(`${path}/${name}`);
    onnx.matMul(b, `${path}/${name}/MatMul`, [left, right], { name: out, type }, where);
    return out;
  };
  // For webgpu, the step graph's Gemms read these weights in PyTorch's layout: the scoring graph transposes the same tensors.
  const transposed = (
    parameter: 'linear_query' | 'linear_context' | 'linear_in' | 'linear_out',
    rows: number,
    columns: number,
  ): string =>
    ctx.target.matMulWeight(
      b,
      attentionParameterName(att.label, `${parameter}.weight` as const),
      `${att.label}/${parameter}_T`,
      rows,
      columns,
      ctx.weight(attentionParameterName(att.label, `${parameter}.weight` as const)),
      where,
    );
  let scores: string;
  if (att.score === 'additive') {
    let projected = matmul(
      'query_projected',
      queries,
      transposed('linear_query', memoryDim, q),
      seq(dimValue(memoryDim)),
    );
    const biased = b.fresh(`${path}/query_biased`);
    onnx.add(
      b,
      `${path}/linear_query/Add`,
      [
        projected,
        b.floatInitializer(
          attentionParameterName(att.label, 'linear_query.bias'),
          [memoryDim],
          ctx.weight(attentionParameterName(att.label, 'linear_query.bias')),
        ),
      ],
      { name: biased, type: seq(dimValue(memoryDim)) },
      where,
    );
    projected = biased;
    const queryRows = b.fresh(`${path}/query_rows`);
    onnx.unsqueeze(
      b,
      `${path}/query/Unsqueeze`,
      [projected, b.int64Initializer(`${path}/axis2`, [2])],
      { name: queryRows, type: float([batch, time, dimValue(1), dimValue(memoryDim)]) },
      where,
    );
    const context = matmul(
      'context_projected',
      memory,
      transposed('linear_context', memoryDim, memoryDim),
      float([batch, srcTime, dimValue(memoryDim)]),
    );
    const contextRows = b.fresh(`${path}/context_rows`);
    onnx.unsqueeze(
      b,
      `${path}/context/Unsqueeze`,
      [context, b.int64Initializer(`${path}/axis1`, [1])],
      { name: contextRows, type: float([batch, dimValue(1), srcTime, dimValue(memoryDim)]) },
      where,
    );
    const pairs = float([batch, time, srcTime, dimValue(memoryDim)]);
    const summed = b.fresh(`${path}/summed`);
    onnx.add(b, `${path}/Add`, [contextRows, queryRows], { name: summed, type: pairs }, where);
    const activated = b.fresh(`${path}/tanh`);
    onnx.tanh(b, `${path}/Tanh`, [summed], { name: activated, type: pairs }, where);
    const vT = b.floatInitializer(
      `${att.label}/v_T`,
      [memoryDim, 1],
      ctx.weight(attentionParameterName(att.label, 'v.weight')),
      `${attentionParameterName(att.label, 'v.weight')} transposed`,
    );
    const scores4 = matmul('scores4', activated, vT, float([batch, time, srcTime, dimValue(1)]));
    scores = b.fresh(`${path}/scores`);
    onnx.squeeze(
      b,
      `${path}/scores/Squeeze`,
      [scores4, b.int64Initializer(`${path}/axis3`, [3])],
      { name: scores, type: seq(srcTime) },
      where,
    );
  } else {
    const projected =
      att.score === 'general'
        ? matmul('query_projected', queries, transposed('linear_in', memoryDim, q), seq(dimValue(memoryDim)))
        : queries;
    const memoryT = b.fresh(`${path}/memory_T`);
    onnx.transpose(
      b,
      `${path}/memory/Transpose`,
      [memory],
      { name: memoryT, type: float([batch, dimValue(memoryDim), srcTime]) },
      { perm: [0, 2, 1] },
      where,
    );
    scores = matmul('scores', projected, memoryT, seq(srcTime));
  }
  if (enc.valid !== undefined) {
    const valid = b.fresh(`${path}/valid_rows`);
    onnx.unsqueeze(
      b,
      `${path}/mask/Unsqueeze`,
      [enc.valid, b.int64Initializer(`${path}/mask_axis`, [1])],
      { name: valid, type: bool([batch, dimValue(1), srcTime]) },
      where,
    );
    const masked = b.fresh(`${path}/masked_scores`);
    onnx.where(
      b,
      `${path}/mask/Where`,
      [valid, scores, b.floatScalar(`${path}/lowest`, -3.4028234663852886e38)],
      { name: masked, type: seq(srcTime) },
      where,
    );
    scores = masked;
  }
  const weights = b.fresh(`${path}/weights`);
  onnx.softmax(b, `${path}/Softmax`, [scores], { name: weights, type: seq(srcTime) }, { axis: -1 }, where);
  const context = matmul('context', weights, memory, seq(dimValue(memoryDim)));
  const joined = b.fresh(`${path}/context_query`);
  onnx.concat(
    b,
    `${path}/Concat`,
    [context, queries],
    { name: joined, type: seq(dimValue(memoryDim + q)) },
    { axis: 2 },
    where,
  );
  let out = matmul('linear_out', joined, transposed('linear_out', q, memoryDim + q), seq(dimValue(q)));
  if (att.outBias) {
    const biased = b.fresh(`${path}/linear_out_biased`);
    onnx.add(
      b,
      `${path}/linear_out/Add`,
      [
        out,
        b.floatInitializer(
          attentionParameterName(att.label, 'linear_out.bias'),
          [q],
          ctx.weight(attentionParameterName(att.label, 'linear_out.bias')),
        ),
      ],
      { name: biased, type: seq(dimValue(q)) },
      where,
    );
    out = biased;
  }
  if (att.score === 'additive') return out;
  const activated = b.fresh(`${path}/attentional`);
  onnx.tanh(b, `${path}/Tanh`, [out], { name: activated, type: seq(dimValue(q)) }, where);
  out = activated;
  return out;
}
