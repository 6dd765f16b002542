// CRF(tags=N): seqc's Viterbi graph run in onnxruntime-node against a float64 Viterbi written from pytorch-crf's documented algorithm, and the full tagger chain against real torch modules.

import * as ort from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { compile, type CompileOptions } from '../src/index.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import { runPython, torchAvailable } from './torch/python.js';

/**
 * Viterbi decoding as pytorch-crf's `CRF.decode(emissions, mask)` documents it, written here in float64
 * torch: score = start + E[0]; for each later step, score_j = max_i(score_i + T[i, j]) + E[t, j] where
 * the mask is on (kept otherwise), remembering the argmax (torch.max: the first index on ties); then
 * the best last tag of score + end, followed back through the remembered indices over the row's own
 * steps. Prints each row's path padded with 0 to the time axis, and its score.
 */
const viterbiPython = String.raw`
import json, sys, torch

def viterbi(emissions, lengths, start, end, transitions):
    batch, time, tags = emissions.shape
    mask = torch.arange(time).unsqueeze(0) < lengths.unsqueeze(1)
    score = start + emissions[:, 0]
    history = []
    for t in range(1, time):
        candidates = score.unsqueeze(2) + transitions.unsqueeze(0)
        best, indices = candidates.max(dim=1)
        score = torch.where(mask[:, t].unsqueeze(1), best + emissions[:, t], score)
        history.append(indices)
    score = score + end
    best_score, best_last = score.max(dim=1)
    paths = []
    for b in range(batch):
        tag = int(best_last[b])
        path = [tag]
        for indices in reversed(history[: int(lengths[b]) - 1]):
            tag = int(indices[b, tag])
            path.append(tag)
        path.reverse()
        paths.append(path + [0] * (time - len(path)))
    return paths, best_score.tolist()
`;

const casesScript = `${viterbiPython}
cases = json.load(sys.stdin)
out = []
for c in cases:
    t = lambda k: torch.tensor(c[k], dtype=torch.float64)
    paths, scores = viterbi(t('emissions'), torch.tensor(c['lengths']), t('start'), t('end'), t('transitions'))
    out.append({'paths': paths, 'scores': scores})
print(json.dumps(out))
`;

/** A seeded stream of floats in [-1, 1) (a small LCG: the test's data, not seqc's initializer). */
function randomStream(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32) * 2 - 1;
  };
}

interface CrfCase {
  readonly tags: number;
  readonly batch: number;
  readonly time: number;
  readonly lengths: number[];
  readonly emissions: number[][][];
  readonly start: number[];
  readonly end: number[];
  readonly transitions: number[][];
}

/** Random float32-exact values (scaled by `scale`), or small integers where `ties` asks for tied paths. */
function makeCase(seed: number, tags: number, lengths: number[], time: number, ties: boolean): CrfCase {
  const random = randomStream(seed);
  const value = (scale: number): number => (ties ? Math.round(random() * 1.4) : Math.fround(random() * scale));
  const batch = lengths.length;
  const emissions = Array.from({ length: batch }, (_, b) =>
    Array.from({ length: time }, (_, t) =>
      // Steps past a row's length hold large values, so that any leak into the path or score shows.
      Array.from({ length: tags }, (_, j) => (t < lengths[b]! ? value(3) : 50 + j * (b + 1))),
    ),
  );
  return {
    tags,
    batch,
    time,
    lengths,
    emissions,
    start: Array.from({ length: tags }, () => value(1)),
    end: Array.from({ length: tags }, () => value(1)),
    transitions: Array.from({ length: tags }, () => Array.from({ length: tags }, () => value(1))),
  };
}

function crfSpec(tags: number, withLengths: boolean): string {
  return [
    'model Decoder {',
    `  input emissions: float32[batch, time, ${tags}]`,
    ...(withLengths ? ['  input lengths: lengths(emissions)'] : []),
    `  emissions -> crf: CRF(tags=${tags}, score=true) -> output tags`,
    '}',
    '',
  ].join('\n');
}

