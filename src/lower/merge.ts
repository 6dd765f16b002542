// Lowering of a merge at the head of a chain: `concat(a, b, …)` as one Concat on the last axis, `add(a, b, …)` as Adds.

import { assertNever } from '../contracts/assert.js';
import type { MergeOp } from '../ir/ir.js';
import * as onnx from './ops.js';
import type { LayerContext, LayerOutput } from './layer.js';
import { internalType, recordedPlace, type Lowered } from './values.js';

/**
 * Emits the merge `op`. Sequences may sit in the graph time-major or batch-major, so every operand of
 * a sequence merge is brought to time-major first (the layout recurrent layers read); vectors
 * [batch, F] have one layout. The result keeps that layout, and the operands' lengths travel with it.
 */
export function lowerMerge(ctx: LayerContext, op: MergeOp): LayerOutput {
  const { b } = ctx;
  const timeMajor = op.output.type.hasTime;
  const operands: Lowered[] = op.operands.map((id) => (timeMajor ? ctx.timeMajor(id, op.span) : ctx.value(id)));
  const where = recordedPlace(op.span);
  const type = internalType(op.output.type, timeMajor);
  const out = b.fresh(`${op.label}/output`);
  switch (op.mode) {
    case 'concat':
      onnx.concat(
        b,
        `${op.label}/Concat`,
        operands.map((o) => o.name),
        { name: out, type },
        { axis: -1 },
        where,
      );
      break;
    case 'add': {
      // One Add per further operand: Add runs on every provider seqc targets, where Sum may not.
      let sum = operands[0]!.name;
      for (let i = 1; i < operands.length; i++) {
        const next = i === operands.length - 1 ? out : b.fresh(`${op.label}/sum_${i}`);
        const name = operands.length === 2 ? `${op.label}/Add` : `${op.label}/Add_${i}`;
        onnx.add(b, name, [sum, operands[i]!.name], { name: next, type }, where);
        sum = next;
      }
      break;
    }
    default:
      assertNever(op.mode);
  }
  return { name: out, timeMajor };
}
