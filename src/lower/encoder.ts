// A bundle's encoder: its graph (memory and the decoder's initial state), the bridge, the source mask, and the decoder's start in the other graphs.

import * as onnx from './ops.js';
import type { BridgeOp, RecurrentOp } from '../ir/ir.js';
import { bridgeParameterName } from '../ir/parameters.js';
import type { GraphProto, ValueInfoProto } from '../onnx/types.js';
import { dimValue, GraphBuilder } from './builder.js';
import { Lowering } from './lower.js';
import {
  type DecoderContext,
  type StepState,
  type EncoderValues,
  float,
  info,
  graphOf,
  axisSize,
  batchVector,
  zerosState,
} from './decoder.js';

/** `src`, `src_lengths` → `memory`, `h0`, `c0`. */
export function encoderGraph(ctx: DecoderContext): GraphProto {
  const b = new GraphBuilder(ctx.options.opset);
  for (const name of ['memory', 'h0', 'c0']) b.reserve(name);
  const { inputs, memory, h0, c0 } = lowerEncoder(ctx, b, 'memory');
  const outputs = [info('memory', float([ctx.sizes.batch, ctx.sizes.srcTime, dimValue(ctx.sizes.memoryDim)]))];
  onnx.identity(b, 'output/h0/Identity', [h0], { name: 'h0' });
  outputs.push(info('h0', ctx.stateType));
  if (c0 !== undefined) {
    onnx.identity(b, 'output/c0/Identity', [c0], { name: 'c0' });
    outputs.push(info('c0', ctx.stateType));
  }
  void memory;
  return graphOf(
    b,
    `${ctx.ir.name}_encoder`,
    inputs,
    outputs,
    "The encoder: memory and the decoder's initial state (docs/seq2seq.md).",
  );
}

/** Graph inputs and the decoder's initial state: from the encoder, or zeros for a language model. */
export function decoderStart(
  ctx: DecoderContext,
  b: GraphBuilder,
  batchSource?: string,
): { inputs: ValueInfoProto[]; state: StepState; enc: EncoderValues } {
  if (ctx.ir.encoder !== undefined) {
    const { inputs, memory, h0, c0, lengths } = lowerEncoder(ctx, b, b.fresh('encoder/memory'));
    const valid = lengths === undefined ? undefined : sourceMask(ctx, b, memory, lengths);
    const enc: EncoderValues = {
      memory,
      ...(lengths === undefined ? {} : { lengths }),
      ...(valid === undefined ? {} : { valid }),
    };
    let feed: string | undefined;
    if (ctx.decoder.attention?.inputFeed === true)
      feed = ctx.target.feedZeros(
        b,
        'decoder/feed0',
        h0,
        () => batchVector(ctx, b, enc),
        ctx.sizes.batch,
        ctx.sizes.hidden,
      );
    return {
      inputs,
      state: { h: h0, ...(c0 === undefined ? {} : { c: c0 }), ...(feed === undefined ? {} : { feed }) },
      enc,
    };
  }
  const batchScalar = axisSize(b, batchSource!, 0, 'decoder/batch');
  const h = zerosState(ctx, b, 'decoder/h0', batchScalar);
  const c = ctx.isLstm ? zerosState(ctx, b, 'decoder/c0', batchScalar) : undefined;
  return { inputs: [], state: { h, ...(c === undefined ? {} : { c }) }, enc: {} };
}

/** Lowers the encoder ops; returns the graph inputs, the memory (batch-major, masked) and the initial state. */
export function lowerEncoder(
  ctx: DecoderContext,
  b: GraphBuilder,
  memoryName: string,
): { inputs: ValueInfoProto[]; memory: string; h0: string; c0?: string; lengths?: string } {
  const encoderIr = ctx.ir.encoder!;
  const final = ctx.ir.ops.find((o): o is RecurrentOp => o.kind === 'recurrent' && o.label === encoderIr.finalState)!;
  const cells =
    ctx.isLstm && final.cell === 'lstm' && !ctx.decoder.cellFromHidden ? new Set([final.label]) : new Set<string>();
  const lowering = new Lowering(ctx.ir, ctx.weights, ctx.options, b, cells);
  const inputs = lowering.declareInputs();
  for (const op of ctx.ir.ops) lowering.op(op);
  lowering.output(memoryName, encoderIr.memory, encoderIr.memoryType, final.span);
  const directions = final.bidirectional ? 2 : 1;
  const h0 = initialState(ctx, b, 'h', lowering.finalStates.get(final.label)!, final, directions);
  let c0: string | undefined;
  if (ctx.isLstm) {
    c0 = ctx.decoder.cellFromHidden
      ? h0
      : final.cell === 'lstm'
        ? initialState(ctx, b, 'c', lowering.finalCells.get(final.label)!, final, directions)
        : ctx.target.zerosLike(b, h0, ctx.stateType, 'decoder/c0');
  }
  return {
    inputs,
    memory: memoryName,
    h0,
    ...(c0 === undefined ? {} : { c0 }),
    ...(encoderIr.memoryType.lengths === undefined ? {} : { lengths: encoderIr.memoryType.lengths }),
  };
}