function crfWeights(c: CrfCase): Uint8Array {
  return writeSafetensors([
    ['crf.start_transitions', { shape: [c.tags], data: Float32Array.from(c.start) }],
    ['crf.end_transitions', { shape: [c.tags], data: Float32Array.from(c.end) }],
    ['crf.transitions', { shape: [c.tags, c.tags], data: Float32Array.from(c.transitions.flat()) }],
  ]);
}

/** Where a graph runs: onnxruntime-node's CPU provider, or onnxruntime-web's wasm provider (which runs under Node too). */
type Provider = 'cpu' | 'wasm';

async function runCrf(
  c: CrfCase,
  withLengths: boolean,
  options: Pick<CompileOptions, 'opset'> = {},
  provider: Provider = 'cpu',
): Promise<{ paths: number[][]; scores: number[] }> {
  const result = compile(crfSpec(c.tags, withLengths), {
    sourceName: 'crf.seq',
    weights: { bytes: crfWeights(c), name: 'crf.safetensors' },
    ...options,
  });
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const runtime = provider === 'cpu' ? ort : ortWeb;
  const session =
    provider === 'cpu'
      ? await ort.InferenceSession.create(result.model!, { logSeverityLevel: 3 })
      : await ortWeb.InferenceSession.create(result.model!, { executionProviders: ['wasm'], logSeverityLevel: 3 });
  try {
    const feeds: Record<string, ort.Tensor> = {
      emissions: new runtime.Tensor('float32', Float32Array.from(c.emissions.flat(2)), [c.batch, c.time, c.tags]),
    };
    if (withLengths)
      feeds.lengths = new runtime.Tensor('int64', BigInt64Array.from(c.lengths.map(BigInt)), [c.lengths.length]);
    const out = await (session as ort.InferenceSession).run(feeds);
    const tags = out.tags!;
    expect(tags.type).toBe('int64');
    expect(tags.dims).toEqual([c.batch, c.time]);
    const flat = Array.from(tags.data as BigInt64Array, Number);
    const paths = Array.from({ length: c.batch }, (_, b) => flat.slice(b * c.time, (b + 1) * c.time));
    return { paths, scores: Array.from(out['crf.score']!.data as Float32Array) };
  } finally {
    await session.release();
  }
}

function maxAbs(a: readonly number[], b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
}

const SCORE_TOLERANCE = 1e-5;

describe.skipIf(!torchAvailable())('CRF against a float64 Viterbi written from pytorch-crf', () => {
  const time = 7;
  const cases: { name: string; c: CrfCase; withLengths: boolean }[] = [
    { name: 'N=2, lengths 7, 1, 4', c: makeCase(1, 2, [7, 1, 4], time, false), withLengths: true },
    { name: 'N=3, lengths 1, 7, 2, 5', c: makeCase(2, 3, [1, 7, 2, 5], time, false), withLengths: true },
    { name: 'N=5, lengths 6, 7, 1, 3, 7', c: makeCase(3, 5, [6, 7, 1, 3, 7], time, false), withLengths: true },
    { name: 'N=9, lengths 7, 2, 1, 6', c: makeCase(4, 9, [7, 2, 1, 6], time, false), withLengths: true },
    { name: 'N=4, no lengths input', c: makeCase(5, 4, [time, time, time], time, false), withLengths: false },
    { name: 'N=4, tied paths (small integers)', c: makeCase(6, 4, [7, 5, 1, 3], time, true), withLengths: true },
    { name: 'N=3, a sequence of one step', c: makeCase(7, 3, [1, 1], 1, false), withLengths: true },
  ];
  const reference = runPython<{ paths: number[][]; scores: number[] }[]>(
    casesScript,
    cases.map(({ c }) => c),
  );
  let worst = 0;

  for (const [index, { name, c, withLengths }] of cases.entries()) {
    it(`${name}: the same paths, 0 past each length, scores within ${SCORE_TOLERANCE}`, async () => {
      const expected = reference[index]!;
      const got = await runCrf(c, withLengths);
      expect(got.paths).toEqual(expected.paths);
      const delta = maxAbs(got.scores, expected.scores);
      worst = Math.max(worst, delta);
      expect(delta).toBeLessThan(SCORE_TOLERANCE);
    });
  }

  it('the tied case really has ties, so it checks first-index tie breaking', () => {
    // With small integer scores many paths share the best score; a wrong tie rule picks another path.
    const c = cases.find((x) => x.name.includes('tied'))!.c;
    const distinct = new Set([...c.transitions.flat(), ...c.emissions.flat(2).filter((v) => v < 50)]);
    expect(distinct.size).toBeLessThanOrEqual(3);
  });

  it('gives the same answer at opsets 14, 18 and 21 (ReduceMax takes its axes differently)', async () => {
    const { c, withLengths } = cases[3]!;
    const expected = reference[3]!;
    for (const opset of [14, 18, 21]) {
      const got = await runCrf(c, withLengths, { opset });
      expect(got.paths).toEqual(expected.paths);
      expect(maxAbs(got.scores, expected.scores)).toBeLessThan(SCORE_TOLERANCE);
    }
  });

  it("runs on onnxruntime-web's wasm provider with the same paths", async () => {
    for (const index of [0, 3, 5]) {
      const { c, withLengths } = cases[index]!;
      const got = await runCrf(c, withLengths, {}, 'wasm');
      expect(got.paths).toEqual(reference[index]!.paths);
      expect(maxAbs(got.scores, reference[index]!.scores)).toBeLessThan(SCORE_TOLERANCE);
    }
  });

  it('reports the largest score difference', () => {
    if (process.env.SEQC_NUMERIC_REPORT !== undefined) console.log(`CRF vs float64 Viterbi: max |Δscore| ${worst}`);
    expect(worst).toBeLessThan(SCORE_TOLERANCE);
  });
});

