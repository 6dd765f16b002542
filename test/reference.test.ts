// Proves the test references (test/reference/) against numbers nobody here produced: PyTorch's own
// LSTM/RNN outputs, onnx/onnx's node-test outputs, ONNX Runtime's kernels and TensorFlow.js Layers.
// seqc's numeric tests compare against these references, so they must be right first.

import { describe, expect, it, beforeAll } from 'vitest';
import {
  embedding,
  flatten,
  lastOfBidirectional,
  layerNorm,
  linear,
  logSoftmax,
  maxAbsDiff,
  nest,
  pool,
  randomArray,
  randomRecurrentWeights,
  randomTensor,
  recurrent,
  relu,
  seededRandom,
  sigmoid,
  softmax,
  tanh,
} from './reference/float64.js';
import type { NestedArray, RecurrentKind, RecurrentOptions, ReferenceTensor } from './reference/float64.js';
import { listOnnxNodeCases, loadCandleCase, loadOnnxNodeCase, runOnnxNode } from './reference/oracles.js';
import type { OnnxAttributeValue, OnnxNodeCase, OracleTensor } from './reference/oracles.js';
import { runTfjsStack, useTfjsCpu } from './reference/tfjs.js';
import type { TfjsLayerSpec } from './reference/tfjs.js';

describe('float64 reference vs PyTorch (candle oracle)', () => {
  it('matches torch.nn.LSTM with h0 and c0', () => {
    const c = loadCandleCase('lstm');
    const result = recurrent(
      'lstm',
      { hidden: c.hiddenSize, layers: 1, bidirectional: false, h0: nested3(c.h0), c0: nested3(c.c0!) },
      '',
      c.weights,
      swapFirstAxes(nested3(c.input)),
    );
    expect(maxAbsDiff(result.output, swapFirstAxes(nested3(c.output)))).toBeLessThan(1e-5);
    expect(maxAbsDiff(result.hn, nested3(c.hn))).toBeLessThan(1e-5);
    expect(maxAbsDiff(result.cn!, nested3(c.cn!))).toBeLessThan(1e-5);
  });

  it('matches torch.nn.RNN (tanh) with hx', () => {
    const c = loadCandleCase('rnn');
    const result = recurrent(
      'rnn',
      { hidden: c.hiddenSize, layers: 1, bidirectional: false, h0: nested3(c.h0) },
      '',
      c.weights,
      swapFirstAxes(nested3(c.input)),
    );
    expect(maxAbsDiff(result.output, swapFirstAxes(nested3(c.output)))).toBeLessThan(1e-5);
    expect(maxAbsDiff(result.hn, nested3(c.hn))).toBeLessThan(1e-5);
  });
});

describe('float64 reference vs onnx/onnx node tests', () => {
  // PyTorch has no peepholes, so the peephole case cannot be expressed in PyTorch layout and is
  // not checked here. It is the only case with sequence_lens; lengths are checked against ONNX
  // Runtime and tfjs below instead.
  const mappable = (name: string) => !name.includes('peephole');
  const regenerated = listOnnxNodeCases('regenerated').filter(mappable);
  const backend = listOnnxNodeCases('backend').filter(mappable);

  it('finds the cases', () => {
    expect(regenerated.length).toBeGreaterThanOrEqual(15);
    expect(backend.length).toBeGreaterThanOrEqual(11);
  });

  it.each(regenerated)('regenerated/%s', (name) => {
    checkOnnxCase(loadOnnxNodeCase(name, 'regenerated'));
  });

  it.each(backend)('backend %s', (name) => {
    checkOnnxCase(loadOnnxNodeCase(name, 'backend'));
  });

  it('reads the same node and data from both formats', () => {
    for (const name of backend.filter((n) => regenerated.includes(n))) {
      const a = loadOnnxNodeCase(name, 'regenerated');
      const b = loadOnnxNodeCase(name, 'backend');
      expect(b.op).toBe(a.op);
      expect(b.attrs).toEqual(a.attrs);
      expect(b.nodeInputs).toEqual(a.nodeInputs);
      for (const [key, t] of Object.entries(a.inputs)) expect(b.inputs[key]!.data).toEqual(t.data);
      for (const [key, t] of Object.entries(b.outputs)) {
        expect(maxAbsDiff(Array.from(t.data), Array.from(a.outputs[key]!.data))).toBeLessThan(1e-6);
      }
    }
  });
});

