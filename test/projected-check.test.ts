// LSTM(proj=P) in the checker and the IR: PyTorch's parameter names and shapes, output and state widths, and what is refused.

import { describe, expect, it } from 'vitest';
import { checkSource, compile } from '../src/index.js';
import { formatType } from '../src/ir/ir.js';

const spec = (...members: string[]): string => ['model M {', ...members.map((m) => `  ${m}`), '}', ''].join('\n');

describe('LSTM(proj=P)', () => {
  it('names and shapes parameters as nn.LSTM(proj_size=P): weight_hh [4H, P], weight_hr [P, H], layer 2 input P·dirs', () => {
    const { ir, diagnostics } = checkSource(
      spec(
        'input x: float32[batch, time, 5]',
        'x -> rnn: BiLSTM(hidden=7, proj=3, layers=2, stateful=true) -> output y',
      ),
    );
    expect(diagnostics).toEqual([]);
    const shapes = Object.fromEntries(ir!.parameters.map((p) => [p.name, p.shape]));
    expect(shapes).toMatchObject({
      'rnn.weight_ih_l0': [28, 5],
      'rnn.weight_hh_l0': [28, 3],
      'rnn.weight_hr_l0': [3, 7],
      'rnn.weight_ih_l1_reverse': [28, 6],
      'rnn.weight_hr_l1_reverse': [3, 7],
    });
    expect(ir!.parameters.slice(0, 5).map((p) => p.name)).toEqual([
      'rnn.weight_ih_l0',
      'rnn.weight_hh_l0',
      'rnn.bias_ih_l0',
      'rnn.bias_hh_l0',
      'rnn.weight_hr_l0',
    ]);
    const types = Object.fromEntries(ir!.outputs.map((o) => [o.name, formatType(o.type)]));
    expect(types).toEqual({
      y: 'float32[batch, time, 6]',
      'rnn.hn': 'float32[4, batch, 3]',
      'rnn.cn': 'float32[4, batch, 7]',
    });
    expect(formatType(ir!.inputs.find((i) => i.name === 'rnn.c0')!.type)).toBe('float32[4, batch, 7]');
  });

  it('proj=0 is no projection, and proj_size names it', () => {
    const { ir } = checkSource(
      spec('input x: float32[batch, time, 5]', 'x -> rnn: LSTM(hidden=7, proj=0) -> output y'),
    );
    expect(ir!.ops[0]).not.toHaveProperty('proj');
    const named = checkSource(spec('input x: float32[batch, time, 5]', 'x -> LSTM(hidden=7, proj_size=3) -> output y'));
    expect(named.diagnostics[0]!.hint).toMatch(/proj/);
  });

  it('the webgpu target refuses it with SEQ050 naming the layer; the generic target compiles it to Loops', () => {
    const source = spec('input x: float32[batch, time, 5]', 'x -> enc: LSTM(hidden=7, proj=3) -> output y');
    const webgpu = compile(source, { target: 'webgpu' });
    expect(webgpu.diagnostics.map((d) => d.code)).toEqual(['SEQ050']);
    expect(webgpu.diagnostics[0]!.message).toMatch(/^enc is an LSTM with a projection/);
    const generic = compile(source);
    expect(generic.proto!.graph.nodes.map((n) => n.opType)).toContain('Loop');
  });
});
