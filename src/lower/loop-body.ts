// The two pieces every ONNX Loop body ends with: the condition passed on, and outputs made distinct inside the body.

import { bool, type GraphBuilder, type TensorType } from './builder.js';
import * as onnx from './ops.js';

/** A Loop body's condition output: its condition input passed on, so the loop runs its trip count. */
export function loopCondition(bb: GraphBuilder, path: string, condIn: string): string {
  const condOut = bb.fresh(`${path}/cond_out`);
  onnx.identity(bb, `${path}/cond/Identity`, [condIn], { name: condOut, type: bool([]) });
  return condOut;
}

/** A Loop body output of `value`: Loop outputs must be distinct tensors made inside the body. */
export function loopOutput(bb: GraphBuilder, path: string, value: string, label: string, type: TensorType): string {
  const out = bb.fresh(`${path}/${label}_out`);
  onnx.identity(bb, `${path}/${label}_out/Identity`, [value], { name: out, type });
  return out;
}