describe('float64 reference vs ONNX Runtime kernels', () => {
  // ONNX Runtime's LSTM/GRU/RNN are a third implementation. These cases cover what the onnx/onnx
  // data does not: sequence_lens (padded rows), PyTorch's GRU (linear_before_reset=1), hard
  // sigmoid gates, relu RNN and initial states, always in both directions.
  const cases: { title: string; op: 'LSTM' | 'GRU' | 'RNN'; attrs: Record<string, OnnxAttributeValue> }[] = [
    { title: 'LSTM', op: 'LSTM', attrs: {} },
    { title: 'LSTM hard sigmoid', op: 'LSTM', attrs: { activations: ['HardSigmoid', 'Tanh', 'Tanh'] } },
    { title: 'GRU linear_before_reset=1 (PyTorch)', op: 'GRU', attrs: { linear_before_reset: 1 } },
    { title: 'GRU linear_before_reset=0 (Keras)', op: 'GRU', attrs: { linear_before_reset: 0 } },
    {
      title: 'GRU hard sigmoid, linear_before_reset=1',
      op: 'GRU',
      attrs: { linear_before_reset: 1, activations: ['HardSigmoid', 'Tanh'] },
    },
    { title: 'RNN tanh', op: 'RNN', attrs: {} },
    { title: 'RNN relu', op: 'RNN', attrs: { activations: ['Relu'] } },
  ];
  const directions = ['forward', 'reverse', 'bidirectional'] as const;

  it.each(cases.flatMap((c) => directions.map((direction) => ({ ...c, direction }))))(
    '$title $direction with sequence_lens and initial state',
    async ({ op, attrs, direction }) => {
      const random = seededRandom(op.length * 31 + direction.length * 7 + JSON.stringify(attrs).length);
      const dirs = direction === 'bidirectional' ? 2 : 1;
      const [T, B, F, H] = [5, 3, 3, 4];
      const G = { LSTM: 4, GRU: 3, RNN: 1 }[op] * H;
      const activations = attrs['activations'] as string[] | undefined;
      const fullAttrs: Record<string, OnnxAttributeValue> = {
        ...attrs,
        hidden_size: H,
        direction,
        ...(activations
          ? { activations: direction === 'bidirectional' ? [...activations, ...activations] : activations }
          : {}),
      };
      const inputs: Record<string, OracleTensor> = {
        X: oracleTensor(randomTensor(random, [T, B, F], 1.5)),
        W: oracleTensor(randomTensor(random, [dirs, G, F], 0.8)),
        R: oracleTensor(randomTensor(random, [dirs, G, H], 0.8)),
        B: oracleTensor(randomTensor(random, [dirs, 2 * G], 0.8)),
        sequence_lens: { shape: [B], dtype: 'int32', data: Float32Array.from([5, 2, 4]) },
        initial_h: oracleTensor(randomTensor(random, [dirs, B, H], 0.5)),
        ...(op === 'LSTM' ? { initial_c: oracleTensor(randomTensor(random, [dirs, B, H], 0.5)) } : {}),
      };
      const nodeInputs = ['X', 'W', 'R', 'B', 'sequence_lens', 'initial_h', ...(op === 'LSTM' ? ['initial_c'] : [])];
      const nodeOutputs = ['Y', 'Y_h', ...(op === 'LSTM' ? ['Y_c'] : [])];
      const outputs = await runOnnxNode(op, fullAttrs, nodeInputs, nodeOutputs, inputs);
      checkOnnxCase({ name: `${op} ${direction}`, op, nodeInputs, nodeOutputs, attrs: fullAttrs, inputs, outputs });
    },
  );
});

