// LSTM(proj=P) against real PyTorch: nn.LSTM(proj_size=P), one or two layers, one or two directions, with packed lengths and states.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import type { WeightTensor } from '../src/weights/types.js';
import { runPython, torchAvailable } from './torch/python.js';

const TOLERANCE = 1e-5;

interface Json {
  readonly shape: number[];
  readonly data: number[];
}

interface Case {
  readonly seed: number;
  readonly batch: number;
  readonly time: number;
  readonly features: number;
  readonly hidden: number;
  readonly proj: number;
  readonly layers: number;
  readonly bidirectional: boolean;
  readonly lengths?: number[];
  readonly stateful?: boolean;
  readonly tagger?: boolean;
  readonly vocab?: number;
  readonly tags?: number;
}

interface TorchResult {
  readonly inputs: Record<string, Json>;
  readonly state: Record<string, Json>;
  readonly outputs: Record<string, Json>;
}

const script = readFileSync(join(import.meta.dirname, 'torch', 'projected.py'), 'utf8');

function layerText(c: Case): string {
  return `${c.bidirectional ? 'BiLSTM' : 'LSTM'}(hidden=${c.hidden}, proj=${c.proj}, layers=${c.layers}${c.stateful ? ', stateful=true' : ''})`;
}

function specOf(c: Case): string {
  if (c.tagger) {
    return `model Tagger {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=${c.vocab!}, dim=${c.features}, padding_idx=0)
    -> conv: Conv1d(out=${c.features}, kernel=3, padding=1) -> relu
    -> rnn: ${layerText(c)} -> emissions: Linear(${c.tags!}) -> output y
}`;
  }
  return `model Projected {
  input x: float32[batch, time, ${c.features}]
${c.lengths === undefined ? '' : '  input lengths: lengths(x)\n'}  x -> rnn: ${layerText(c)} -> output y
  rnn -> last -> output l
}`;
}

async function compare(c: Case, torch: TorchResult): Promise<number> {
  const weights = new Map<string, WeightTensor>(
    Object.entries(torch.state).map(([name, t]) => [name, { shape: t.shape, data: Float32Array.from(t.data) }]),
  );
  const result = compile(specOf(c), {
    sourceName: 'projected.seq',
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
  let worst = 0;
  for (const [name, expected] of Object.entries(torch.outputs)) {
    const got = outs[name]!;
    expect(got.dims.map(Number), name).toEqual(expected.shape);
    const data = got.data as Float32Array;
    const delta = expected.data.reduce((m, v, i) => Math.max(m, Math.abs(v - data[i]!)), 0);
    expect(delta, name).toBeLessThan(TOLERANCE);
    worst = Math.max(worst, delta);
  }
  return worst;
}

const base = { batch: 4, time: 6, features: 5, hidden: 7, proj: 3 };
const cases: Case[] = [
  { ...base, seed: 1, layers: 1, bidirectional: false },
  { ...base, seed: 2, layers: 2, bidirectional: false, lengths: [6, 2, 4, 1] },
  { ...base, seed: 3, layers: 1, bidirectional: true, lengths: [6, 2, 4, 1] },
  { ...base, seed: 4, layers: 2, bidirectional: true },
  { ...base, seed: 5, layers: 2, bidirectional: true, lengths: [3, 6, 1, 5] },
  { ...base, seed: 6, layers: 2, bidirectional: true, lengths: [3, 6, 1, 5], stateful: true },
  { ...base, seed: 7, layers: 1, bidirectional: false, stateful: true },
  {
    ...base,
    seed: 8,
    layers: 2,
    bidirectional: true,
    lengths: [6, 3, 1, 2],
    tagger: true,
    vocab: 20,
    tags: 4,
    features: 6,
  },
];

describe.skipIf(!torchAvailable())('LSTM(proj=P) against PyTorch nn.LSTM(proj_size=P)', () => {
  let results: TorchResult[] | undefined;
  const torchResults = (): TorchResult[] => (results ??= runPython<TorchResult[]>(script, cases));
  let worst = 0;

  it.each(
    cases.map(
      (c, i) =>
        [
          `${c.tagger ? 'Embedding -> Conv1d -> relu -> ' : ''}${layerText(c)}${c.lengths ? ' with lengths' : ''}`,
          i,
        ] as const,
    ),
  )('%s', async (_, i) => {
    worst = Math.max(worst, await compare(cases[i]!, torchResults()[i]!));
    if (i === cases.length - 1) console.log(`LSTM(proj) vs PyTorch: max |Δ| = ${worst.toExponential(2)}`);
  });
});
