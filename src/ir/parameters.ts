// The parameters each IR op owns, named and shaped exactly as PyTorch's state_dict has them: the one owner of parameter names and gate layouts, read by the checker, the weights and the lowering.

import type { DecoderIR, EncoderIR, IrParameter, Op, RecurrentCell, RecurrentOp } from './ir.js';

/** The four tensors of one recurrent layer and direction, as PyTorch names them before `_l{layer}`. */
export type RecurrentWeight = 'weight_ih' | 'weight_hh' | 'bias_ih' | 'bias_hh';

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

/** The parameters one op owns, in PyTorch's state_dict order. */
export function parametersOf(op: Op): IrParameter[] {
  const owner = op.label;
  const p = (suffix: string, shape: number[], init: IrParameter['init']): IrParameter => ({
    name: `${op.label}.${suffix}`,
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
        const inputSize = layer === 0 ? op.inputSize : op.hidden * directions;
        for (let direction = 0; direction < directions; direction++) {
          const named = (weight: RecurrentWeight, shape: number[]): IrParameter => ({
            name: recurrentParameterName(op.label, weight, layer, direction),
            shape,
            init: bound,
            owner,
          });
          result.push(named('weight_ih', [gates, inputSize]), named('weight_hh', [gates, op.hidden]));
          if (op.bias) result.push(named('bias_ih', [gates]), named('bias_hh', [gates]));
        }
      }
      return result;
    }
    case 'linear': {
      const bound = { kind: 'uniform' as const, bound: 1 / Math.sqrt(op.inFeatures) };
      const weight = p('weight', [op.outFeatures, op.inFeatures], bound);
      return op.bias ? [weight, p('bias', [op.outFeatures], bound)] : [weight];
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
      return [];
  }
}

/** Attention and bridge parameters, named as docs/seq2seq.md gives them (OpenNMT-py's GlobalAttention names). */
export function decoderParameters(
  decoder: DecoderIR,
  encoder: EncoderIR | undefined,
  encoderOps: readonly Op[],
): IrParameter[] {
  const result: IrParameter[] = [];
  const att = decoder.attention;
  const { hidden, layers, cell } = decoder.recurrent;
  if (encoder !== undefined && decoder.bridge) {
    const final = encoderOps.find((o): o is RecurrentOp => o.kind === 'recurrent' && o.label === encoder.finalState)!;
    const inFeatures = final.layers * (final.bidirectional ? 2 : 1) * final.hidden;
    const bound = { kind: 'uniform' as const, bound: 1 / Math.sqrt(inFeatures) };
    const states = cell === 'lstm' && final.cell === 'lstm' ? ['h', 'c'] : ['h'];
    for (const s of states) {
      result.push(
        { name: `bridge.${s}.weight`, shape: [layers * hidden, inFeatures], init: bound, owner: 'bridge' },
        { name: `bridge.${s}.bias`, shape: [layers * hidden], init: bound, owner: 'bridge' },
      );
    }
  }
  const ordered: IrParameter[][] = [parametersOf(decoder.embedding)];
  const attention: IrParameter[] = [];
  if (att !== undefined) {
    const { memoryDim: d, queryDim: q, label } = att;
    const p = (suffix: string, shape: number[], fanIn: number): IrParameter => ({
      name: `${label}.${suffix}`,
      shape,
      init: { kind: 'uniform', bound: 1 / Math.sqrt(fanIn) },
      owner: label,
    });
    if (att.score === 'general') attention.push(p('linear_in.weight', [d, q], q));
    if (att.score === 'additive') {
      attention.push(
        p('linear_context.weight', [d, d], d),
        p('linear_query.weight', [d, q], q),
        p('linear_query.bias', [d], q),
        p('v.weight', [1, d], d),
      );
    }
    if (att.placement === 'luong') {
      attention.push(p('linear_out.weight', [q, d + q], d + q));
      if (att.score === 'additive') attention.push(p('linear_out.bias', [q], d + q));
    }
  }
  if (att?.placement === 'bahdanau') ordered.push(attention);
  ordered.push(parametersOf(decoder.recurrent));
  if (att?.placement === 'luong') ordered.push(attention);
  for (const op of decoder.head) ordered.push(parametersOf(op));
  return [...result, ...ordered.flat()];
}