describe('TensorFlow.js Layers vs float64 reference', () => {
  beforeAll(async () => {
    await useTfjsCpu();
  });

  const [B, T, F, H] = [2, 5, 3, 4];

  async function compareRecurrent(
    kind: RecurrentKind,
    options: Omit<RecurrentOptions, 'hidden'> & { readonly seed: number; readonly scale?: number },
  ): Promise<void> {
    const random = seededRandom(options.seed);
    const sizes = { input: F, hidden: H, layers: options.layers, bidirectional: options.bidirectional };
    const weights = randomRecurrentWeights(random, kind, 'rec', sizes, {
      scale: options.scale ?? 0.5,
      ...(options.bias === undefined ? {} : { bias: options.bias }),
    });
    const x = randomArray(random, [B, T, F], 1.5) as number[][][];
    const reference = recurrent(kind, { ...options, hidden: H }, 'rec', weights, x);
    const spec = {
      kind,
      prefix: 'rec',
      hidden: H,
      layers: options.layers,
      bidirectional: options.bidirectional,
      ...(options.nonlinearity ? { nonlinearity: options.nonlinearity } : {}),
      ...(options.recurrentActivation ? { recurrentActivation: options.recurrentActivation } : {}),
      ...(options.bias === undefined ? {} : { bias: options.bias }),
    };
    const sequences = await runTfjsStack([{ ...spec, returnSequences: true }], weights, x);
    expect(maxAbsDiff(sequences, reference.output)).toBeLessThan(1e-4);
    const final = await runTfjsStack([{ ...spec, returnSequences: false }], weights, x);
    const expectedFinal = options.bidirectional
      ? lastOfBidirectional(reference.hn, options.layers)
      : reference.hn[options.layers - 1]!;
    expect(maxAbsDiff(final, expectedFinal)).toBeLessThan(1e-4);
  }

  it('LSTM', () => compareRecurrent('lstm', { layers: 1, bidirectional: false, seed: 1 }));
  it('LSTM with hard sigmoid gates', () =>
    compareRecurrent('lstm', {
      layers: 1,
      bidirectional: false,
      recurrentActivation: 'hard_sigmoid',
      seed: 2,
      scale: 1.5,
    }));
  it('LSTM without bias', () => compareRecurrent('lstm', { layers: 1, bidirectional: false, bias: false, seed: 3 }));
  it('GRU reset_after=false', () =>
    compareRecurrent('gru', { layers: 1, bidirectional: false, resetAfter: false, seed: 4 }));
  it('GRU reset_after=false with hard sigmoid gates', () =>
    compareRecurrent('gru', {
      layers: 1,
      bidirectional: false,
      resetAfter: false,
      recurrentActivation: 'hard_sigmoid',
      seed: 5,
      scale: 1.5,
    }));
  it('SimpleRNN tanh', () => compareRecurrent('rnn', { layers: 1, bidirectional: false, seed: 6 }));
  it('SimpleRNN relu', () =>
    compareRecurrent('rnn', { layers: 1, bidirectional: false, nonlinearity: 'relu', seed: 7 }));
  it('bidirectional 2-layer LSTM', () => compareRecurrent('lstm', { layers: 2, bidirectional: true, seed: 8 }));
  it('bidirectional 2-layer GRU reset_after=false', () =>
    compareRecurrent('gru', { layers: 2, bidirectional: true, resetAfter: false, seed: 9 }));
  it('bidirectional 2-layer SimpleRNN', () => compareRecurrent('rnn', { layers: 2, bidirectional: true, seed: 10 }));

  it('GRU reset_after=true differs from tfjs (the two GRU variants are not the same model)', async () => {
    const random = seededRandom(11);
    const weights = randomRecurrentWeights(
      random,
      'gru',
      'g',
      { input: F, hidden: H, layers: 1, bidirectional: false },
      { scale: 1 },
    );
    const x = randomArray(random, [B, T, F], 1.5) as number[][][];
    const pytorch = recurrent('gru', { hidden: H, layers: 1, bidirectional: false }, 'g', weights, x);
    const keras = await runTfjsStack([{ kind: 'gru', prefix: 'g', hidden: H, returnSequences: true }], weights, x);
    expect(maxAbsDiff(keras, pytorch.output)).toBeGreaterThan(1e-3);
  });

  it('padded rows: float64 with lengths equals tfjs on each row cut to its length (BiLSTM, 2 layers)', async () => {
    const random = seededRandom(12);
    const sizes = { input: F, hidden: H, layers: 2, bidirectional: true };
    const weights = randomRecurrentWeights(random, 'lstm', 'bi', sizes);
    const x = randomArray(random, [3, T, F], 1.5) as number[][][];
    const lengths = [T, 2, 4];
    const reference = recurrent('lstm', { hidden: H, layers: 2, bidirectional: true }, 'bi', weights, x, lengths);
    const last = lastOfBidirectional(reference.hn, 2);
    const spec = { kind: 'lstm', prefix: 'bi', hidden: H, layers: 2, bidirectional: true } as const;
    for (let b = 0; b < x.length; b++) {
      const row = [x[b]!.slice(0, lengths[b])];
      const sequences = (await runTfjsStack([{ ...spec, returnSequences: true }], weights, row)) as number[][][];
      expect(maxAbsDiff(sequences[0]!, reference.output[b]!.slice(0, lengths[b]))).toBeLessThan(1e-4);
      expect(flatten(reference.output[b]!.slice(lengths[b])).every((v) => v === 0)).toBe(true);
      const final = (await runTfjsStack([{ ...spec, returnSequences: false }], weights, row)) as number[][];
      expect(maxAbsDiff(final[0]!, last[b]!)).toBeLessThan(1e-4);
    }
  });

  it('Embedding -> LSTM -> last -> Linear -> softmax', async () => {
    const random = seededRandom(13);
    const vocab = 7;
    const weights = new Map<string, ReferenceTensor>([
      ['embedding.weight', randomTensor(random, [vocab, F], 1)],
      ...randomRecurrentWeights(random, 'lstm', 'lstm', { input: F, hidden: H, layers: 1, bidirectional: false }),
      ['fc.weight', randomTensor(random, [2, H], 1)],
      ['fc.bias', randomTensor(random, [2], 1)],
    ]);
    const ids = [
      [1, 4, 6, 0, 2],
      [3, 3, 5, 1, 0],
    ];
    const stack: TfjsLayerSpec[] = [
      { kind: 'embedding', prefix: 'embedding' },
      { kind: 'lstm', prefix: 'lstm', hidden: H, returnSequences: false },
      { kind: 'linear', prefix: 'fc' },
      { kind: 'activation', fn: 'softmax' },
    ];
    const tfjs = await runTfjsStack(stack, weights, ids);
    const embedded = embedding(weights, 'embedding', ids);
    const hidden = recurrent('lstm', { hidden: H, layers: 1, bidirectional: false }, 'lstm', weights, embedded);
    const reference = softmax(linear(weights, 'fc', pool('last', hidden.output)));
    expect(maxAbsDiff(tfjs, reference)).toBeLessThan(1e-4);
  });

  it('Linear without bias, LayerNorm, activations and pooling', async () => {
    const random = seededRandom(14);
    const weights = new Map<string, ReferenceTensor>([
      ['proj.weight', randomTensor(random, [6, F], 1)],
      ['norm.weight', randomTensor(random, [6], 1)],
      ['norm.bias', randomTensor(random, [6], 1)],
    ]);
    const x = randomArray(random, [B, T, F], 2) as number[][][];
    const base: TfjsLayerSpec[] = [
      { kind: 'linear', prefix: 'proj', bias: false },
      { kind: 'layerNorm', prefix: 'norm' },
    ];
    const normed = layerNorm(weights, 'norm', linear(weights, 'proj', x, { bias: false }));
    const checks: [TfjsLayerSpec, NestedArray][] = [
      [{ kind: 'activation', fn: 'relu' }, relu(normed)],
      [{ kind: 'activation', fn: 'tanh' }, tanh(normed)],
      [{ kind: 'activation', fn: 'sigmoid' }, sigmoid(normed)],
      [{ kind: 'activation', fn: 'softmax' }, softmax(normed)],
      [{ kind: 'pool', fn: 'mean' }, pool('mean', normed)],
      [{ kind: 'pool', fn: 'max' }, pool('max', normed)],
    ];
    for (const [last, expected] of checks) {
      expect(maxAbsDiff(await runTfjsStack([...base, last], weights, x), expected)).toBeLessThan(1e-4);
    }
  });
});

