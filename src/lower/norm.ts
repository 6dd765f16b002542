// Lowering of a LayerNorm layer: LayerNormalization from opset 17, written out with ReduceMean before it.

import type { LayerNormOp } from '../ir/ir.js';
import { DataType } from '../onnx/types.js';
import { dimValue, type GraphBuilder, type TensorType } from './builder.js';
import * as onnx from './ops.js';
import type { LayerContext, LayerOutput } from './layer.js';
import { internalType, recordedPlace } from './values.js';
import { layerParameterName } from '../ir/parameters.js';

/** Emits the layer norm `op`; returns its output tensor, in its input's layout. */
export function lowerLayerNorm(ctx: LayerContext, op: LayerNormOp): LayerOutput {
  const { b } = ctx;
  const x = ctx.timeMajor(op.input, op.span);
  const type = internalType(op.output.type, x.timeMajor);
  const scale = b.floatInitializer(
    layerParameterName(op.label, 'weight'),
    [op.features],
    ctx.weight(layerParameterName(op.label, 'weight')),
  );
  const bias = b.floatInitializer(
    layerParameterName(op.label, 'bias'),
    [op.features],
    ctx.weight(layerParameterName(op.label, 'bias')),
  );
  const out = b.fresh(`${op.label}/output`);
  const where = recordedPlace(op.span);
  if (b.opset >= 17) {
    onnx.layerNormalization(
      b,
      `${op.label}/LayerNormalization`,
      [x.name, scale, bias],
      { name: out, type },
      { axis: -1, epsilon: op.eps },
      where,
    );
  } else {
    // Before opset 17: (x - mean) / sqrt(var + eps) · weight + bias, over the last axis.
    const kept = { elemType: DataType.FLOAT, dims: [...type.dims.slice(0, -1), dimValue(1)] };
    const mean = reduceMeanLastAxis(b, `${op.label}/mean`, x.name, kept, where);
    const centered = b.fresh(`${op.label}/centered`);
    onnx.sub(b, `${op.label}/Sub`, [x.name, mean], { name: centered, type }, where);
    const squared = b.fresh(`${op.label}/squared`);
    onnx.mul(b, `${op.label}/Mul`, [centered, centered], { name: squared, type }, where);
    const variance = reduceMeanLastAxis(b, `${op.label}/variance`, squared, kept, where);
    const eps = b.floatScalar(`${op.label}/eps`, op.eps);
    const shifted = b.fresh(`${op.label}/variance_eps`);
    onnx.add(b, `${op.label}/AddEps`, [variance, eps], { name: shifted, type: kept }, where);
    const std = b.fresh(`${op.label}/std`);
    onnx.sqrt(b, `${op.label}/Sqrt`, [shifted], { name: std, type: kept }, where);
    const normalized = b.fresh(`${op.label}/normalized`);
    onnx.div(b, `${op.label}/Div`, [centered, std], { name: normalized, type }, where);
    const scaled = b.fresh(`${op.label}/scaled`);
    onnx.mul(b, `${op.label}/Scale`, [normalized, scale], { name: scaled, type }, where);
    onnx.add(b, `${op.label}/Shift`, [scaled, bias], { name: out, type }, where);
  }
  return { name: out, timeMajor: x.timeMajor };
}

/** ReduceMean over the last axis, keeping it; opset 18 moved `axes` from an attribute to an input. */
function reduceMeanLastAxis(b: GraphBuilder, name: string, input: string, type: TensorType, where: string): string {
  const out = b.fresh(name);
  onnx.reduceMean(
    b,
    `${name}/ReduceMean`,
    input,
    { values: [-1], initializer: `${name}_axes` },
    { name: out, type },
    { keepdims: 1 },
    where,
  );
  return out;
}