/**
 * The tagger chain in torch: nn.Embedding → bidirectional nn.LSTM over packed sequences → nn.Linear,
 * in float64 from float32 weights, then the reference Viterbi over the emissions. Prints the
 * state_dict (float32 values) for seqc, the paths and the scores.
 */
const taggerScript = `${viterbiPython}
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
args = json.load(sys.stdin)
torch.manual_seed(args['seed'])
vocab, dim, hidden, tags = args['vocab'], args['dim'], args['hidden'], args['tags']
class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.rnn = nn.LSTM(dim, hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.emissions = nn.Linear(2 * hidden, tags)
model = Tagger()
crf = {
    'crf.start_transitions': torch.empty(tags).uniform_(-0.5, 0.5),
    'crf.end_transitions': torch.empty(tags).uniform_(-0.5, 0.5),
    'crf.transitions': torch.empty(tags, tags).uniform_(-0.5, 0.5),
}
model = model.double()
tokens = torch.tensor(args['tokens'])
lengths = torch.tensor(args['lengths'])
with torch.no_grad():
    x = model.embedding(tokens)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    y, _ = model.rnn(packed)
    y, _ = pad_packed_sequence(y, batch_first=True, total_length=tokens.shape[1])
    emissions = model.emissions(y)
    c = {k: v.double() for k, v in crf.items()}
    paths, scores = viterbi(emissions, lengths, c['crf.start_transitions'], c['crf.end_transitions'], c['crf.transitions'])
state = {k: {'shape': list(v.shape), 'data': v.float().flatten().tolist()} for k, v in model.state_dict().items()}
state.update({k: {'shape': list(v.shape), 'data': v.flatten().tolist()} for k, v in crf.items()})
print(json.dumps({'state': state, 'paths': paths, 'scores': scores}))
`;