describe('float64 helpers', () => {
  it('pools only over valid steps', () => {
    const x = [
      [
        [1, -5],
        [3, 2],
        [100, 100],
      ],
    ];
    expect(pool('last', x, [2])).toEqual([[3, 2]]);
    expect(pool('first', x, [2])).toEqual([[1, -5]]);
    expect(pool('mean', x, [2])).toEqual([[2, -1.5]]);
    expect(pool('max', x, [2])).toEqual([[3, 2]]);
  });

  it('logSoftmax is log of softmax', () => {
    const v = [[0.5, -1, 3]];
    expect(
      maxAbsDiff(
        logSoftmax(v),
        softmax(v).map((row) => row.map(Math.log)),
      ),
    ).toBeLessThan(1e-12);
  });

  it('nest and flatten are inverses', () => {
    const data = [1, 2, 3, 4, 5, 6];
    expect(nest([2, 3], data)).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(flatten(nest([3, 1, 2], data))).toEqual(data);
  });
});

// ---------------------------------------------------------------------------------------------
// Mapping an ONNX LSTM/GRU/RNN node to the PyTorch-layout float64 reference.

/** PyTorch gate block i takes ONNX block ONNX_BLOCK[op][i]: LSTM i,o,f,c → i,f,g,o; GRU z,r,h → r,z,n. */
const ONNX_BLOCK: Record<string, readonly number[]> = { LSTM: [0, 2, 3, 1], GRU: [1, 0, 2], RNN: [0] };

