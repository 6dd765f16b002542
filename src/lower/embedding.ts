// Lowering of an Embedding layer: a Gather from the weight table.

import type { EmbeddingOp } from '../ir/ir.js';
import * as onnx from './ops.js';
import type { LayerContext, LayerOutput } from './layer.js';
import { internalType, recordedPlace } from './values.js';
import { layerParameterName } from '../ir/parameters.js';

/** Emits the embedding `op`; returns its output tensor, time-major when the ids were. */
export function lowerEmbedding(ctx: LayerContext, op: EmbeddingOp): LayerOutput {
  const { b } = ctx;
  // The webgpu target gathers from the batch-major ids, since the WebGPU provider cannot transpose int64.
  const x = ctx.target.embeddingIds(
    () => ctx.value(op.input),
    () => ctx.timeMajor(op.input, op.span),
  );
  const table = b.floatInitializer(
    layerParameterName(op.label, 'weight'),
    [op.vocab, op.dim],
    ctx.weight(layerParameterName(op.label, 'weight')),
  );
  const out = b.fresh(`${op.label}/output`);
  onnx.gather(
    b,
    `${op.label}/Gather`,
    [table, x.name],
    { name: out, type: internalType(op.output.type, x.timeMajor) },
    { axis: 0 },
    recordedPlace(op.span),
  );
  return { name: out, timeMajor: x.timeMajor };
}
