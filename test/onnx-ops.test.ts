// The typed ONNX node constructors (src/lower/ops.ts): absent inputs and outputs, attribute order, and the opset-dependent ReduceMean/ReduceMax forms.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../src/lower/builder.js';
import * as onnx from '../src/lower/ops.js';
import { DataType } from '../src/onnx/types.js';

describe('typed ONNX node constructors', () => {
  it('write an absent optional input as "" between present ones and drop trailing absent inputs and outputs', () => {
    const b = new GraphBuilder(17);
    onnx.lstm(
      b,
      'lstm/LSTM',
      { x: 'x', w: 'W', r: 'R', b: undefined, sequenceLens: undefined, initialH: 'h0' },
      { y: undefined, yH: { name: 'Y_h' }, yC: undefined },
      { hiddenSize: 4, direction: 'forward' },
      'spec.seq:2:3',
    );
    const node = b.nodes[0]!;
    expect(node.opType).toBe('LSTM');
    expect(node.inputs).toEqual(['x', 'W', 'R', '', '', 'h0']);
    expect(node.outputs).toEqual(['', 'Y_h']);
    expect(node.attributes.map((a) => a.name)).toEqual(['hidden_size', 'direction']);
    expect(node.docString).toBe('spec.seq:2:3');
  });

  it("list a GRU's attributes in one order whatever the call site", () => {
    const b = new GraphBuilder(17);
    onnx.gru(
      b,
      'g/GRU',
      { x: 'x', w: 'W', r: 'R' },
      { yH: { name: 'h' } },
      { direction: 'reverse', linearBeforeReset: 1, activations: ['Sigmoid', 'Tanh'], hiddenSize: 2 },
    );
    expect(b.nodes[0]!.inputs).toEqual(['x', 'W', 'R']);
    expect(b.nodes[0]!.attributes.map((a) => a.name)).toEqual([
      'hidden_size',
      'activations',
      'linear_before_reset',
      'direction',
    ]);
  });

  it('leave out a Gemm bias given as undefined', () => {
    const b = new GraphBuilder(17);
    onnx.gemm(
      b,
      'fc/Gemm',
      ['x', 'W', undefined],
      { name: 'y', type: { elemType: DataType.FLOAT, dims: [] } },
      { transB: 1 },
    );
    expect(b.nodes[0]!.inputs).toEqual(['x', 'W']);
    expect(b.nodes[0]!.attributes).toEqual([{ name: 'transB', kind: 'int', value: 1 }]);
    expect(b.valueInfo.map((v) => v.name)).toEqual(['y']);
  });

  it('give ReduceMean its axes as an attribute before opset 18 and as an initializer input from 18 on', () => {
    const before = new GraphBuilder(17);
    onnx.reduceMean(
      before,
      'm/ReduceMean',
      'x',
      { values: [-1], initializer: 'm/axes' },
      { name: 'y' },
      { keepdims: 1 },
    );
    expect(before.nodes[0]!.inputs).toEqual(['x']);
    expect(before.nodes[0]!.attributes).toEqual([
      { name: 'axes', kind: 'ints', value: [-1] },
      { name: 'keepdims', kind: 'int', value: 1 },
    ]);
    expect(before.initializers).toEqual([]);

    const after = new GraphBuilder(18);
    onnx.reduceMax(after, 'm/ReduceMax', 'x', { values: [0], initializer: 'm/axes' }, { name: 'y' }, { keepdims: 0 });
    expect(after.nodes[0]!.opType).toBe('ReduceMax');
    expect(after.nodes[0]!.inputs).toEqual(['x', 'm/axes']);
    expect(after.nodes[0]!.attributes).toEqual([{ name: 'keepdims', kind: 'int', value: 0 }]);
    expect(after.initializers.map((t) => [t.name, Array.from(t.int64Data!)])).toEqual([['m/axes', [0n]]]);
  });

  it('fill ConstantOfShape with an int64 value only when given one', () => {
    const b = new GraphBuilder(17);
    onnx.constantOfShape(b, 'z/ConstantOfShape', ['shape'], { name: 'z' }, {});
    onnx.constantOfShape(b, 'f/ConstantOfShape', ['shape'], { name: 'f' }, { int64Value: 7 });
    expect(b.nodes[0]!.attributes).toEqual([]);
    expect(b.nodes[1]!.attributes[0]).toMatchObject({
      name: 'value',
      kind: 'tensor',
      value: { dataType: DataType.INT64, int64Data: BigInt64Array.of(7n) },
    });
  });
});
