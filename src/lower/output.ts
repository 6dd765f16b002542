// Lowering of a graph output: batch-major again, with steps past a row's length set to zero.

import type { Span } from '../diagnostics/diagnostic.js';
import type { ValueType } from '../ir/ir.js';
import { DataType, type ValueInfoProto } from '../onnx/types.js';
import type { GraphBuilder, TensorType } from './builder.js';
import type { Lengths } from './lengths.js';
import * as onnx from './ops.js';
import { batchMajorPerm, elemType, internalType, onnxDim, recordedPlace, type Lowered } from './values.js';

/** What an output reads from the graph around it. */
export interface OutputContext {
  readonly b: GraphBuilder;
  /** Sequence lengths and masks, in the target's form (./lengths.ts). */
  readonly lengths: Lengths;
  /** A value as it is in the graph now. */
  value(id: string): Lowered;
  /** A value as a time-major tensor, transposed on first use. */
  timeMajor(id: string, span: Span): Lowered;
  /** Whether `name` is a stateful layer's final state, which its Concat already wrote under that name. */
  isStateOutput(name: string): boolean;
}

/** Emits `name` as the batch-major, length-masked form of the value `valueId`; returns its value info. */
export function lowerOutput(
  ctx: OutputContext,
  name: string,
  valueId: string,
  type: ValueType,
  span: Span,
): ValueInfoProto {
  const b = ctx.b;
  const info: ValueInfoProto = { name, type: { elemType: elemType(type), shape: type.dims.map(onnxDim) } };
  if (ctx.isStateOutput(name)) return info;
  // A masked sequence that no layer made time-major yet goes through the same masking path.
  const v = type.lengths !== undefined && type.hasTime ? ctx.timeMajor(valueId, span) : ctx.value(valueId);
  const where = recordedPlace(span);
  let source = v.name;
  if (v.timeMajor) {
    if (type.lengths !== undefined) {
      const t = internalType(type, true);
      const valid = ctx.lengths.outputMask(type.lengths, v.name, type.dims.length, t.dims[0]!, t.dims[1]!);
      const zero =
        type.dtype === 'int64'
          ? b.int64Initializer(`output/${name}/zero`, [0], [])
          : b.floatScalar(`output/${name}/zero`, 0);
      const validForRank = valid.rank === type.dims.length ? valid.mask : squeezeMask(b, valid.mask, name, t);
      const masked = b.fresh(`output/${name}/masked`);
      onnx.where(b, `output/${name}/Where`, [validForRank, v.name, zero], { name: masked, type: t }, where);
      source = masked;
    }
    onnx.transpose(
      b,
      `output/${name}/Transpose`,
      [source],
      { name },
      { perm: batchMajorPerm(type.dims.length) },
      where,
    );
  } else {
    onnx.identity(b, `output/${name}/Identity`, [source], { name }, where);
  }
  return info;
}

/** A [time, batch, 1] mask as [time, batch], for an output of rank 2. */
function squeezeMask(b: GraphBuilder, valid: string, name: string, t: TensorType): string {
  const axes = b.int64Initializer(`output/${name}/mask_axis`, [2]);
  const out = b.fresh(`output/${name}/valid`);
  onnx.squeeze(b, `output/${name}/SqueezeMask`, [valid, axes], {
    name: out,
    type: { elemType: DataType.BOOL, dims: t.dims.slice(0, 2) },
  });
  return out;
}
