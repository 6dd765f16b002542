// The decoder over a whole target sequence at once (the webgpu target's scoring graph): embedding, recurrent layer and head on [time] tensors.

import * as onnx from './ops.js';
import type { Dim } from '../ir/ir.js';
import type { OnnxDim } from '../onnx/types.js';
import { dimValue, type GraphBuilder } from './builder.js';
import { emitRecurrentNode, Lowering } from './lower.js';
import { type DecoderContext, type StepState, float } from './decoder.js';
import { layerParameterName } from '../ir/parameters.js';

/** Token ids [batch, time] (int64, or int32 from a float) → the decoder's embedding, time-major [time, batch, E]. */
export function embedSequence(ctx: DecoderContext, b: GraphBuilder, ids: string, time: OnnxDim): string {
  const { batch } = ctx.sizes;
  const emb = ctx.decoder.embedding;
  const table = b.floatInitializer(
    layerParameterName(emb.label, 'weight'),
    [emb.vocab, emb.dim],
    ctx.weight(layerParameterName(emb.label, 'weight')),
  );
  const gathered = b.fresh(`${emb.label}/output`);
  onnx.gather(
    b,
    `${emb.label}/Gather`,
    [table, ids],
    { name: gathered, type: float([batch, time, dimValue(emb.dim)]) },
    { axis: 0 },
    ctx.where(emb.span),
  );
  const out = b.fresh(`${emb.label}/time_major`);
  onnx.transpose(
    b,
    `${emb.label}/to_time_major/Transpose`,
    [gathered],
    { name: out, type: float([time, batch, dimValue(emb.dim)]) },
    { perm: [1, 0, 2] },
  );
  return out;
}

/**
 * The stacked recurrent layer over a time-major sequence [time, batch, input], from `state` or from
 * zeros: the same nodes and weights as the step's, with a longer input. Returns the top layer's outputs
 * [time, batch, H] and the final state [L, batch, H].
 */
export function recurrentOverSequence(
  ctx: DecoderContext,
  b: GraphBuilder,
  x: string,
  time: OnnxDim,
  state: StepState | undefined,
): { top: string; h: string; c?: string } {
  const op = ctx.decoder.recurrent;
  const { batch, hidden } = ctx.sizes;
  const hs: string[] = [];
  const cs: string[] = [];
  let input = x;
  let inputSize = op.inputSize;
  const stateType = float([dimValue(1), batch, dimValue(hidden)]);
  for (let layer = 0; layer < op.layers; layer++) {
    const path = `${op.label}/l${layer}`;
    const initial = (which: 'h' | 'c', from: string | undefined): string | undefined => {
      if (from === undefined) return undefined;
      const out = b.fresh(`${path}/${which}`);
      onnx.gather(
        b,
        `${path}/${which}/Gather`,
        [from, b.int64Initializer(`${path}/state_index`, [layer])],
        { name: out, type: stateType },
        { axis: 0 },
      );
      return out;
    };
    const initialH = initial('h', state?.h);
    const y = b.fresh(`${path}/Y`);
    const yh = b.fresh(`${path}/Y_h`);
    let initialC: string | undefined;
    let yc: string | undefined;
    if (op.cell === 'lstm') {
      initialC = initial('c', state?.c);
      yc = b.fresh(`${path}/Y_c`);
      cs.push(yc);
    }
    const outputs = {
      y: { name: y, type: float([time, dimValue(1), batch, dimValue(hidden)]) },
      yH: { name: yh, type: stateType },
      yC: yc === undefined ? undefined : { name: yc, type: stateType },
    };
    const place = {
      layer,
      direction: 0 as const,
      inputSize,
      initializerPath: `${path}/forward`,
      nodePath: path,
      target: ctx.target,
      docString: ctx.where(),
    };
    emitRecurrentNode(b, (n) => ctx.weight(n), op, place, { x: input, initialH, initialC }, outputs);
    hs.push(yh);
    const next = b.fresh(`${path}/output`);
    onnx.squeeze(b, `${path}/Squeeze`, [y, b.int64Initializer(`${path}/direction_axis`, [1])], {
      name: next,
      type: float([time, batch, dimValue(hidden)]),
    });
    input = next;
    inputSize = hidden;
  }
  const h = b.fresh(`${op.label}/h_out`);
  onnx.concat(b, `${op.label}/h_out/Concat`, hs, { name: h, type: ctx.stateType }, { axis: 0 });
  let c: string | undefined;
  if (cs.length > 0) {
    c = b.fresh(`${op.label}/c_out`);
    onnx.concat(b, `${op.label}/c_out/Concat`, cs, { name: c, type: ctx.stateType }, { axis: 0 });
  }
  return { top: input, h, ...(c === undefined ? {} : { c }) };
}

/** The head on a batch-major sequence [batch, T, F]: each step's type gains the T axis, as plain batched values. */
export function headOverSequence(ctx: DecoderContext, b: GraphBuilder, output: string, time: OnnxDim): string {
  const d = ctx.decoder;
  const timeDim: Dim =
    time.kind === 'param' ? { kind: 'symbol', name: time.name } : { kind: 'fixed', size: time.value };
  const lowering = new Lowering(ctx.ir, ctx.weights, ctx.options, b);
  lowering.bind(d.recurrent.label, output, { dtype: 'float32', dims: [], hasTime: false }, false);
  for (const op of d.head) {
    const type = op.output.type;
    lowering.op({
      ...op,
      output: { ...op.output, type: { ...type, dims: [type.dims[0]!, timeDim, ...type.dims.slice(1)] } },
    });
  }
  return lowering.lookup(d.head.length === 0 ? d.recurrent.label : d.head[d.head.length - 1]!.output.id).name;
}
