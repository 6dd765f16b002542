// seqc against numbers nobody here produced: PyTorch's own torch.nn.LSTM / torch.nn.RNN runs (from
// candle's tests) loaded through a safetensors file with PyTorch state_dict names, and onnx/onnx's
// LSTM/GRU/RNN node tests, whose ONNX-layout weights are converted back to PyTorch layout here, in
// the test, from the documented gate orders, so that seqc's own conversion is what gets checked.

import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { compile } from '../src/index.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import { flatten, maxAbsDiff, nest } from './reference/float64.js';
import type { NestedArray, ReferenceTensor } from './reference/float64.js';
import { listOnnxNodeCases, loadCandleCase, loadOnnxNodeCase } from './reference/oracles.js';
import type { OnnxNodeCase, OracleTensor } from './reference/oracles.js';

/** The oracle files hold float32 numbers computed in float32 (PyTorch) or float64 (onnx's numpy). */
const TOLERANCE = 1e-5;

describe('PyTorch weight import (torch.nn outputs from candle)', () => {
  it.each(['lstm', 'rnn'] as const)(
    '%s: state_dict under a label, h0 (and c0) in; output, hn (and cn) out',
    async (kind) => {
      const c = loadCandleCase(kind);
      const label = kind;
      const weights = new Map<string, ReferenceTensor>();
      for (const [name, tensor] of c.weights) weights.set(`${label}.${name}`, tensor);
      const layer = kind === 'lstm' ? 'LSTM' : 'RNN';
      const spec = `model M {
      input x: float32[batch, time, ${c.inputSize}]
      x -> ${label}: ${layer}(hidden=${c.hiddenSize}, stateful=true) -> output y
      ${label} -> last -> output final
    }`;
      const feeds: Record<string, ort.Tensor> = {
        // PyTorch's input is time-major [T, B, F]; seqc's is batch-major.
        x: floatTensor(swapFirstAxes(nested3(c.input))),
        [`${label}.h0`]: floatTensor(nested3(c.h0)),
      };
      if (c.c0) feeds[`${label}.c0`] = floatTensor(nested3(c.c0));
      const out = await runSpec(spec, weights, feeds);

      const output = swapFirstAxes(nested3(c.output));
      expectClose('y', out['y'], output);
      expectClose('hn', out[`${label}.hn`], nested3(c.hn));
      expectClose('last', out['final'], nested3(c.hn)[0]!);
      if (c.cn) expectClose('cn', out[`${label}.cn`], nested3(c.cn));
      else expect(out[`${label}.cn`]).toBeUndefined();
    },
  );
});

