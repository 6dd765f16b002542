// The parameters each IR op owns, named and shaped exactly as PyTorch's state_dict has them: the one owner of parameter names and gate layouts, read by the checker, the weights and the lowering.

import type { AttentionIR, BridgeOp, DecoderIR, IrParameter, Op, RecurrentCell, RecurrentOp } from './ir.js';

/** The four tensors of one recurrent layer and direction, as PyTorch names them before `_l{layer}`. */
export type RecurrentWeight = 'weight_ih' | 'weight_hh' | 'bias_ih' | 'bias_hh' | 'weight_hr';

/**
 * PyTorch's gate count per cell, the row blocks of its recurrent weights in this order: LSTM i,f,g,o;
 * GRU r,z,n; RNN one. (The lowering reorders them into ONNX's order, src/lower/pack.ts.)
 */
export function gateCount(cell: RecurrentCell): number {
  return cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
}

/**
 * PyTorch's name for one recurrent tensor: `lstm.weight_ih_l0`, `lstm.bias_hh_l1_reverse`. `direction`
 * is PyTorch's direction index: 0 forward, 1 reverse.
 */
export function recurrentParameterName(
  label: string,
  weight: RecurrentWeight,
  layer: number,
  direction: number,
): string {
  return `${label}.${weight}_l${layer}${direction === 1 ? '_reverse' : ''}`;
}

/** The tensors of an Embedding, Linear or LayerNorm layer, as PyTorch names them after the label. */
export type LayerWeight = 'weight' | 'bias' | 'start_transitions' | 'end_transitions' | 'transitions';

/** PyTorch's name for a layer's weight or bias: `fc.weight`. */
export function layerParameterName(label: string, weight: LayerWeight): string {
  return `${label}.${weight}`;
}

/** The tensors of an attention layer (OpenNMT-py's GlobalAttention names, docs/seq2seq.md). */
export type AttentionWeight =
  | 'linear_in.weight'
  | 'linear_context.weight'
  | 'linear_query.weight'
  | 'linear_query.bias'
  | 'v.weight'
  | 'linear_out.weight'
  | 'linear_out.bias';

/** The name of an attention tensor: `attention.linear_in.weight`. */
export function attentionParameterName(label: string, weight: AttentionWeight): string {
  return `${label}.${weight}`;
}

/** The name of a bridge tensor, for the decoder's initial `h` or `c`: `bridge.h.weight`. */
export function bridgeParameterName(state: 'h' | 'c', weight: LayerWeight): string {
  return `bridge.${state}.${weight}`;
}

/** The parameters one op owns, in PyTorch's state_dict order. */
export function parametersOf(op: Op): IrParameter[] {
  const owner = op.label;
  const p = (suffix: LayerWeight, shape: number[], init: IrParameter['init']): IrParameter => ({
    name: layerParameterName(op.label, suffix),
    shape,
    init,
    owner,
  });
  switch (op.kind) {
    case 'embedding':
      return [
        p(
          'weight',
          [op.vocab, op.dim],
          op.paddingIdx === undefined ? { kind: 'normal', std: 1 } : { kind: 'normal', std: 1, zeroRow: op.paddingIdx },
        ),
      ];
    case 'recurrent': {
      const gates = gateCount(op.cell) * op.hidden;
      const directions = op.bidirectional ? 2 : 1;
      const bound = { kind: 'uniform' as const, bound: 1 / Math.sqrt(op.hidden) };
      const result: IrParameter[] = [];
      for (let layer = 0; layer < op.layers; layer++) {
        const width = op.proj ?? op.hidden;
        const inputSize = layer === 0 ? op.inputSize : width * directions;
        for (let direction = 0; direction < directions; direction++) {
          const named = (weight: RecurrentWeight, shape: number[]): IrParameter => ({
            name: recurrentParameterName(op.label, weight, layer, direction),
            shape,
            init: bound,
            owner,
          });
          result.push(named('weight_ih', [gates, inputSize]), named('weight_hh', [gates, width]));
          if (op.bias) result.push(named('bias_ih', [gates]), named('bias_hh', [gates]));
          if (op.proj !== undefined) result.push(named('weight_hr', [op.proj, op.hidden]));
        }
      }
      return result;
    }
    case 'linear': {
      const bound = { kind: 'uniform' as const, bound: 1 / Math.sqrt(op.inFeatures) };
      const weight = p('weight', [op.outFeatures, op.inFeatures], bound);
      return op.bias ? [weight, p('bias', [op.outFeatures], bound)] : [weight];
    }
    case 'conv1d': {
      // nn.Conv1d's default init bounds both tensors by 1/sqrt(in_channels · kernel).
      const bound = { kind: 'uniform' as const, bound: 1 / Math.sqrt(op.inChannels * op.kernel) };
      const weight = p('weight', [op.outChannels, op.inChannels, op.kernel], bound);
      return op.bias ? [weight, p('bias', [op.outChannels], bound)] : [weight];
    }
    case 'layerNorm':
      return [p('weight', [op.features], { kind: 'ones' }), p('bias', [op.features], { kind: 'zeros' })];
    case 'crf': {
      // pytorch-crf's CRF: transitions[i, j] scores tag i followed by tag j; all three start U(±0.1).
      const init = { kind: 'uniform' as const, bound: 0.1 };
      return [
        p('start_transitions', [op.tags], init),
        p('end_transitions', [op.tags], init),
        p('transitions', [op.tags, op.tags], init),
      ];
    }
    case 'dropout':
    case 'pool':
    case 'activation':
    case 'merge':
    case 'masking':
    case 'repeat':
      return [];
  }
}

/** The bridge's, then the decoder step's parameters, op by op in the step's order (docs/seq2seq.md). */
export function decoderParameters(decoder: DecoderIR): IrParameter[] {
  const result = decoder.initialState === undefined ? [] : bridgeParameters(decoder.initialState);
  for (const op of decoder.step) result.push(...(op.kind === 'attention' ? attentionParameters(op) : parametersOf(op)));
  return result;
}

/** A bridge's projection per state it makes: `bridge.h.weight` [L·H, in] and `bridge.h.bias` [L·H]. */
export function bridgeParameters(op: BridgeOp): IrParameter[] {
  const bound = { kind: 'uniform' as const, bound: 1 / Math.sqrt(op.inFeatures) };
  const out = op.layers * op.hidden;
  return op.states.flatMap((s): IrParameter[] => [
    { name: bridgeParameterName(s, 'weight'), shape: [out, op.inFeatures], init: bound, owner: op.label },
    { name: bridgeParameterName(s, 'bias'), shape: [out], init: bound, owner: op.label },
  ]);
}

/** An attention op's parameters: its score's, then (Luong) `linear_out`'s. */
export function attentionParameters(att: AttentionIR): IrParameter[] {
  const { memoryDim: d, queryDim: q, label } = att;
  const p = (weight: AttentionWeight, shape: number[], fanIn: number): IrParameter => ({
    name: attentionParameterName(label, weight),
    shape,
    init: { kind: 'uniform', bound: 1 / Math.sqrt(fanIn) },
    owner: label,
  });
  const result: IrParameter[] = [];
  if (att.score === 'general') result.push(p('linear_in.weight', [d, q], q));
  if (att.score === 'additive') {
    result.push(
      p('linear_context.weight', [d, d], d),
      p('linear_query.weight', [d, q], q),
      p('linear_query.bias', [d], q),
      p('v.weight', [1, d], d),
    );
  }
  if (att.placement === 'luong') {
    result.push(p('linear_out.weight', [q, d + q], d + q));
    if (att.outBias) result.push(p('linear_out.bias', [q], d + q));
  }
  return result;
}
