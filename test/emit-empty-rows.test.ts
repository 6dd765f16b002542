// Rows a Conv1d leaves without steps (length 0): the emitted PyTorch module gives what the compiled graph gives (zeros for outputs, final states and pools, score 0 after a CRF), and specs that cannot leave such rows emit as before.

import { describe, expect, it } from 'vitest';
import {
  compileAndEmit,
  maxAbsDiff,
  randomFeeds,
  runEmitted,
  runOnnx,
  seeded,
  type Emitted,
  type Tensor,
} from './torch/emitted.js';
import { torchAvailable } from './torch/python.js';

const TOLERANCE = 1e-5;

/** kernel=3 without padding: rows of 1 and 2 steps have none left; per-step, pooled and final-state outputs. */
const poolsSpec = `model EmptyRows {
  input x: float32[batch, time, 4]
  input lengths: lengths(x)
  x -> conv: Conv1d(out=6, kernel=3) -> relu -> rnn: BiLSTM(hidden=5) -> output steps
  rnn -> avg: mean -> output pooled_mean
  rnn -> top: max -> output pooled_max
  rnn -> fin: last -> output final
  conv -> proj: Linear(3) -> output projected
  proj -> tail: last -> output last_step
  proj -> head: first -> output first_step
  proj -> gru: GRU(hidden=4, layers=2) -> gru_last: last -> output gru_final
  conv -> lstm: LSTM(hidden=6, proj=2) -> lstm_last: last -> output lstm_final
}
`;

/** stride=2, kernel=2: a row of 1 step has none left; a tagger with a CRF score over it. */
const crfSpec = `model EmptyTagger {
  input tokens: int64[batch, time]
  input lengths: lengths(tokens)
  tokens -> emb: Embedding(vocab=20, dim=6) -> conv: Conv1d(out=6, kernel=2, stride=2) -> rnn: BiGRU(hidden=4)
    -> emissions: Linear(3) -> crf: CRF(tags=3, score=true) -> output tags
}
`;

/** A stateful layer after such a Conv1d: a row without steps ends in zero states, whatever its initial state. */
const statefulSpec = `model EmptyStateful {
  input x: float32[batch, time, 4]
  input lengths: lengths(x)
  x -> conv: Conv1d(out=6, kernel=3) -> rnn: BiLSTM(hidden=3, stateful=true) -> output y
}
`;

/** Length-keeping and widening Conv1d: no row can be left without steps, so nothing changes in the emitted file. */
const keepingSpec = `model Keeping {
  input x: float32[batch, time, 4]
  input lengths: lengths(x)
  x -> conv: Conv1d(out=6, kernel=3, padding=1) -> wide: Conv1d(out=6, kernel=3, padding=2, stride=2) -> rnn: LSTM(hidden=5)
  rnn -> avg: mean -> output pooled
  rnn -> top: max -> output top
}
`;

function floats(seed: number, shape: number[]): Tensor {
  const random = seeded(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype: 'float32', shape, data: Array.from({ length: n }, () => Math.fround(random() * 2 - 1)) };
}

function int64(shape: number[], data: number[]): Tensor {
  return { dtype: 'int64', shape, data };
}

/** Runs both, checks every output's shape and values; returns the largest |Δ| over the float outputs. */
async function compare(emitted: Emitted, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const onnx = await runOnnx(emitted.compiled.model!, feeds);
  const torch = runEmitted(emitted, [{ method: 'forward', inputs: feeds }]).results[0]!;
  for (const name of Object.keys(onnx)) {
    expect(torch[name], name).toBeDefined();
    expect(torch[name]!.shape, name).toEqual(onnx[name]!.shape);
    const diff = maxAbsDiff(torch[name]!, onnx[name]!);
    measured.push([`${emitted.ir.name}.${name}`, diff]);
    expect(diff, `${name}: max |Δ| ${diff}`).toBeLessThanOrEqual(TOLERANCE);
  }
  return onnx;
}

const measured: [string, number][] = [];

/** The rows of `t` [batch, ...] as arrays. */
function rows(t: Tensor): number[][] {
  const size = t.data.length / t.shape[0]!;
  return Array.from({ length: t.shape[0]! }, (_, r) => t.data.slice(r * size, (r + 1) * size));
}

