// Bound layer arguments are typed records read off the signatures table: their values at run time, and their types at compile time.

import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Diagnostic } from '../src/diagnostics/diagnostic.js';
import { bindArguments } from '../src/check/arguments.js';
import {
  decoderSignature,
  layerSignatures,
  type DecoderArguments,
  type LayerArguments,
} from '../src/check/signatures.js';
import type { CallStep } from '../src/syntax/ast.js';
import { parse } from '../src/syntax/parse.js';

/** The first call step of a one-chain spec, as the parser reads it. */
function stepOf(call: string): CallStep {
  const { ast } = parse(`model m {\n  input x: int64[batch, time]\n  x -> ${call} -> output y\n}\n`, '<input>');
  const chain = ast!.members.find((m) => m.kind === 'chain');
  if (chain?.kind !== 'chain') throw new Error('no chain');
  const step = chain.steps[0];
  if (step?.kind !== 'callStep') throw new Error('no call step');
  return step;
}

describe('bindArguments', () => {
  it('binds an Embedding to { kind, vocab, dim } and leaves the optional padding_idx out', () => {
    const diagnostics: Diagnostic[] = [];
    const bound = bindArguments(layerSignatures.Embedding, stepOf('Embedding(10, 4)'), diagnostics);
    expect(diagnostics).toEqual([]);
    expect(bound).toEqual({ kind: 'Embedding', vocab: 10, dim: 4, mask_zero: false });
    expect(bound !== undefined && 'padding_idx' in bound).toBe(false);
  });

  it('fills in defaults by name, as the table spells them', () => {
    const bound = bindArguments(layerSignatures.GRU, stepOf('GRU(8, layers=2, reset_after=false)'), []);
    expect(bound).toEqual({
      kind: 'GRU',
      hidden: 8,
      layers: 2,
      dropout: 0,
      bias: true,
      bidirectional: false,
      reset_after: false,
      recurrent_activation: 'sigmoid',
      stateful: false,
      go_backwards: false,
      masked_output: 'previous',
      merge: 'concat',
      activation: 'tanh',
    });
  });

  it('gives a union of kinds a record that a switch on kind narrows', () => {
    const kind = 'Linear' as 'Linear' | 'Dropout';
    const bound = bindArguments(layerSignatures[kind], stepOf('Linear(3)'), []);
    expect(bound?.kind).toBe('Linear');
    if (bound?.kind === 'Linear') expect(bound.out + Number(bound.bias)).toBe(4);
  });

  it('returns undefined, with a diagnostic, when an argument is wrong', () => {
    const diagnostics: Diagnostic[] = [];
    expect(bindArguments(layerSignatures.Linear, stepOf('Linear(out=0)'), diagnostics)).toBeUndefined();
    expect(diagnostics.map((d) => d.code)).toEqual(['SEQ023']);
  });

  it('types each kind from the table, so the records cannot drift from it', () => {
    expectTypeOf<LayerArguments<'Embedding'>>().toEqualTypeOf<
      { readonly kind: 'Embedding' } & { readonly vocab: number; readonly dim: number; readonly mask_zero: boolean } & {
        readonly padding_idx?: number;
      }
    >();
    expectTypeOf<LayerArguments<'LSTM'>['recurrent_activation']>().toEqualTypeOf<
      'tanh' | 'relu' | 'sigmoid' | 'hard_sigmoid' | 'hardsigmoid' | 'linear'
    >();
    expectTypeOf<LayerArguments<'Attention'>['score']>().toEqualTypeOf<'dot' | 'general' | 'additive'>();
    expectTypeOf<DecoderArguments['bridge']>().toEqualTypeOf<'none' | 'linear'>();
    expectTypeOf<LayerArguments<'LSTM'>>().not.toHaveProperty('nonlinearity');
    expectTypeOf(bindArguments(decoderSignature, stepOf('Linear(3)'), [])).toEqualTypeOf<
      DecoderArguments | undefined
    >();
  });
});