const ONNX_ACTIVATIONS: Record<string, readonly (readonly string[])[]> = {
  LSTM: [['Sigmoid', 'Tanh', 'Tanh']],
  GRU: [['Sigmoid', 'Tanh']],
  RNN: [['Tanh']],
};

/** Runs the float64 reference on an ONNX node case and compares every output the case has. */
function checkOnnxCase(c: OnnxNodeCase): void {
  const kind = ({ LSTM: 'lstm', GRU: 'gru', RNN: 'rnn' } as const)[c.op as 'LSTM' | 'GRU' | 'RNN'];
  if (!kind) throw new Error(`${c.name}: not a recurrent op`);
  const supported = new Set(['hidden_size', 'direction', 'layout', 'linear_before_reset', 'activations']);
  for (const key of Object.keys(c.attrs))
    if (!supported.has(key)) throw new Error(`${c.name}: unmapped attribute ${key}`);
  const H = c.attrs['hidden_size'] as number;
  const direction = (c.attrs['direction'] as string | undefined) ?? 'forward';
  const batchMajor = c.attrs['layout'] === 1;
  const has = (input: string) => c.nodeInputs.includes(input) && c.inputs[input] !== undefined;

  // ONNX X is [T, B, F] (layout 0) or [B, T, F] (layout 1); the reference is batch-major.
  const X = nested3(c.inputs['X']!);
  const x = batchMajor ? X : swapFirstAxes(X);
  const batch = x.length;
  const W = c.inputs['W']!;
  const onnxDirs = W.shape[0]!;
  const G = W.shape[1]!;
  const inputSize = W.shape[2]!;

  // A reverse-only ONNX node becomes the backward half of a bidirectional reference whose
  // forward half has zero weights, so the reference's own reverse path is what gets checked.
  const referenceDirs = direction === 'forward' ? 1 : 2;
  const onnxToReference = (d: number) => (direction === 'reverse' ? 1 : d);
  const weights = new Map<string, ReferenceTensor>();
  if (direction === 'reverse') {
    weights.set('weight_ih_l0', { shape: [G, inputSize], data: new Float32Array(G * inputSize) });
    weights.set('weight_hh_l0', { shape: [G, H], data: new Float32Array(G * H) });
    weights.set('bias_ih_l0', { shape: [G], data: new Float32Array(G) });
    weights.set('bias_hh_l0', { shape: [G], data: new Float32Array(G) });
  }
  const order = ONNX_BLOCK[c.op]!;
  for (let d = 0; d < onnxDirs; d++) {
    const suffix = onnxToReference(d) === 1 ? '_l0_reverse' : '_l0';
    weights.set(`weight_ih${suffix}`, gateBlocks(slice(W, d), order, H));
    weights.set(`weight_hh${suffix}`, gateBlocks(slice(c.inputs['R']!, d), order, H));
    const bias = has('B') ? slice(c.inputs['B']!, d) : { shape: [2 * G], data: new Float32Array(2 * G) };
    weights.set(`bias_ih${suffix}`, gateBlocks({ shape: [G], data: bias.data.slice(0, G) }, order, H));
    weights.set(`bias_hh${suffix}`, gateBlocks({ shape: [G], data: bias.data.slice(G) }, order, H));
  }

  // Initial states: ONNX [dirs, B, H] (layout 0) or [B, dirs, H] (layout 1) → PyTorch [dirs, B, H].
  const initialState = (input: string): number[][][] | undefined => {
    if (!has(input)) return undefined;
    const onnx = nested3(c.inputs[input]!);
    const byDirection = batchMajor ? swapFirstAxes(onnx) : onnx;
    const state = Array.from({ length: referenceDirs }, () =>
      Array.from({ length: batch }, () => new Array<number>(H).fill(0)),
    );
    byDirection.forEach((rows, d) => (state[onnxToReference(d)] = rows));
    return state;
  };

  const activations = (c.attrs['activations'] as readonly string[] | undefined)?.slice(
    0,
    ONNX_ACTIVATIONS[c.op]![0]!.length,
  );
  const gateIsHard = activations?.[0] === 'HardSigmoid';
  if (activations && c.op !== 'RNN' && activations.slice(1).some((a) => a !== 'Tanh')) {
    throw new Error(`${c.name}: unmapped activations ${activations}`);
  }
  const h0 = initialState('initial_h');
  const c0 = initialState('initial_c');
  const options: RecurrentOptions = {
    hidden: H,
    layers: 1,
    bidirectional: referenceDirs === 2,
    resetAfter: c.attrs['linear_before_reset'] === 1,
    recurrentActivation: gateIsHard ? 'hard_sigmoid' : 'sigmoid',
    nonlinearity: c.op === 'RNN' && activations?.[0] === 'Relu' ? 'relu' : 'tanh',
    ...(h0 ? { h0 } : {}),
    ...(c0 ? { c0 } : {}),
  };
  const lengths = has('sequence_lens') ? Array.from(c.inputs['sequence_lens']!.data) : undefined;
  const result = recurrent(kind, options, '', weights, x, lengths);

  // Back to ONNX layouts: Y is [T, dirs, B, H] (layout 0) or [B, T, dirs, H] (layout 1).
  const directionsOf = (d: number) => onnxToReference(d);
  const time = x[0]!.length;
  const yBatchMajor = result.output.map((row) =>
    row.map((step) =>
      Array.from({ length: onnxDirs }, (_, d) => step.slice(directionsOf(d) * H, (directionsOf(d) + 1) * H)),
    ),
  );
  const y = batchMajor
    ? yBatchMajor
    : Array.from({ length: time }, (_, t) =>
        Array.from({ length: onnxDirs }, (_, d) => yBatchMajor.map((row) => row[t]![d]!)),
      );
  const state = (s: number[][][]) => {
    const byDirection = Array.from({ length: onnxDirs }, (_, d) => s[directionsOf(d)]!);
    return batchMajor ? swapFirstAxes(byDirection) : byDirection;
  };
  const predicted: Record<string, NestedArray> = {
    Y: y,
    Y_h: state(result.hn),
    ...(result.cn ? { Y_c: state(result.cn) } : {}),
  };

  const compared: string[] = [];
  c.nodeOutputs.forEach((output) => {
    const expected = c.outputs[output];
    if (output === '' || !expected) return;
    const mine = predicted[output]!;
    expect(flatten(mine).length, `${c.name} ${output} size`).toBe(expected.data.length);
    expect(maxAbsDiff(flatten(mine), Array.from(expected.data)), `${c.name} ${output}`).toBeLessThan(1e-5);
    compared.push(output);
  });
  expect(compared.length, `${c.name}: no outputs compared`).toBeGreaterThan(0);
}