/** Per-layer final states [1, B, H_enc] (directions in order) → [L, B, H]: concatenated, or through the bridge. */
export function initialState(
  ctx: DecoderContext,
  b: GraphBuilder,
  which: 'h' | 'c',
  states: readonly string[],
  final: RecurrentOp,
  directions: number,
): string {
  const { batch } = ctx.sizes;
  const joinedSize = final.hidden * directions;
  const perLayer: string[] = [];
  for (let layer = 0; layer < final.layers; layer++) {
    const parts = states.slice(layer * directions, (layer + 1) * directions);
    if (parts.length === 1) {
      perLayer.push(parts[0]!);
      continue;
    }
    const joined = b.fresh(`decoder/${which}0/l${layer}`);
    onnx.concat(
      b,
      `decoder/${which}0/l${layer}/Concat`,
      parts,
      { name: joined, type: float([dimValue(1), batch, dimValue(joinedSize)]) },
      { axis: 2 },
    );
    perLayer.push(joined);
  }
  const stacked = b.fresh(`decoder/${which}0/encoder_final`);
  onnx.concat(
    b,
    `decoder/${which}0/Concat`,
    perLayer,
    { name: stacked, type: float([dimValue(final.layers), batch, dimValue(joinedSize)]) },
    { axis: 0 },
  );
  const bridge = ctx.decoder.initialState;
  return bridge === undefined ? stacked : lowerBridge(ctx, b, bridge, which, stacked, final.layers);
}

/** The bridge for state `which`: tanh(W · [h_enc[0] ; … ; h_enc[L_enc−1]] + b) from [L_enc, B, in], reshaped to [L, B, H]. */
function lowerBridge(
  ctx: DecoderContext,
  b: GraphBuilder,
  op: BridgeOp,
  which: 'h' | 'c',
  stacked: string,
  encoderLayers: number,
): string {
  const { batch } = ctx.sizes;
  const { layers, hidden, inFeatures } = op;
  const path = `${op.label}/${which}`;
  const batchMajor = b.fresh(`${path}/batch_major`);
  onnx.transpose(
    b,
    `${path}/Transpose`,
    [stacked],
    { name: batchMajor, type: float([batch, dimValue(encoderLayers), dimValue(inFeatures / encoderLayers)]) },
    { perm: [1, 0, 2] },
  );
  const flat = b.fresh(`${path}/flat`);
  const flatShape = b.int64Initializer(`${path}/flat_shape`, [0, -1]);
  onnx.reshape(b, `${path}/Flatten`, [batchMajor, flatShape], {
    name: flat,
    type: float([batch, dimValue(inFeatures)]),
  });
  const projected = b.fresh(`${path}/projected`);
  const w = b.floatInitializer(
    bridgeParameterName(which, 'weight'),
    [layers * hidden, inFeatures],
    ctx.weight(bridgeParameterName(which, 'weight')),
  );
  const bias = b.floatInitializer(
    bridgeParameterName(which, 'bias'),
    [layers * hidden],
    ctx.weight(bridgeParameterName(which, 'bias')),
  );
  onnx.gemm(
    b,
    `${path}/Gemm`,
    [flat, w, bias],
    { name: projected, type: float([batch, dimValue(layers * hidden)]) },
    { transB: 1 },
  );
  const activated = b.fresh(`${path}/tanh`);
  onnx.tanh(b, `${path}/Tanh`, [projected], { name: activated, type: float([batch, dimValue(layers * hidden)]) });
  const shaped = b.fresh(`${path}/per_layer`);
  const layerShape = b.int64Initializer(`${path}/layer_shape`, [0, layers, hidden]);
  onnx.reshape(b, `${path}/Reshape`, [activated, layerShape], {
    name: shaped,
    type: float([batch, dimValue(layers), dimValue(hidden)]),
  });
  const out = b.fresh(`${path}/initial`);
  onnx.transpose(b, `${path}/ToLayers`, [shaped], { name: out, type: ctx.stateType }, { perm: [1, 0, 2] });
  return out;
}

/** valid [B, S]: true at source steps inside each row's length. */
export function sourceMask(ctx: DecoderContext, b: GraphBuilder, memory: string, lengths: string): string {
  const { batch, srcTime } = ctx.sizes;
  return ctx.target.lengths(b, () => [batch]).batchMajorMask(lengths, memory, 3, srcTime, batch, 'decoder/source_mask');
}