describe('ONNX node tests as lowering checks (onnx/onnx regenerated cases)', () => {
  // Skipped cases: peepholes, which PyTorch's and seqc's LSTM do not have; and reverse-only
  // layers, which neither PyTorch nor seqc can express (a reverse direction exists only as the
  // backward half of a bidirectional layer).
  const skipped = (name: string) => name.includes('peephole') || name.includes('reverse');
  const cases = listOnnxNodeCases('regenerated').filter((name) => !skipped(name));

  it('finds the LSTM, GRU and RNN cases', () => {
    for (const expected of [
      'test_lstm_defaults',
      'test_lstm_with_initial_bias',
      'test_lstm_bidirectional',
      'test_gru_defaults',
      'test_gru_with_initial_bias',
      'test_gru_bidirectional',
      'test_simple_rnn_defaults',
      'test_simple_rnn_with_initial_bias',
      'test_simple_rnn_bidirectional',
    ]) {
      expect(cases).toContain(expected);
    }
  });

  it.each(cases)('%s', async (name) => {
    const compared = await checkNodeCase(loadOnnxNodeCase(name, 'regenerated'));
    expect(compared.length, `${name}: nothing compared`).toBeGreaterThan(0);
  });

  // The original backend files hold two cases the regenerated set lacks (longer sequences).
  const backendOnly = listOnnxNodeCases('backend').filter((name) => !skipped(name) && !cases.includes(name));

  it.each(backendOnly)('backend %s', async (name) => {
    const compared = await checkNodeCase(loadOnnxNodeCase(name, 'backend'));
    expect(compared.length, `${name}: nothing compared`).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------
// ONNX layout → PyTorch layout, and the equivalent seqc spec.

/**
 * PyTorch gate block g is ONNX gate block PYTORCH_FROM_ONNX[op][g]. ONNX LSTM gates are i,o,f,c
 * and PyTorch's i,f,g,o (g is ONNX's c); ONNX GRU gates are z,r,h and PyTorch's r,z,n.
 */
const PYTORCH_FROM_ONNX: Readonly<Record<string, readonly number[]>> = {
  LSTM: [0, 2, 3, 1],
  GRU: [1, 0, 2],
  RNN: [0],
};

const LAYERS: Readonly<Record<string, string>> = { LSTM: 'LSTM', GRU: 'GRU', RNN: 'RNN' };

/** Compiles the seqc equivalent of one ONNX node case, runs it and compares every output the case has. */
async function checkNodeCase(c: OnnxNodeCase): Promise<string[]> {
  const known = new Set(['hidden_size', 'direction', 'layout', 'linear_before_reset']);
  for (const key of Object.keys(c.attrs))
    if (!known.has(key)) throw new Error(`${c.name}: attribute ${key} has no seqc equivalent`);
  const order = PYTORCH_FROM_ONNX[c.op];
  if (!order) throw new Error(`${c.name}: ${c.op} is not a recurrent op`);
  const H = c.attrs['hidden_size'] as number;
  const direction = (c.attrs['direction'] as string | undefined) ?? 'forward';
  if (direction === 'reverse') throw new Error(`${c.name}: reverse-only layers have no seqc equivalent`);
  const bidirectional = direction === 'bidirectional';
  const batchMajor = c.attrs['layout'] === 1;
  const present = (input: string) => c.nodeInputs.includes(input) && c.inputs[input] !== undefined;
  for (const input of ['sequence_lens', 'initial_h', 'initial_c', 'P']) {
    if (present(input)) throw new Error(`${c.name}: input ${input} is not mapped here`);
  }

  // Weights: W [dirs, G·H, F] → weight_ih_l0(_reverse), R → weight_hh, B [dirs, 2·G·H] = [Wb; Rb].
  const W = c.inputs['W']!;
  const dirs = W.shape[0]!;
  const G = W.shape[1]!;
  const inputSize = W.shape[2]!;
  const hasBias = present('B');
  const weights = new Map<string, ReferenceTensor>();
  for (let d = 0; d < dirs; d++) {
    const suffix = d === 0 ? '_l0' : '_l0_reverse';
    weights.set(`rec.weight_ih${suffix}`, pytorchGates(slice(W, d), order, H));
    weights.set(`rec.weight_hh${suffix}`, pytorchGates(slice(c.inputs['R']!, d), order, H));
    if (hasBias) {
      const b = slice(c.inputs['B']!, d);
      weights.set(`rec.bias_ih${suffix}`, pytorchGates({ shape: [G], data: b.data.slice(0, G) }, order, H));
      weights.set(`rec.bias_hh${suffix}`, pytorchGates({ shape: [G], data: b.data.slice(G) }, order, H));
    }
  }

  // ONNX's GRU default is linear_before_reset=0, the Keras variant; PyTorch's GRU is 1.
  const gruArgs = c.op === 'GRU' ? `, reset_after=${c.attrs['linear_before_reset'] === 1 ? 'true' : 'false'}` : '';
  const layer = `${bidirectional ? 'Bi' : ''}${LAYERS[c.op]}(hidden=${H}, bias=${hasBias}${gruArgs}, stateful=true)`;
  const spec = `model Node {
    input x: float32[batch, time, ${inputSize}]
    x -> rec: ${layer} -> output y
    rec -> last -> output final
  }`;

  // X is [T, B, F] (layout 0) or [B, T, F] (layout 1); seqc's input is batch-major.
  const X = nested3(c.inputs['X']!);
  const x = batchMajor ? X : swapFirstAxes(X);
  const batch = x.length;
  const zeros = Array.from({ length: dirs }, () => Array.from({ length: batch }, () => new Array<number>(H).fill(0)));
  const feeds: Record<string, ort.Tensor> = { x: floatTensor(x), 'rec.h0': floatTensor(zeros) };
  if (c.op === 'LSTM') feeds['rec.c0'] = floatTensor(zeros);
  const out = await runSpec(spec, weights, feeds);

  const compared: string[] = [];
  const expectedY = c.outputs['Y'];
  if (c.nodeOutputs.includes('Y') && expectedY) {
    // Y is [T, dirs, B, H] (layout 0) or [B, T, dirs, H] (layout 1); seqc's is [B, T, dirs·H].
    const Y = nest(expectedY.shape, expectedY.data) as number[][][][];
    const byRow = batchMajor
      ? Y.map((steps) => steps.map((perDirection) => perDirection.flat()))
      : Y[0]![0]!.map((_, b) => Y.map((perDirection) => perDirection.flatMap((rows) => rows[b]!)));
    expectClose(`${c.name} Y`, out['y'], byRow);
    compared.push('Y');
  }
  for (const [onnxName, seqcName] of [
    ['Y_h', 'rec.hn'],
    ['Y_c', 'rec.cn'],
  ] as const) {
    const expected = c.outputs[onnxName];
    if (!c.nodeOutputs.includes(onnxName) || !expected) continue;
    // Y_h is [dirs, B, H] (layout 0) or [B, dirs, H] (layout 1); seqc's hn is PyTorch's [dirs, B, H].
    const state = nested3(expected);
    const byDirection = batchMajor ? swapFirstAxes(state) : state;
    expectClose(`${c.name} ${onnxName}`, out[seqcName], byDirection);
    compared.push(onnxName);
    if (onnxName === 'Y_h') {
      // `last` is the final forward state ++ the final backward state.
      const final = byDirection[0]!.map((_, b) => byDirection.flatMap((rows) => rows[b]!));
      expectClose(`${c.name} last`, out['final'], final);
    }
  }
  return compared;
}

/** Reorders the gate blocks (H rows each) of an ONNX matrix or vector into PyTorch's order. */
function pytorchGates(t: ReferenceTensor, order: readonly number[], H: number): ReferenceTensor {
  const rowSize = t.shape.length === 2 ? t.shape[1]! : 1;
  const block = H * rowSize;
  const data = new Float32Array(t.data.length);
  order.forEach((from, to) => data.set(t.data.subarray(from * block, (from + 1) * block), to * block));
  return { shape: [...t.shape], data };
}

/** The d-th slice along the first axis. */
function slice(t: OracleTensor, d: number): ReferenceTensor {
  const shape = t.shape.slice(1);
  const size = shape.reduce((a, b) => a * b, 1);
  return { shape, data: t.data.slice(d * size, (d + 1) * size) };
}

// ---------------------------------------------------------------------------------------------
// Running specs and comparing.

interface Output {
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

async function runSpec(
  spec: string,
  weights: ReadonlyMap<string, ReferenceTensor>,
  feeds: Record<string, ort.Tensor>,
): Promise<Record<string, Output>> {
  const result = compile(spec, {
    sourceName: 'oracle.seq',
    weights: { bytes: writeSafetensors(weights), name: 'oracle.safetensors' },
  });
  const errors = result.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code}: ${d.message}`);
  expect(errors).toEqual([]);
  const session = await ort.InferenceSession.create(result.model!, { logSeverityLevel: 3 });
  try {
    const results = await session.run(feeds);
    const out: Record<string, Output> = {};
    for (const [name, value] of Object.entries(results)) {
      out[name] = { dims: value.dims.map(Number), data: Float32Array.from(value.data as Float32Array) };
    }
    return out;
  } finally {
    await session.release();
  }
}

/** The largest error seen, printed when SEQC_NUMERIC_REPORT is set. */
let worstError = 0;

afterAll(() => {
  if (process.env['SEQC_NUMERIC_REPORT']) console.log(`oracles: largest error ${worstError.toExponential(2)}`);
});

function expectClose(what: string, actual: Output | undefined, expected: NestedArray): void {
  expect(actual, `${what}: no such output`).toBeDefined();
  expect(actual!.dims, `${what}: dims`).toEqual(shapeOf(expected));
  const error = maxAbsDiff(Array.from(actual!.data), flatten(expected));
  worstError = Math.max(worstError, error);
  expect(error, what).toBeLessThan(TOLERANCE);
}

function floatTensor(x: NestedArray): ort.Tensor {
  return new ort.Tensor('float32', Float32Array.from(flatten(x)), shapeOf(x));
}

function shapeOf(x: NestedArray | number): number[] {
  if (typeof x === 'number') return [];
  return [x.length, ...(x.length > 0 ? shapeOf(x[0] as NestedArray | number) : [])];
}

function nested3(t: OracleTensor): number[][][] {
  if (t.shape.length !== 3) throw new Error(`expected rank 3, got [${t.shape}]`);
  return nest(t.shape, t.data) as number[][][];
}

/** [a][b][…] → [b][a][…]. */
function swapFirstAxes<T>(x: T[][]): T[][] {
  return x[0]!.map((_, j) => x.map((row) => row[j]!));
}