/** Reorders the gate blocks (H rows each) of an ONNX matrix or vector into PyTorch order. */
function gateBlocks(t: ReferenceTensor, order: readonly number[], H: number): ReferenceTensor {
  const rowSize = t.shape.length === 2 ? t.shape[1]! : 1;
  const block = H * rowSize;
  const data = new Float32Array(t.data.length);
  order.forEach((from, to) => data.set(t.data.subarray(from * block, (from + 1) * block), to * block));
  return { shape: t.shape, data };
}

/** The d-th slice along the first axis. */
function slice(t: ReferenceTensor, d: number): ReferenceTensor {
  const shape = t.shape.slice(1);
  const size = shape.reduce((a, b) => a * b, 1);
  return { shape, data: t.data.slice(d * size, (d + 1) * size) };
}

function nested3(t: ReferenceTensor): number[][][] {
  if (t.shape.length !== 3) throw new Error(`expected rank 3, got [${t.shape}]`);
  return nest(t.shape, t.data) as number[][][];
}

/** [a][b][…] → [b][a][…]. */
function swapFirstAxes<T>(x: T[][]): T[][] {
  return x[0]!.map((_, j) => x.map((row) => row[j]!));
}

function oracleTensor(t: ReferenceTensor): OracleTensor {
  return { shape: t.shape, dtype: 'float32', data: t.data };
}
