// The parameter a layer kind names first, for messages that point the user at a weight; the IR (src/ir/parameters.ts) owns the names themselves.

import type { LayerKind } from './signatures.js';

/** The name, after `LABEL.`, of the first parameter a layer of this kind owns, for messages: `weight_ih_l0` for an LSTM. */
export function firstParameterName(kind: LayerKind): string {
  switch (kind) {
    case 'RNN':
    case 'LSTM':
    case 'GRU':
    case 'BiRNN':
    case 'BiLSTM':
    case 'BiGRU':
      return 'weight_ih_l0';
    case 'Attention':
      return 'linear_in.weight';
    case 'CRF':
      return 'start_transitions';
    case 'Embedding':
    case 'Linear':
    case 'Conv1d':
    case 'LayerNorm':
    case 'Dropout':
      return 'weight';
  }
}
