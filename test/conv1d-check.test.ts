// Conv1d in the checker and the IR: argument binding and hints, output shapes and lengths, parameters, both targets.

import { describe, expect, it } from 'vitest';
import { checkSource, compile } from '../src/index.js';
import { formatIr } from '../src/ir/print.js';
import { formatType } from '../src/ir/ir.js';

const spec = (...members: string[]): string => ['model M {', ...members.map((m) => `  ${m}`), '}', ''].join('\n');

function checked(source: string) {
  const result = checkSource(source);
  expect(result.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  return result.ir!;
}

describe('Conv1d in the checker', () => {
  it('binds `out` and `kernel` positionally, infers the input channels and names PyTorch parameters', () => {
    const ir = checked(spec('input x: float32[batch, time, 6]', 'x -> conv: Conv1d(4, 3) -> output y'));
    expect(ir.parameters.map((p) => [p.name, p.shape])).toEqual([
      ['conv.weight', [4, 6, 3]],
      ['conv.bias', [4]],
    ]);
    expect(formatType(ir.outputs[0]!.type)).toBe('float32[batch, time_conv, 4]');
    expect(formatIr(ir)).toMatch(/conv = conv1d\(x\) in=6 out=4 kernel=3 padding=0 stride=1 dilation=1: /);
  });

  it('computes a fixed time axis with nn.Conv1d formula, and keeps a symbolic one where the length is kept', () => {
    const fixed = checked(
      spec(
        'input x: float32[batch, 20, 6]',
        'x -> Conv1d(out=4, kernel=3, padding=1, stride=2, dilation=2, bias=false) -> output y',
      ),
    );
    // ⌊(20 + 2 − 2·2 − 1)/2⌋ + 1 = 9
    expect(formatType(fixed.outputs[0]!.type)).toBe('float32[batch, 9, 4]');
    expect(fixed.parameters.map((p) => p.name)).toEqual(['conv1d.weight']);
    const kept = checked(
      spec(
        'input x: float32[batch, time, 6]',
        'input lengths: lengths(x)',
        'x -> c: Conv1d(out=4, kernel=5, padding=4, dilation=2) -> output y',
      ),
    );
    expect(kept.outputs[0]!.type).toMatchObject({ lengths: 'lengths', hasTime: true });
    expect(kept.ops[0]).not.toHaveProperty('outputLengths');
    expect(formatType(kept.outputs[0]!.type)).toBe('float32[batch, time, 4]');
  });

  it("explains nn.Conv1d's input channels and its argument names", () => {
    const positional = checkSource(spec('input x: float32[batch, time, 6]', 'x -> Conv1d(6, 4, 3) -> output y'));
    expect(positional.diagnostics.map((d) => d.code)).toEqual(['SEQ024']);
    expect(positional.diagnostics[0]!.hint).toMatch(/write `Conv1d\(4, 3\)` for out=4, kernel=3/);
    const named = checkSource(
      spec('input x: float32[batch, time, 6]', 'x -> Conv1d(out=4, kernel_size=3) -> output y'),
    );
    expect(named.diagnostics.map((d) => d.code)).toContain('SEQ020');
  });

  it('rejects kernels, strides and dilations out of range', () => {
    for (const bad of ['kernel=0', 'kernel=3, stride=0', 'kernel=3, dilation=0', 'kernel=3, padding=-1']) {
      const result = checkSource(spec('input x: float32[batch, time, 6]', `x -> Conv1d(out=4, ${bad}) -> output y`));
      expect(result.diagnostics.length, bad).toBeGreaterThan(0);
      expect(
        result.diagnostics.every((d) => d.severity === 'error'),
        bad,
      ).toBe(true);
    }
  });
});

describe('Conv1d that changes the number of steps of a sequence with lengths', () => {
  const strided = spec(
    'input x: float32[batch, time, 6]',
    'input lengths: lengths(x)',
    'x -> c1: Conv1d(out=4, kernel=3, stride=2) -> c2: Conv1d(out=4, kernel=3, padding=1) -> c3: Conv1d(out=2, kernel=2, dilation=2)',
    '  -> rnn: LSTM(hidden=3) -> output y',
    'c3 -> mean -> output m',
  );

  it('derives new lengths, which the layers after it read; a length-keeping Conv1d passes them on', () => {
    const ir = checked(strided);
    const convs = ir.ops.filter((o) => o.kind === 'conv1d');
    expect(convs.map((o) => [o.label, o.lengths, o.outputLengths])).toEqual([
      ['c1', 'lengths', 'lengths(c1)'],
      ['c2', 'lengths(c1)', undefined],
      ['c3', 'lengths(c1)', 'lengths(c3)'],
    ]);
    expect(convs.map((o) => o.output.type.lengths)).toEqual(['lengths(c1)', 'lengths(c1)', 'lengths(c3)']);
    expect(formatIr(ir)).toMatch(/c1 = conv1d\(x\) .* lengths=lengths output-lengths=lengths\(c1\): /);
    const rnn = ir.ops.find((o) => o.kind === 'recurrent')!;
    expect(rnn.kind === 'recurrent' && rnn.lengths).toBe('lengths(c3)');
    expect(ir.outputs.map((o) => [o.name, o.type.lengths, formatType(o.type)])).toEqual([
      ['y', 'lengths(c3)', 'float32[batch, time_c1_c3, 3]'],
      ['m', undefined, 'float32[batch, 2]'],
    ]);
    // A Conv1d without lengths derives none.
    const plain = checked(
      spec('input x: float32[batch, time, 6]', 'x -> c: Conv1d(out=4, kernel=3, stride=2) -> output y'),
    );
    expect(plain.ops[0]).not.toHaveProperty('outputLengths');
  });

  it('computes the new lengths in int64 under their IR name, and masks the outputs with them (generic target)', () => {
    const result = compile(strided);
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const nodes = result.proto!.graph.nodes;
    const producer = (name: string) => nodes.find((n) => n.outputs.includes(name));
    // c1: kernel 3, stride 2, no padding: ⌊(L − 3 + 2)/2⌋, clamped at 0 first.
    expect(['Add', 'Max', 'Div'].map((op) => nodes.some((n) => n.name === `c1/lengths/${op}`))).toEqual([
      true,
      true,
      true,
    ]);
    expect(producer('lengths(c1)')?.opType).toBe('Div');
    // c3: kernel 2, dilation 2, stride 1: L − 2, clamped at 0; no Div.
    expect(producer('lengths(c3)')?.opType).toBe('Max');
    expect(nodes.some((n) => n.name === 'c3/lengths/Div')).toBe(false);
    const lstm = nodes.find((n) => n.opType === 'LSTM')!;
    expect(producer(lstm.inputs[4]!)?.inputs).toEqual(['lengths(c3)']);
    // The signature lists the inputs as declared; the output's time axis is the derived symbol.
    expect(result.signature!.inputs.map((i) => i.name)).toEqual(['x', 'lengths']);
    expect(result.signature!.outputs[0]!.dims).toEqual(['batch', 'time_c1_c3', 3]);
  });

  it('is refused on the webgpu target with SEQ050 naming the layer', () => {
    const result = compile(strided, { target: 'webgpu' });
    const refusals = result.diagnostics.filter((d) => d.code === 'SEQ050');
    expect(refusals.map((d) => d.facts?.names?.[0])).toEqual(['c1', 'c3']);
    expect(refusals[0]!.message).toMatch(/c1 changes the number of steps/);
    expect(refusals[0]!.hint).toMatch(/stride=1, padding=1/);
    expect(result.model).toBeUndefined();
  });

  it('is refused (SEQ072) where it changes the lengths of the memory a decoder attends over', () => {
    const translator = [
      'model T {',
      '  input src: int64[batch, src_time]',
      '  input src_lengths: lengths(src)',
      '  encoder {',
      '    src -> emb: Embedding(vocab=20, dim=4) -> conv: Conv1d(out=4, kernel=3, stride=2) -> enc: LSTM(hidden=8)',
      '  }',
      '  decoder(bos=1, eos=2, max_length=10) {',
      '    -> tgt: Embedding(vocab=20, dim=4)',
      '    -> dec: LSTM(hidden=8)',
      '    -> generator: Linear(20)',
      '  }',
      '}',
    ].join('\n');
    expect(checkSource(translator).diagnostics.map((d) => d.code)).toEqual(['SEQ072']);
    // A length-keeping Conv1d there is fine.
    const keeping = translator.replace('kernel=3, stride=2', 'kernel=3, padding=1');
    expect(checkSource(keeping).diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });
});

describe('Conv1d on both targets', () => {
  const tagger = spec(
    'input tokens: int64[batch, time]',
    'input lengths: lengths(tokens)',
    'tokens -> emb: Embedding(vocab=10, dim=4) -> conv: Conv1d(out=6, kernel=3, padding=1) -> relu -> rnn: BiLSTM(hidden=3) -> output y',
  );
  it.each(['generic', 'webgpu'] as const)(
    '%s: one Conv node between Transposes, padded steps zeroed first',
    (target) => {
      const result = compile(tagger, { target });
      expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const ops = result.proto!.graph.nodes.map((n) => n.opType);
      const conv = ops.indexOf('Conv');
      expect(conv).toBeGreaterThan(0);
      expect(ops.filter((o) => o === 'Conv')).toHaveLength(1);
      expect(ops[conv - 1]).toBe('Transpose');
      expect(ops[conv + 1]).toBe('Transpose');
      expect(ops.slice(0, conv)).toContain('Where');
    },
  );
});
