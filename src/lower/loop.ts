// The ONNX Loop that runs the decoder step once per iteration, carrying the decoder state (the generic target's scoring and greedy graphs).

import * as onnx from './ops.js';
import type { GraphProto } from '../onnx/types.js';
import { dimValue, type GraphBuilder, type TensorType } from './builder.js';
import { type DecoderContext, type StepState, float, int64, bool, info } from './decoder.js';
import { loopCondition, loopOutput } from './loop-body.js';

/**
 * An ONNX Loop whose body runs `body` once per iteration, carrying the decoder state and `extra`
 * values; returns the final state and the scan outputs stacked over iterations.
 */
export function decoderLoop(
  ctx: DecoderContext,
  b: GraphBuilder,
  path: string,
  tripCount: string,
  state: StepState,
  extra: readonly { name: string; type: TensorType }[],
  body: (
    body: GraphBuilder,
    iteration: string,
    state: StepState,
    carried: readonly string[],
  ) => { state: StepState; carried: readonly string[]; scans: readonly { name: string; type: TensorType }[] },
): { state: StepState; scans: string[] } {
  const bb = b.subgraph();
  const iteration = bb.fresh(`${path}/iteration`);
  const condIn = bb.fresh(`${path}/cond_in`);
  const stateKeys = (['h', 'c', 'feed'] as const).filter((k) => state[k] !== undefined);
  const stateTypes: Record<'h' | 'c' | 'feed', TensorType> = {
    h: ctx.stateType,
    c: ctx.stateType,
    feed: float([ctx.sizes.batch, dimValue(ctx.sizes.hidden)]),
  };
  const stateIn = Object.fromEntries(stateKeys.map((k) => [k, bb.fresh(`${path}/${k}_in`)])) as unknown as StepState;
  const extraIn = extra.map((e) => bb.fresh(`${e.name}_in`));
  const result = body(bb, iteration, stateIn, extraIn);
  const condOut = loopCondition(bb, path, condIn);
  const passOut = (name: string, label: string, type: TensorType): string => loopOutput(bb, path, name, label, type);
  const bodyInputs = [
    info(iteration, int64([])),
    info(condIn, bool([])),
    ...stateKeys.map((k) => info(stateIn[k]!, stateTypes[k])),
    ...extra.map((e, i) => info(extraIn[i]!, e.type)),
  ];
  const bodyOutputs = [
    info(condOut, bool([])),
    ...stateKeys.map((k) => info(passOut(result.state[k]!, k, stateTypes[k]), stateTypes[k])),
    ...extra.map((e, i) => info(passOut(result.carried[i]!, `extra${i}`, e.type), e.type)),
    ...result.scans.map((s, i) => info(passOut(s.name, `scan${i}`, s.type), s.type)),
  ];
  const graph: GraphProto = {
    name: path.replace(/\//g, '_'),
    nodes: bb.nodes,
    initializers: [],
    inputs: bodyInputs,
    outputs: bodyOutputs,
    valueInfo: bb.valueInfo,
  };
  const cond = b.boolScalar(`${path}/cond`, true);
  const finalState = Object.fromEntries(
    stateKeys.map((k) => [k, b.fresh(`${path}/final_${k}`)]),
  ) as unknown as StepState;
  const finalExtra = extra.map((e) => b.fresh(`${e.name}_final`));
  const scans = result.scans.map((_, i) => b.fresh(`${path}/scan${i}`));
  const outputs = [
    ...stateKeys.map((k) => ({ name: finalState[k]! })),
    ...finalExtra.map((name) => ({ name })),
    ...scans.map((name) => ({ name })),
  ];
  const carried = [...stateKeys.map((k) => state[k]!), ...extra.map((e) => e.name)];
  onnx.loop(
    b,
    `${path}/Loop`,
    { tripCount, condition: cond, carried },
    outputs,
    { body: graph },
    ctx.where(ctx.decoder.span),
  );
  return { state: finalState, scans };
}
