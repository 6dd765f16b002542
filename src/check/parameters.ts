// The parameters each layer owns, named and shaped exactly as PyTorch's state_dict has them.

import type { IrParameter, Op } from '../ir/ir.js';

/** PyTorch's gate count per cell: LSTM i,f,g,o; GRU r,z,n; RNN one. */
export function gateCount(cell: 'rnn' | 'lstm' | 'gru'): number {
  return cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
}

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
        p('weight', [op.vocab, op.dim], op.paddingIdx === undefined ? { kind: 'normal', std: 1 } : { kind: 'normal', std: 1, zeroRow: op.paddingIdx }),
      ];
    case 'recurrent': {
      const gates = gateCount(op.cell) * op.hidden;
      const directions = op.bidirectional ? 2 : 1;
      const bound = { kind: 'uniform' as const, bound: 1 / Math.sqrt(op.hidden) };
      const result: IrParameter[] = [];
      for (let layer = 0; layer < op.layers; layer++) {
        const inputSize = layer === 0 ? op.inputSize : op.hidden * directions;
        for (let direction = 0; direction < directions; direction++) {
          const suffix = `_l${layer}${direction === 1 ? '_reverse' : ''}`;
          result.push(p(`weight_ih${suffix}`, [gates, inputSize], bound), p(`weight_hh${suffix}`, [gates, op.hidden], bound));
          if (op.bias) result.push(p(`bias_ih${suffix}`, [gates], bound), p(`bias_hh${suffix}`, [gates], bound));
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
    case 'dropout':
    case 'pool':
    case 'activation':
      return [];
  }
}