describe.skipIf(!torchAvailable())('the tagger chain Embedding → BiLSTM → Linear → CRF against torch', () => {
  it('gives torch’s Viterbi paths over packed BiLSTM emissions, and scores within 1e-5', async () => {
    const [vocab, dim, hidden, tags, time] = [30, 6, 5, 7, 9];
    const lengths = [9, 4, 1, 7, 2];
    const random = randomStream(11);
    const tokens = lengths.map((n) =>
      Array.from({ length: time }, (_, t) => (t < n ? 1 + Math.floor(((random() + 1) / 2) * (vocab - 1)) : 0)),
    );
    const torchOut = runPython<{
      state: Record<string, { shape: number[]; data: number[] }>;
      paths: number[][];
      scores: number[];
    }>(taggerScript, { seed: 3, vocab, dim, hidden, tags, tokens, lengths });
    // Parameters the weights were initialized with are float32 in seqc: the reference ran from the same values.
    const weights = writeSafetensors(
      Object.entries(torchOut.state).map(([name, t]) => [name, { shape: t.shape, data: Float32Array.from(t.data) }]),
    );
    const spec = `model Tagger {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens
    -> embedding: Embedding(vocab=${vocab}, dim=${dim}, padding_idx=0)
    -> rnn: BiLSTM(hidden=${hidden}, layers=2)
    -> emissions: Linear(${tags})
    -> crf: CRF(tags=${tags}, score=true)
    -> output tags
}
`;
    const result = compile(spec, { sourceName: 'tagger.seq', weights: { bytes: weights, name: 'tagger.safetensors' } });
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const session = await ort.InferenceSession.create(result.model!, { logSeverityLevel: 3 });
    try {
      const out = await session.run({
        tokens: new ort.Tensor('int64', BigInt64Array.from(tokens.flat().map(BigInt)), [lengths.length, time]),
        lengths: new ort.Tensor('int64', BigInt64Array.from(lengths.map(BigInt)), [lengths.length]),
      });
      const flat = Array.from(out.tags!.data as BigInt64Array, Number);
      const paths = lengths.map((_, b) => flat.slice(b * time, (b + 1) * time));
      expect(paths).toEqual(torchOut.paths);
      const delta = maxAbs(Array.from(out['crf.score']!.data as Float32Array), torchOut.scores);
      if (process.env.SEQC_NUMERIC_REPORT !== undefined) console.log(`tagger chain vs torch: max |Δscore| ${delta}`);
      expect(delta).toBeLessThan(1e-5);
    } finally {
      await session.release();
    }
  });
});

describe('CRF in the checker, the IR and the targets', () => {
  const tagger = `model Tagger {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> embedding: Embedding(vocab=20, dim=4) -> emissions: Linear(3) -> crf: CRF(3, score=true) -> output tags
}
`;

  it('types the path int64[batch, time] with the lengths, adds crf.score float32[batch], and owns pytorch-crf’s parameters', () => {
    const { ir, diagnostics } = compile(tagger);
    expect(diagnostics).toEqual([]);
    const crf = ir!.ops.find((o) => o.kind === 'crf')!;
    expect(crf.output.type).toEqual({
      dtype: 'int64',
      dims: [
        { kind: 'symbol', name: 'batch' },
        { kind: 'symbol', name: 'time' },
      ],
      hasTime: true,
      lengths: 'lengths',
    });
    expect(ir!.outputs.map((o) => [o.name, o.type.dtype, o.type.dims.length])).toEqual([
      ['crf.score', 'float32', 1],
      ['tags', 'int64', 2],
    ]);
    expect(ir!.parameters.filter((p) => p.owner === 'crf').map((p) => [p.name, p.shape])).toEqual([
      ['crf.start_transitions', [3]],
      ['crf.end_transitions', [3]],
      ['crf.transitions', [3, 3]],
    ]);
  });

  it('has no score output unless asked', () => {
    const { ir } = compile(tagger.replace(', score=true', ''));
    expect(ir!.outputs.map((o) => o.name)).toEqual(['tags']);
  });

  it('is refused on the webgpu target with SEQ050 naming the layer', () => {
    const { diagnostics } = compile(tagger, { target: 'webgpu' });
    const layer = diagnostics.find((d) => d.code === 'SEQ050' && d.facts?.names?.includes('crf'));
    expect(layer?.message).toMatch(/^crf decodes with ONNX Loops/);
  });

  it('takes no token ids (SEQ033) and no symbolic tag axis (SEQ035)', () => {
    const codes = (chain: string, input: string): string[] =>
      compile(`model M {\n  input x: ${input}\n  ${chain}\n}\n`).diagnostics.map((d) => d.code);
    expect(codes('x -> CRF(tags=3) -> output y', 'int64[batch, time]')).toEqual(['SEQ033']);
    expect(codes('x -> CRF(tags=3) -> output y', 'float32[batch, time, tags]')).toEqual(['SEQ035']);
  });
});
