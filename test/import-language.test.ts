// The language additions `seqc import` writes: recurrent `activation=` and the values of Keras's activations, and the `repeat(n)` builtin.

import { describe, expect, it } from 'vitest';
import { checkSource, compile } from '../src/index.js';
import { formatIr } from '../src/ir/print.js';

const spec = (...lines: string[]): string => ['model M {', ...lines.map((l) => `  ${l}`), '}', ''].join('\n');
const codes = (source: string): string[] => checkSource(source).diagnostics.map((d) => d.code);

describe('repeat(n)', () => {
  it('turns a vector [batch, F] into the sequence [batch, n, F]', () => {
    const { ir, diagnostics } = checkSource(
      spec('input x: float32[batch, time, 3]', 'x -> LSTM(4) -> last -> repeat(6) -> dec: LSTM(2) -> output y'),
    );
    expect(diagnostics).toEqual([]);
    expect(formatIr(ir!)).toContain('repeat = repeat(last) times=6: float32[batch, 6, 4]');
  });

  it('takes n by name too, and refuses a missing or zero n and a sequence input', () => {
    expect(codes(spec('input x: float32[batch, 3]', 'x -> repeat(n=2) -> output y'))).toEqual([]);
    expect(codes(spec('input x: float32[batch, 3]', 'x -> repeat -> output y'))).toEqual(['SEQ021']);
    expect(codes(spec('input x: float32[batch, 3]', 'x -> repeat(0) -> output y'))).toEqual(['SEQ023']);
    expect(codes(spec('input x: float32[batch, time, 3]', 'x -> repeat(2) -> output y'))).toEqual(['SEQ034']);
  });
});

describe('recurrent activations', () => {
  it('accepts activation= on LSTM and GRU and every Keras value on the gates and the plain RNN', () => {
    for (const value of ['tanh', 'relu', 'sigmoid', 'hard_sigmoid', 'hardsigmoid', 'linear']) {
      const source = spec(
        'input x: float32[batch, time, 3]',
        `x -> a: LSTM(4, activation=${value}, recurrent_activation=${value}) -> b: GRU(4, activation=${value}) -> c: RNN(2, nonlinearity=${value}) -> output y`,
      );
      expect(codes(source), value).toEqual([]);
    }
  });

  it('keeps a projected LSTM to sigmoid gates and tanh candidates (SEQ075)', () => {
    expect(
      codes(spec('input x: float32[batch, time, 3]', 'x -> LSTM(4, proj=2, activation=relu) -> output y')),
    ).toEqual(['SEQ075']);
    expect(
      codes(spec('input x: float32[batch, time, 3]', 'x -> LSTM(4, proj=2, recurrent_activation=linear) -> output y')),
    ).toEqual(['SEQ075']);
  });

  it('is refused by the webgpu target where its kernels lack the function (SEQ050)', () => {
    const source = spec('input x: float32[batch, time, 3]', 'x -> l: LSTM(4, activation=linear) -> output y');
    expect(compile(source).diagnostics).toEqual([]);
    expect(compile(source, { target: 'webgpu' }).diagnostics.map((d) => d.code)).toEqual(['SEQ050']);
  });
});
