// Lowering of a Linear layer: a Gemm on [batch, features], a MatMul (and an Add for the bias) on sequences.

import type { LinearOp } from '../ir/ir.js';
import * as onnx from './ops.js';
import type { LayerContext, LayerOutput } from './layer.js';
import { internalType, recordedPlace } from './values.js';
import { layerParameterName } from '../ir/parameters.js';

/** Emits the linear `op`; returns its output tensor, in its input's layout. */
export function lowerLinear(ctx: LayerContext, op: LinearOp): LayerOutput {
  const { b } = ctx;
  const x = ctx.timeMajor(op.input, op.span);
  const weight = ctx.weight(layerParameterName(op.label, 'weight'));
  const type = internalType(op.output.type, x.timeMajor);
  const out = b.fresh(`${op.label}/output`);
  const where = recordedPlace(op.span);
  if (op.output.type.dims.length === 2) {
    const w = b.floatInitializer(layerParameterName(op.label, 'weight'), [op.outFeatures, op.inFeatures], weight);
    const bias = op.bias
      ? b.floatInitializer(
          layerParameterName(op.label, 'bias'),
          [op.outFeatures],
          ctx.weight(layerParameterName(op.label, 'bias')),
        )
      : undefined;
    onnx.gemm(b, `${op.label}/Gemm`, [x.name, w, bias], { name: out, type }, { transB: 1 }, where);
  } else {
    const wt = ctx.target.matMulWeight(
      b,
      layerParameterName(op.label, 'weight'),
      `${op.label}/weight_T`,
      op.outFeatures,
      op.inFeatures,
      weight,
      where,
    );
    const product = op.bias ? b.fresh(`${op.label}/MatMul_output`) : out;
    onnx.matMul(b, `${op.label}/MatMul`, [x.name, wt], { name: product, type }, where);
    if (op.bias) {
      const bias = b.floatInitializer(
        layerParameterName(op.label, 'bias'),
        [op.outFeatures],
        ctx.weight(layerParameterName(op.label, 'bias')),
      );
      onnx.add(b, `${op.label}/Add`, [product, bias], { name: out, type }, where);
    }
  }
  return { name: out, timeMajor: x.timeMajor };
}
