// Keras masks in the checker: which steps carry, drop and refuse a mask, what the IR records, and the targets that refuse it.

import { describe, expect, it } from 'vitest';
import { checkSource, compile, formatIr } from '../src/index.js';

const spec = (...members: string[]): string => ['model M {', ...members.map((m) => `  ${m}`), '}', ''].join('\n');
const tokens = 'input tokens: int64[batch, time]';
const masked = 'tokens -> emb: Embedding(vocab=10, dim=4, mask_zero=true)';

function codes(source: string): string[] {
  return checkSource(source).diagnostics.map((d) => `${d.severity}[${d.code}]`);
}

describe('Keras masks in the checker', () => {
  it('carries the mask through per-step layers and a recurrent sequence, and records it on the recurrent ops', () => {
    const { ir, diagnostics } = checkSource(
      spec(
        tokens,
        `${masked} -> Linear(4) -> relu -> LayerNorm -> Dropout(0.1) -> a: LSTM(hidden=3) -> b: GRU(hidden=3, masked_output=zero) -> output y`,
      ),
    );
    expect(diagnostics).toEqual([]);
    const text = formatIr(ir!);
    expect(text).toContain('embedding(tokens) vocab=10 dim=4 mask_zero');
    expect(text).toMatch(/a = recurrent\(.*\) lstm .* mask=emb: /);
    expect(text).toMatch(/b = recurrent\(a\) gru .* mask=emb masked_output=zero: /);
    expect(ir!.outputs[0]!.type.mask).toBe('emb');
  });

  it('pooling drops the mask; mean records it, last after a recurrent layer reads final states', () => {
    const { ir } = checkSource(
      spec(tokens, `${masked} -> rnn: LSTM(hidden=3)`, 'rnn -> avg: mean -> output a', 'rnn -> fin: last -> output h'),
    );
    const pools = ir!.ops.filter((o) => o.kind === 'pool');
    expect(pools.map((p) => [p.label, p.kind === 'pool' ? p.mask : undefined, p.output.type.mask])).toEqual([
      ['avg', 'emb', undefined],
      ['fin', undefined, undefined],
    ]);
  });

  it('a merge needs one mask for all its operands', () => {
    const source = spec(
      tokens,
      `${masked} -> a: LSTM(hidden=3)`,
      'tokens -> e2: Embedding(vocab=10, dim=4) -> b: LSTM(hidden=3)',
      'concat(a, b) -> output y',
    );
    expect(codes(source)).toEqual(['error[SEQ088]']);
    const same = spec(tokens, `${masked} -> a: LSTM(hidden=3)`, 'a -> b: GRU(hidden=3)', 'add(a, b) -> output y');
    expect(codes(same)).toEqual([]);
  });

  it('refuses what Keras cannot mean, each with its code', () => {
    expect(codes(spec(tokens, `${masked} -> BiLSTM(hidden=3, layers=2, merge=sum) -> output y`))).toEqual([
      'error[SEQ084]',
    ]);
    expect(codes(spec(tokens, `${masked} -> LSTM(hidden=3, layers=2, go_backwards=true) -> output y`))).toEqual([
      'error[SEQ085]',
    ]);
    expect(
      codes(
        spec(tokens, 'input n: lengths(tokens)', 'tokens -> Embedding(10, 4) -> GRU(3, go_backwards=true) -> output y'),
      ),
    ).toEqual(['warning[SEQ016]', 'error[SEQ085]']);
    expect(codes(spec(tokens, 'tokens -> masking(value=0) -> output y'))).toEqual(['error[SEQ088]']);
    expect(codes(spec(tokens, `${masked} -> LSTM(hidden=4, proj=2) -> output y`))).toEqual(['error[SEQ088]']);
    expect(codes(spec(tokens, `${masked} -> Linear(3) -> CRF(tags=3) -> output y`))).toEqual(['error[SEQ088]']);
  });

  it('merge=sum, ave and mul give one direction wide outputs', () => {
    const { ir } = checkSource(spec(tokens, `${masked} -> bi: BiGRU(hidden=5, merge=ave) -> output y`));
    expect(ir!.outputs[0]!.type.dims.at(-1)).toEqual({ kind: 'fixed', size: 5 });
    expect(ir!.parameters.map((p) => p.name)).toContain('bi.weight_ih_l0_reverse');
  });

  it('Keras options at their defaults change nothing: the same IR and the same graph', () => {
    const plain = spec(tokens, 'tokens -> Embedding(10, 4) -> BiLSTM(3) -> last -> output y');
    const explicit = spec(
      tokens,
      'tokens -> Embedding(10, 4, mask_zero=false) -> BiLSTM(3, merge=concat, go_backwards=false, masked_output=previous) -> last -> output y',
    );
    const graph = (source: string): unknown => {
      const { proto, ir } = compile(source);
      const nodes = proto!.graph.nodes.map((n) => [n.name, n.opType, n.inputs, n.outputs, n.attributes]);
      return { ir: formatIr(ir!), nodes, initializers: proto!.graph.initializers };
    };
    expect(graph(explicit)).toEqual(graph(plain));
  });

  it('`activation` is an argument of LSTM and GRU; other layers are told to write it as a step of its own', () => {
    const floats = 'input x: float32[batch, time, 3]';
    for (const step of ['LSTM(4, activation=relu)', 'GRU(4, activation=linear)', 'BiLSTM(4, activation=sigmoid)']) {
      expect(checkSource(spec(floats, `x -> ${step} -> output y`)).diagnostics, step).toEqual([]);
    }
    const hint = (step: string) => checkSource(spec(floats, `x -> ${step} -> output y`)).diagnostics.map((d) => d.hint);
    expect(hint('Linear(4, activation=relu)')).toEqual([
      '`activation` is not needed here: an activation is a step of its own after the layer (`-> relu`); remove it',
    ]);
    expect(hint('RNN(4, activation=relu)')).toEqual(['`activation` is `nonlinearity` here: write `nonlinearity=relu`']);
    expect(hint('Linear(4, activation=relu)').join()).not.toContain('recurrent_activation');
  });

  it('the webgpu target refuses masked layers, naming each (SEQ050)', () => {
    const result = compile(spec(tokens, `${masked} -> rnn: LSTM(hidden=3) -> last -> output y`), { target: 'webgpu' });
    const refusals = result.diagnostics.filter((d) => d.code === 'SEQ050');
    expect(refusals.map((d) => d.facts?.names)).toEqual([['emb'], ['rnn']]);
    expect(result.model).toBeUndefined();
  });
});
