// Conv1d against real PyTorch: nn.Conv1d over every argument, with lengths through a packed LSTM and mean pooling, lengths a Conv1d changes, and a tagger chain.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import type { WeightTensor } from '../src/weights/types.js';
import { compileAndEmit, maxAbsDiff, runEmitted, runOnnx, type Feeds } from './torch/emitted.js';
import { runPython, torchAvailable } from './torch/python.js';

const TOLERANCE = 1e-5;

interface Json {
  readonly shape: number[];
  readonly data: number[];
}

interface Conv {
  readonly out: number;
  readonly kernel: number;
  readonly padding: number;
  readonly stride: number;
  readonly dilation: number;
  readonly bias: boolean;
}

interface Case {
  readonly kind: 'conv' | 'tagger' | 'derived';
  readonly seed: number;
  readonly batch: number;
  readonly time: number;
  readonly features: number;
  readonly conv: Conv;
  /** For `derived`: the Conv1d after the first, reading the lengths the first derives. */
  readonly conv2?: Conv;
  readonly lengths?: number[];
  readonly hidden?: number;
  readonly vocab?: number;
  readonly tags?: number;
}

interface TorchResult {
  readonly inputs: Record<string, Json>;
  readonly state: Record<string, Json>;
  readonly outputs: Record<string, Json>;
  /** For `derived`: each row's length after the first Conv1d, by nn.Conv1d's formula. */
  readonly lengths?: number[];
}

const script = readFileSync(join(import.meta.dirname, 'torch', 'conv1d.py'), 'utf8');

function convText(c: Conv): string {
  return `Conv1d(out=${c.out}, kernel=${c.kernel}, padding=${c.padding}, stride=${c.stride}, dilation=${c.dilation}, bias=${c.bias})`;
}

function specOf(c: Case, fixedTime: boolean): string {
  const time = fixedTime ? String(c.time) : 'time';
  if (c.kind === 'tagger') {
    return `model Tagger {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=${c.vocab!}, dim=${c.features}, padding_idx=0)
    -> conv: ${convText(c.conv)} -> relu
    -> rnn: BiLSTM(hidden=${c.hidden!}, layers=2) -> emissions: Linear(${c.tags!}) -> output y
}`;
  }
  if (c.kind === 'derived') {
    return `model Conv {
  input x: float32[batch, ${time}, ${c.features}]
  input lengths: lengths(x)
  x -> conv: ${convText(c.conv)} -> output y
  conv -> mean -> output m
  conv -> last -> output l
  conv -> max -> output mx
  conv -> rnn: BiLSTM(hidden=${c.hidden!}) -> output r
  rnn -> last -> output h
  conv -> conv2: ${convText(c.conv2!)} -> output y2
  conv2 -> mean -> output m2
}`;
  }
  if (c.lengths === undefined) {
    return `model Conv {
  input x: float32[batch, ${time}, ${c.features}]
  x -> conv: ${convText(c.conv)} -> output y
}`;
  }
  return `model Conv {
  input x: float32[batch, ${time}, ${c.features}]
  input lengths: lengths(x)
  x -> conv: ${convText(c.conv)} -> output y
  conv -> mean -> output m
  conv -> rnn: LSTM(hidden=${c.hidden!}) -> output r
}`;
}

