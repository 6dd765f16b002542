// The decoder in the IR: one step's ops in the order they run (DecoderIR.step), the attention and bridge as ops,
// and the parameter list walked from them (docs/seq2seq.md).

import { describe, expect, it } from 'vitest';
import { checkSource } from '../src/index.js';
import type { DecoderIR } from '../src/ir/ir.js';

function decoderOf(lines: readonly string[], bridge = ''): DecoderIR {
  const source = [
    'model M {',
    '  input src: int64[batch, src_time]',
    '  input src_lengths: lengths(src)',
    '  encoder {',
    '    src -> src_embedding: Embedding(vocab=11, dim=3) -> encoder: BiLSTM(hidden=3, layers=2)',
    '  }',
    `  decoder(bos=1, eos=2, max_length=6${bridge}) {`,
    ...lines.map((l) => `    -> ${l}`),
    '  }',
    '}',
    '',
  ].join('\n');
  const { ir, diagnostics } = checkSource(source);
  expect(diagnostics).toEqual([]);
  return ir!.decoder!;
}

describe('DecoderIR.step', () => {
  it('lists a Luong step in order: embedding, recurrent, attention, head', () => {
    const d = decoderOf(
      [
        'emb: Embedding(vocab=9, dim=4)',
        'dec: LSTM(hidden=6, layers=2)',
        'att: Attention(score=general, input_feed=true)',
        'tanh',
        'generator: Linear(9)',
      ],
      ', bridge=linear',
    );
    expect(d.step.map((op) => `${op.kind}:${op.label}`)).toEqual([
      'embedding:emb',
      'recurrent:dec',
      'attention:att',
      'activation:tanh',
      'linear:generator',
    ]);
    // The named fields are the same objects as the list's.
    expect(d.step[0]).toBe(d.embedding);
    expect(d.step[1]).toBe(d.recurrent);
    expect(d.step[2]).toBe(d.attention);
    expect(d.step.slice(3)).toEqual(d.head);
    expect(d.attention).toMatchObject({ kind: 'attention', input: 'dec', placement: 'luong', inputFeed: true });
    // Embedding 4 + the fed attentional vector 6.
    expect(d.recurrent.inputSize).toBe(10);
  });

  it('puts a Bahdanau attention before the recurrent layer, whose input gains the context', () => {
    const d = decoderOf(
      [
        'emb: Embedding(vocab=9, dim=4)',
        'att: Attention(score=additive)',
        'dec: GRU(hidden=6)',
        'generator: Linear(9)',
      ],
      ', bridge=linear',
    );
    expect(d.step.map((op) => op.kind)).toEqual(['embedding', 'attention', 'recurrent', 'linear']);
    expect(d.attention).toMatchObject({ input: 'dec', placement: 'bahdanau', memoryDim: 6, queryDim: 6 });
    expect(d.recurrent.inputSize).toBe(4 + 6);
  });
});

describe('the bridge op', () => {
  it('makes h and c between two LSTMs, from every layer and direction of the encoder', () => {
    const d = decoderOf(
      ['emb: Embedding(vocab=9, dim=4)', 'dec: LSTM(hidden=5)', 'generator: Linear(9)'],
      ', bridge=linear',
    );
    expect(d.bridge).toBe(true);
    expect(d.initialState).toMatchObject({
      kind: 'bridge',
      label: 'bridge',
      input: 'encoder',
      states: ['h', 'c'],
      inFeatures: 2 * 2 * 3,
      layers: 1,
      hidden: 5,
    });
  });

  it('makes h only for a GRU decoder, and is absent without bridge=linear', () => {
    const gru = decoderOf(
      ['emb: Embedding(vocab=9, dim=4)', 'dec: GRU(hidden=5, layers=3)', 'generator: Linear(9)'],
      ', bridge=linear',
    );
    expect(gru.initialState?.states).toEqual(['h']);
    expect(gru.initialState?.layers).toBe(3);
    const direct = decoderOf([
      'emb: Embedding(vocab=9, dim=4)',
      'dec: LSTM(hidden=6, layers=2)',
      'generator: Linear(9)',
    ]);
    expect(direct.bridge).toBe(false);
    expect(direct.initialState).toBeUndefined();
  });
});

describe('decoder parameters', () => {
  it('follow the bridge, then the step op by op, with the names of docs/seq2seq.md', () => {
    const source = [
      'model M {',
      '  input src: int64[batch, src_time]',
      '  encoder {',
      '    src -> src_embedding: Embedding(vocab=11, dim=3) -> encoder: LSTM(hidden=3)',
      '  }',
      '  decoder(bos=1, eos=2, max_length=6, bridge=linear) {',
      '    -> emb: Embedding(vocab=9, dim=4)',
      '    -> dec: LSTM(hidden=5)',
      '    -> att: Attention(score=additive)',
      '    -> generator: Linear(9)',
      '  }',
      '}',
      '',
    ].join('\n');
    const { ir } = checkSource(source);
    const names = ir!.parameters.map((p) => p.name);
    expect(names.slice(names.indexOf('bridge.h.weight'))).toEqual([
      'bridge.h.weight',
      'bridge.h.bias',
      'bridge.c.weight',
      'bridge.c.bias',
      'emb.weight',
      'dec.weight_ih_l0',
      'dec.weight_hh_l0',
      'dec.bias_ih_l0',
      'dec.bias_hh_l0',
      'att.linear_context.weight',
      'att.linear_query.weight',
      'att.linear_query.bias',
      'att.v.weight',
      'att.linear_out.weight',
      'att.linear_out.bias',
      'generator.weight',
      'generator.bias',
    ]);
    expect(ir!.parameters.find((p) => p.name === 'bridge.c.weight')!.shape).toEqual([5, 3]);
  });
});
