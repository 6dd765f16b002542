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
