// Dotted labels and merges against real PyTorch: nested modules whose state_dict loads as it is, and concat/add of pooled and recurrent values on padded batches.

import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';
import { initializeWeights } from '../src/weights/resolve.js';
import type { ModelIR } from '../src/ir/ir.js';
import { runPython, torchAvailable } from './torch/python.js';

/** The normative example of issue 10, as written there. */
const pooledClassifier = `
model PooledClassifier {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)

  tokens -> embedding: Embedding(vocab=5000, dim=64) -> l1: LSTM(hidden=64)
  l1 -> l2: LSTM(hidden=64)
  add(l1, l2) -> rnn: BiGRU(hidden=64)
  rnn -> avg: mean
  rnn -> top: max
  concat(avg, top) -> fc: Linear(3) -> output logits      # [batch, 256]
}
`;

/** Nested modules as a PyTorch user writes them: `encoder.*` and `head.*`, a merge of a pooled and a final state. */
const nestedTagger = `
model Nested {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)

  tokens -> encoder.embedding: Embedding(vocab=30, dim=8, padding_idx=0) -> encoder.rnn: BiLSTM(hidden=6, layers=2)
  encoder.rnn -> encoder.avg: mean
  encoder.rnn -> final: last
  concat(encoder.avg, final) -> head.proj: Linear(12) -> tanh -> head.out: Linear(3) -> output logits
  add(encoder.rnn, encoder.rnn) -> output states
}
`;

/** Shared by both torch modules: packed runs of a recurrent module, and the masked poolings seqc documents. */
const torchHelpers = `
import json, sys, torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
torch.set_default_dtype(torch.float64)

def packed(module, x, lengths):
    p = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    y, h = module(p)
    y, _ = pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])
    return y, h

def valid(x, lengths):
    return (torch.arange(x.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1)

def mean(x, lengths):
    return (x * valid(x, lengths)).sum(1) / lengths[:, None].to(x.dtype)

def maximum(x, lengths):
    return x.masked_fill(~valid(x, lengths), float('-inf')).max(1).values

def load(model, weights):
    state = {name: torch.tensor(w['data'], dtype=torch.float64).reshape(w['shape']) for name, w in weights.items()}
    model.load_state_dict(state, strict=True)
`;

const pooledTorch = `${torchHelpers}
class PooledClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(5000, 64)
        self.l1 = nn.LSTM(64, 64, batch_first=True)
        self.l2 = nn.LSTM(64, 64, batch_first=True)
        self.rnn = nn.GRU(64, 64, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(256, 3)

    def forward(self, tokens, lengths):
        x = self.embedding(tokens)
        l1, _ = packed(self.l1, x, lengths)
        l2, _ = packed(self.l2, l1, lengths)
        rnn, _ = packed(self.rnn, l1 + l2, lengths)
        return self.fc(torch.cat([mean(rnn, lengths), maximum(rnn, lengths)], -1))

args = json.load(sys.stdin)
model = PooledClassifier()
load(model, args['weights'])
with torch.no_grad():
    out = model(torch.tensor(args['tokens']), torch.tensor(args['lengths']))
print(json.dumps({'keys': list(model.state_dict().keys()), 'logits': out.tolist()}))
`;

const nestedTorch = `${torchHelpers}
class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(30, 8, padding_idx=0)
        self.rnn = nn.LSTM(8, 6, num_layers=2, batch_first=True, bidirectional=True)

class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(24, 12)
        self.out = nn.Linear(12, 3)

class Nested(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.head = Head()

    def forward(self, tokens, lengths):
        states, (h, _) = packed(self.encoder.rnn, self.encoder.embedding(tokens), lengths)
        final = torch.cat([h[-2], h[-1]], 1)
        merged = torch.cat([mean(states, lengths), final], -1)
        logits = self.head.out(torch.tanh(self.head.proj(merged)))
        return logits, (states + states) * valid(states, lengths)

args = json.load(sys.stdin)
model = Nested()
load(model, args['weights'])
with torch.no_grad():
    logits, states = model(torch.tensor(args['tokens']), torch.tensor(args['lengths']))
print(json.dumps({'keys': list(model.state_dict().keys()), 'logits': logits.tolist(), 'states': states.tolist()}))
`;