/** Compiles the case's spec with PyTorch's state_dict and runs it on PyTorch's inputs; returns the largest |Δ| per output. */
async function compare(
  c: Case,
  torch: TorchResult,
  fixedTime: boolean,
  target: 'generic' | 'webgpu' = 'generic',
): Promise<Record<string, number>> {
  const weights = new Map<string, WeightTensor>(
    Object.entries(torch.state).map(([name, t]) => [name, { shape: t.shape, data: Float32Array.from(t.data) }]),
  );
  const result = compile(specOf(c, fixedTime), {
    sourceName: 'conv.seq',
    target,
    weights: { bytes: writeSafetensors(weights), name: 'weights.safetensors' },
  });
  expect(result.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code}: ${d.message}`)).toEqual([]);
  const session = await ort.InferenceSession.create(result.model!, { logSeverityLevel: 3 });
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(torch.inputs)) {
    feeds[name] =
      name === 'tokens'
        ? new ort.Tensor('int64', BigInt64Array.from(t.data.map((v) => BigInt(v))), t.shape)
        : new ort.Tensor('float32', Float32Array.from(t.data), t.shape);
  }
  if (c.lengths !== undefined)
    feeds['lengths'] = new ort.Tensor('int64', BigInt64Array.from(c.lengths.map(BigInt)), [c.lengths.length]);
  const outs = await session.run(feeds);
  const deltas: Record<string, number> = {};
  for (const [name, expected] of Object.entries(torch.outputs)) {
    const got = outs[name]!;
    expect(got.dims.map(Number), name).toEqual(expected.shape);
    const data = got.data as Float32Array;
    deltas[name] = expected.data.reduce((m, v, i) => Math.max(m, Math.abs(v - data[i]!)), 0);
  }
  return deltas;
}

const conv = (kernel: number, padding: number, stride: number, dilation: number, bias: boolean): Conv => ({
  out: 5,
  kernel,
  padding,
  stride,
  dilation,
  bias,
});

const plain: Case[] = [
  conv(3, 0, 1, 1, true),
  conv(3, 1, 1, 1, true),
  conv(2, 2, 2, 1, false),
  conv(3, 1, 1, 2, true),
  conv(5, 3, 3, 2, false),
  conv(1, 0, 1, 1, true),
  conv(4, 0, 2, 3, true),
].map((c, i) => ({ kind: 'conv', seed: i, batch: 3, time: 11, features: 4, conv: c }));

const withLengths: Case[] = [
  conv(3, 1, 1, 1, true),
  conv(3, 2, 1, 2, false),
  conv(1, 0, 1, 1, true),
  conv(5, 2, 1, 1, true),
].map((c, i) => ({
  kind: 'conv',
  seed: 100 + i,
  batch: 4,
  time: 7,
  features: 3,
  conv: c,
  lengths: [7, 4, 1, 2],
  hidden: 6,
}));

// Convolutions that change each row's length: strided, dilated, unpadded, over-padded. The lengths
// include rows the first Conv1d leaves with 0 steps and with 1 step.
const derived: Case[] = [
  conv(3, 0, 2, 1, true),
  conv(3, 1, 1, 2, false),
  conv(2, 0, 1, 1, true),
  conv(4, 3, 3, 1, true),
  conv(5, 2, 2, 2, true),
].map((c, i) => ({
  kind: 'derived',
  seed: 200 + i,
  batch: 5,
  time: 9,
  features: 3,
  conv: c,
  conv2: { ...conv(2, 1, 2, 1, true), out: 3 },
  lengths: [9, 4, 2, 1, 3],
  hidden: 4,
}));

const tagger: Case = {
  kind: 'tagger',
  seed: 7,
  batch: 3,
  time: 6,
  features: 8,
  conv: { ...conv(3, 1, 1, 1, true), out: 8 },
  lengths: [6, 3, 1],
  hidden: 5,
  vocab: 30,
  tags: 4,
};

describe.skipIf(!torchAvailable())('Conv1d against PyTorch', () => {
  const cases = [...plain, ...withLengths, ...derived, tagger];
  let results: TorchResult[] | undefined;
  const torchResults = (): TorchResult[] => (results ??= runPython<TorchResult[]>(script, cases));
  let worst = 0;
  let worstDerived = 0;

  it.each(plain.map((c, i) => [convText(c.conv), i] as const))('%s, symbolic and fixed time', async (_, i) => {
    for (const fixedTime of [false, true]) {
      const deltas = await compare(plain[i]!, torchResults()[i]!, fixedTime);
      for (const d of Object.values(deltas)) {
        worst = Math.max(worst, d);
        expect(d).toBeLessThan(TOLERANCE);
      }
    }
  });

  it.each(withLengths.map((c, i) => [convText(c.conv), i] as const))(
    '%s with lengths: zeroed padding, packed LSTM after it, mean over valid steps',
    async (_, i) => {
      // The webgpu target counts lengths from the float data instead of Shape (src/lower/webgpu.ts).
      for (const target of ['generic', 'webgpu'] as const) {
        const deltas = await compare(withLengths[i]!, torchResults()[plain.length + i]!, false, target);
        expect(Object.keys(deltas).sort()).toEqual(['m', 'r', 'y']);
        for (const d of Object.values(deltas)) {
          worst = Math.max(worst, d);
          expect(d, target).toBeLessThan(TOLERANCE);
        }
      }
    },
  );

  it('the derived lengths include rows left with 0 and with 1 step', () => {
    const all = derived.map((_, i) => torchResults()[plain.length + withLengths.length + i]!.lengths!);
    expect(all.flat()).toContain(0);
    expect(all.flat()).toContain(1);
    // ⌊(L − 3)/2⌋ + 1, at least 0, for kernel=3, stride=2 without padding.
    expect(all[0]).toEqual([4, 1, 0, 0, 1]);
  });

  it.each(derived.map((c, i) => [convText(c.conv), i] as const))(
    '%s with lengths: new lengths for mean, last, max, a packed BiLSTM, a second Conv1d and per-step outputs',
    async (_, i) => {
      for (const fixedTime of [false, true]) {
        const deltas = await compare(derived[i]!, torchResults()[plain.length + withLengths.length + i]!, fixedTime);
        expect(Object.keys(deltas).sort()).toEqual(['h', 'l', 'm', 'm2', 'mx', 'r', 'y', 'y2']);
        for (const [name, d] of Object.entries(deltas)) {
          worstDerived = Math.max(worstDerived, d);
          expect(d, `${name}, fixed time ${fixedTime}`).toBeLessThan(TOLERANCE);
        }
      }
    },
  );

  it('the emitted PyTorch module computes the same new lengths as the graph', async () => {
    // Rows keep at least one step here: the emitted module packs sequences, which PyTorch refuses for a length of 0.
    const c = derived[0]!;
    const emitted = compileAndEmit(specOf(c, false), 5);
    expect(emitted.python).toContain('rounding_mode="floor"');
    const x = Array.from({ length: c.batch * c.time * c.features }, (_, i) => Math.fround(Math.sin(i)));
    const feeds: Feeds = {
      x: { dtype: 'float32', shape: [c.batch, c.time, c.features], data: x },
      lengths: { dtype: 'int64', shape: [c.batch], data: [9, 4, 3, 5, 6] },
    };
    const onnx = await runOnnx(emitted.compiled.model!, feeds);
    const torch = runEmitted(emitted, [{ method: 'forward', inputs: feeds }]).results[0]!;
    for (const output of emitted.ir.outputs) {
      const d = maxAbsDiff(torch[output.name]!, onnx[output.name]!);
      worstDerived = Math.max(worstDerived, d);
      expect(d, output.name).toBeLessThan(TOLERANCE);
    }
    console.log(`Conv1d with new lengths vs PyTorch: max |Δ| = ${worstDerived.toExponential(2)}`);
  });

  it('Embedding -> Conv1d -> relu -> BiLSTM(layers=2) -> Linear with lengths', async () => {
    for (const target of ['generic', 'webgpu'] as const) {
      const deltas = await compare(tagger, torchResults()[cases.length - 1]!, false, target);
      worst = Math.max(worst, deltas['y']!);
      expect(deltas['y'], target).toBeLessThan(TOLERANCE);
    }
    console.log(`Conv1d vs PyTorch: max |Δ| = ${worst.toExponential(2)}`);
  });
});