describe('emitted code for rows without steps', () => {
  it('handles them only where a Conv1d can leave a row without steps', () => {
    const pools = compileAndEmit(poolsSpec, 3).python;
    expect(pools).toContain('def run_recurrent_with_empty_rows(');
    expect(pools).toMatch(/rnn, \(rnn_h_n, rnn_c_n\) = run_recurrent_with_empty_rows\(\s+self\.rnn, /);
    expect(pools).toContain('.clamp(min=1).to(');
    const crf = compileAndEmit(crfSpec, 3).python;
    expect(crf).toMatch(/crf_score = crf_score\.masked_fill\(\w+ == 0, 0\)/);
    const keeping = compileAndEmit(keepingSpec, 3).python;
    expect(keeping).not.toContain('run_recurrent_with_empty_rows');
    expect(keeping).not.toContain('clamp(min=1)');
    expect(keeping).not.toContain('masked_fill((');
  });
});

describe.skipIf(!torchAvailable())('rows without steps: emitted PyTorch against the compiled graph', () => {
  it('gives zeros for per-step outputs, final states, mean, max, first and last, at 1e-5', async () => {
    const emitted = compileAndEmit(poolsSpec, 11);
    // Lengths 5, 1, 2, 3, 4 become 3, 0, 0, 1, 2 after the Conv1d; the batch's own time is 5 (3 after it).
    const lengths = [5, 1, 2, 3, 4];
    const onnx = await compare(emitted, { x: floats(5, [5, 5, 4]), lengths: int64([5], lengths) });
    for (const name of [
      'steps',
      'pooled_mean',
      'pooled_max',
      'final',
      'last_step',
      'first_step',
      'gru_final',
      'lstm_final',
    ]) {
      const byRow = rows(onnx[name]!);
      for (const empty of [1, 2])
        expect(
          byRow[empty]!.every((v) => v === 0),
          `${name} row ${empty}`,
        ).toBe(true);
      expect(
        byRow[3]!.some((v) => v !== 0),
        `${name} row 3`,
      ).toBe(true);
    }
    expect(onnx['steps']!.shape).toEqual([5, 3, 10]);
  });

  it('gives the same when every row is left without steps', async () => {
    const emitted = compileAndEmit(poolsSpec, 12);
    // The padded time (4) leaves 2 steps, but each row's own length (2, 1) leaves none.
    const onnx = await compare(emitted, { x: floats(6, [2, 4, 4]), lengths: int64([2], [2, 1]) });
    expect(onnx['pooled_max']!.data.every((v) => v === 0)).toBe(true);
  });

  it('ends a row without steps in zero states even from given initial states', async () => {
    const emitted = compileAndEmit(statefulSpec, 14);
    const feeds = { ...randomFeeds(emitted.ir, 5, { batch: 4, time: 5 }), lengths: int64([4], [5, 1, 2, 4]) };
    const onnx = await compare(emitted, feeds);
    for (const name of ['rnn.hn', 'rnn.cn']) {
      // [2 directions, batch, 3]: rows 1 and 2 of each direction are zero.
      const values = onnx[name]!.data;
      for (const direction of [0, 1])
        for (const row of [1, 2]) {
          const start = direction * 12 + row * 3;
          expect(values.slice(start, start + 3), `${name} ${direction} ${row}`).toEqual([0, 0, 0]);
        }
    }
  });

  it('scores a row without steps 0 after a CRF, with tag 0 at every step, in both', async () => {
    const emitted = compileAndEmit(crfSpec, 13);
    const random = seeded(9);
    const tokens = int64(
      [4, 6],
      Array.from({ length: 24 }, () => Math.floor(random() * 20)),
    );
    // Lengths 6, 1, 2, 3 become 3, 0, 1, 1.
    const onnx = await compare(emitted, { tokens, lengths: int64([4], [6, 1, 2, 3]) });
    expect(onnx['crf.score']!.data[1]).toBe(0);
    expect(onnx['crf.score']!.data[2]).not.toBe(0);
    expect(rows(onnx['tags']!)[1]!.every((v) => v === 0)).toBe(true);
  });

  it('records the measured max |Δ|', () => {
    expect(measured.length).toBeGreaterThan(0);
    console.log(
      `emitted vs graph, rows without steps: max |Δ| ${Math.max(...measured.map(([, d]) => d)).toExponential(2)}`,
    );
  });
});