/** A padded batch: rows of different lengths, the padding filled with id 0. */
function paddedBatch(vocab: number, lengths: readonly number[]): { tokens: number[][]; lengths: number[] } {
  const time = Math.max(...lengths);
  let state = 12345;
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state;
  };
  const tokens = lengths.map((n) => Array.from({ length: time }, (_, t) => (t < n ? 1 + (next() % (vocab - 1)) : 0)));
  return { tokens, lengths: [...lengths] };
}

function weightsJson(ir: ModelIR): Record<string, { shape: readonly number[]; data: number[] }> {
  const weights = initializeWeights(ir.parameters, 0);
  return Object.fromEntries([...weights].map(([name, w]) => [name, { shape: w.shape, data: Array.from(w.data) }]));
}

async function runSeqc(
  source: string,
  batch: { tokens: number[][]; lengths: number[] },
  target: 'generic' | 'webgpu',
): Promise<{ ir: ModelIR; outputs: Record<string, ort.Tensor> }> {
  const result = compile(source, { sourceName: 'merge.seq', target });
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const session = await ort.InferenceSession.create(result.model!);
  const time = batch.tokens[0]!.length;
  const outputs = await session.run({
    tokens: new ort.Tensor('int64', BigInt64Array.from(batch.tokens.flat().map(BigInt)), [batch.tokens.length, time]),
    lengths: new ort.Tensor('int64', BigInt64Array.from(batch.lengths.map(BigInt)), [batch.lengths.length]),
  });
  return { ir: result.ir!, outputs };
}

function maxDifference(actual: ort.Tensor, expected: unknown): number {
  const flat = (expected as number[]).flat(3) as number[];
  expect(actual.data.length).toBe(flat.length);
  let worst = 0;
  (actual.data as Float32Array).forEach((v, i) => (worst = Math.max(worst, Math.abs(v - flat[i]!))));
  return worst;
}

describe.skipIf(!torchAvailable())('merges and dotted labels against PyTorch', () => {
  it.each(['generic', 'webgpu'] as const)(
    'the PooledClassifier of issue 10 matches nn.LSTM/nn.GRU with packed sequences, mean/max, add and cat (%s)',
    async (target) => {
      const batch = paddedBatch(5000, [7, 3, 5, 1]);
      const { ir, outputs } = await runSeqc(pooledClassifier, batch, target);
      const torch = runPython<{ keys: string[]; logits: number[][] }>(pooledTorch, {
        ...batch,
        weights: weightsJson(ir),
      });
      expect(torch.keys).toEqual(ir.parameters.map((p) => p.name));
      const delta = maxDifference(outputs.logits!, torch.logits);
      console.log(`PooledClassifier (${target}): max |Δ| vs PyTorch = ${delta.toExponential(2)}`);
      expect(delta).toBeLessThan(1e-5);
    },
    120_000,
  );

  it('dotted labels are the state_dict keys of nested modules, in order, and load as they are', async () => {
    const batch = paddedBatch(30, [4, 6, 2]);
    const { ir, outputs } = await runSeqc(nestedTagger, batch, 'generic');
    const torch = runPython<{ keys: string[]; logits: number[][]; states: number[][][] }>(nestedTorch, {
      ...batch,
      weights: weightsJson(ir),
    });
    expect(ir.parameters.map((p) => p.name)).toEqual(torch.keys);
    expect(torch.keys).toContain('encoder.rnn.weight_hh_l1_reverse');
    const logits = maxDifference(outputs.logits!, torch.logits);
    const states = maxDifference(outputs.states!, torch.states);
    console.log(
      `Nested: max |Δ| vs PyTorch = ${logits.toExponential(2)} (logits), ${states.toExponential(2)} (states)`,
    );
    expect(logits).toBeLessThan(1e-5);
    expect(states).toBeLessThan(1e-5);
  }, 120_000);
});
