// Decoding runtime tests: greedy, beam search and sampling on table-driven fake decoders checked against exhaustive
// enumeration and plain reference loops, then generate() on a fake ONNX Runtime and on a tiny real bundle in onnxruntime-node.

import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { encodeModel } from '../src/onnx/encode.js';
import { DataType } from '../src/onnx/types.js';
import type { ModelProto, NodeProto, TensorProto, ValueInfoProto } from '../src/onnx/types.js';
import { loadBundle, type OrtModule, type OrtTensor } from '../src/runtime/generate.js';
import { documentedNames, parseManifest, type BundleManifest } from '../src/runtime/manifest.js';
import {
  beamSearch,
  greedy,
  logSoftmax,
  rankTokens,
  sample,
  xoshiro128ss,
  type DecoderSession,
  type Hypothesis,
} from '../src/runtime/search.js';

// A table-driven Markov model. Token 0 is bos, 1 is eos, 2–4 are words. The next-token logits
// depend on the row's "origin" (standing in for its source sentence), the previous token and the
// position (how many tokens were fed before), which makes eos likelier as sequences grow.

const bos = 0;
const eos = 1;
const vocab = 5;

function randomTables(seed: number, count: number): Float32Array[][] {
  const random = xoshiro128ss(seed);
  return Array.from({ length: count }, () =>
    Array.from({ length: vocab }, () => Float32Array.from({ length: vocab }, () => 3 * random() - 1.5)),
  );
}

const tables = randomTables(7, 4);

/** Logits, float32-rounded as a decoder would return them. */
function markovLogits(origin: number, previous: number, position: number): Float32Array {
  const row = tables[origin % tables.length]![previous]!;
  return Float32Array.from(row, (x, v) => x + (v === eos ? 0.45 * position : 0));
}

/** Fake attention over 3 source positions: where it looks depends on the fed token and the position. */
function markovAttention(origin: number, previous: number, position: number): Float32Array {
  const scores = [previous, origin % 3, position % 3].map((x, j) => Math.exp(-Math.abs(x - j)));
  const total = scores.reduce((a, b) => a + b, 0);
  return Float32Array.from(scores, (s) => s / total);
}

interface MarkovState {
  readonly origins: readonly number[];
  readonly positions: readonly number[];
}

interface MarkovSession extends DecoderSession<MarkovState> {
  /** The row count of each step, in order. */
  readonly stepRows: number[];
}

type Logits = (origin: number, previous: number, position: number) => Float32Array;

/**
 * A model where continuing is nearly free: after bos, eos has probability 0.61 and word 4 0.38;
 * after 4, 4 again has probability 1 − 2.5e-5. Under a strong length penalty the long run of 4s
 * wins, though its first step looked worse than the early eos.
 */
function stickyLogits(_origin: number, previous: number, _position: number): Float32Array {
  if (previous === bos) return Float32Array.from([0.01 / 3, 0.61, 0.01 / 3, 0.01 / 3, 0.38], Math.log);
  if (previous === 4) return Float32Array.of(0, 0, 0, 0, 12);
  return new Float32Array(vocab);
}

function markovSession(
  origins: readonly number[],
  options: { attention?: boolean; logits?: Logits } = {},
): MarkovSession {
  const logitsOf = options.logits ?? markovLogits;
  const stepRows: number[] = [];
  return {
    batch: origins.length,
    stepRows,
    start: async () => ({ origins, positions: origins.map(() => 0) }),
    step: async (tokens, state) => {
      expect(tokens.length).toBe(state.origins.length);
      stepRows.push(tokens.length);
      const logits = new Float32Array(tokens.length * vocab);
      const attention = new Float32Array(tokens.length * 3);
      tokens.forEach((token, i) => {
        logits.set(logitsOf(state.origins[i]!, token, state.positions[i]!), i * vocab);
        attention.set(markovAttention(state.origins[i]!, token, state.positions[i]!), i * 3);
      });
      const next = { origins: state.origins, positions: state.positions.map((p) => p + 1) };
      return options.attention === true ? { logits, state: next, attention } : { logits, state: next };
    },
    select: (state, rows) => ({
      origins: Array.from(rows, (r) => state.origins[r]!),
      positions: Array.from(rows, (r) => state.positions[r]!),
    }),
  };
}

/** Log-softmax written out independently of the runtime's. */
function referenceLogSoftmax(logits: Float32Array): number[] {
  const max = Math.max(...logits);
  const lse = max + Math.log([...logits].reduce((s, x) => s + Math.exp(x - max), 0));
  return [...logits].map((x) => x - lse);
}

const penalty = (length: number, alpha: number): number => ((5 + length) / 6) ** alpha;

interface Scored {
  readonly tokens: number[];
  readonly logProb: number;
  readonly score: number;
}

/** Every hypothesis up to maxLength (those ending in eos, and the unfinished ones of length maxLength), best first. */
function exhaustive(
  origin: number,
  options: { maxLength: number; minLength?: number; alpha: number; prefix?: readonly number[] },
): Scored[] {
  const prefix = options.prefix ?? [];
  const all: Scored[] = [];
  const walk = (tokens: number[], logProb: number, last: number, position: number): void => {
    const lp = referenceLogSoftmax(markovLogits(origin, last, position));
    for (let v = 0; v < vocab; v++) {
      const extended = [...tokens, v];
      const total = logProb + lp[v]!;
      if (v === eos) {
        if (tokens.length >= (options.minLength ?? 0))
          all.push({ tokens: extended, logProb: total, score: total / penalty(extended.length, options.alpha) });
      } else if (extended.length === options.maxLength) {
        all.push({ tokens: extended, logProb: total, score: total / penalty(extended.length, options.alpha) });
      } else {
        walk(extended, total, v, position + 1);
      }
    }
  };
  walk([], 0, prefix.at(-1) ?? bos, prefix.length);
  return all.sort((a, b) => b.score - a.score);
}

/**
 * Beam search as a plain loop for one row, with no early stopping: it runs until no live
 * hypothesis is left or maxLength is reached, collecting every finished hypothesis.
 */
function referenceBeam(
  origin: number,
  options: {
    width: number;
    nBest: number;
    maxLength: number;
    minLength?: number;
    alpha: number;
    prefix?: readonly number[];
    logits?: Logits;
  },
): Scored[] {
  const logitsOf = options.logits ?? markovLogits;
  const prefix = options.prefix ?? [];
  type Live = { tokens: number[]; logProb: number; last: number };
  let live: Live[] = [{ tokens: [], logProb: 0, last: prefix.at(-1) ?? bos }];
  const done: Scored[] = [];
  for (let length = 1; length <= options.maxLength && live.length > 0; length++) {
    const candidates: { parent: number; token: number; logProb: number }[] = [];
    live.forEach((beam, parent) => {
      const lp = referenceLogSoftmax(logitsOf(origin, beam.last, prefix.length + length - 1));
      lp.forEach((x, token) => {
        if (token === eos && beam.tokens.length < (options.minLength ?? 0)) return;
        candidates.push({ parent, token, logProb: beam.logProb + x });
      });
    });
    candidates.sort((a, b) => b.logProb - a.logProb || a.parent - b.parent || a.token - b.token);
    const next: Live[] = [];
    for (const c of candidates) {
      if (next.length === options.width) break;
      const tokens = [...live[c.parent]!.tokens, c.token];
      if (c.token === eos) done.push({ tokens, logProb: c.logProb, score: c.logProb / penalty(length, options.alpha) });
      else next.push({ tokens, logProb: c.logProb, last: c.token });
    }
    if (length === options.maxLength)
      for (const b of next)
        done.push({ tokens: b.tokens, logProb: b.logProb, score: b.logProb / penalty(length, options.alpha) });
    live = next;
  }
  return done.sort((a, b) => b.score - a.score).slice(0, options.nBest);
}

/** Greedy decoding as a plain loop for one row. */
function referenceGreedy(
  origin: number,
  options: { maxLength: number; minLength?: number; prefix?: readonly number[] },
): Scored {
  const prefix = options.prefix ?? [];
  const tokens: number[] = [];
  let logProb = 0;
  let last = prefix.at(-1) ?? bos;
  while (tokens.length < options.maxLength) {
    const lp = referenceLogSoftmax(markovLogits(origin, last, prefix.length + tokens.length));
    let best = -1;
    lp.forEach((x, v) => {
      if (v === eos && tokens.length < (options.minLength ?? 0)) return;
      if (best < 0 || x > lp[best]!) best = v;
    });
    tokens.push(best);
    logProb += lp[best]!;
    last = best;
    if (best === eos) break;
  }
  return { tokens, logProb, score: logProb };
}

function expectSameHypotheses(actual: readonly Hypothesis[], expected: readonly Scored[], digits = 9): void {
  expect(actual.map((h) => h.tokens)).toEqual(expected.map((h) => h.tokens));
  actual.forEach((h, i) => {
    expect(h.logProb).toBeCloseTo(expected[i]!.logProb, digits);
    expect(h.score).toBeCloseTo(expected[i]!.score, digits);
  });
}

/** Softmax of logits divided by a temperature, in float64. */
function softmax(logits: Float32Array, temperature = 1): number[] {
  const scaled = [...logits].map((x) => x / temperature);
  const max = Math.max(...scaled);
  const e = scaled.map((x) => Math.exp(x - max));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / total);
}

describe('logSoftmax', () => {
  it('is stable for large logits and keeps −∞ entries', () => {
    const out = logSoftmax([1000, 1001, 1002, -Infinity]);
    const expected = [-2.40760596444438, -1.40760596444438, -0.40760596444438];
    expected.forEach((x, i) => expect(out[i]).toBeCloseTo(x, 12));
    expect(out[3]).toBe(-Infinity);
    expect([...out].reduce((s, x) => s + Math.exp(x), 0)).toBeCloseTo(1, 14);
  });

  it('leaves log-probabilities unchanged, and rejects NaN', () => {
    const once = logSoftmax([0.3, -2, 5]);
    const twice = logSoftmax(once);
    once.forEach((x, i) => expect(twice[i]).toBeCloseTo(x, 14));
    expect(() => logSoftmax([0, Number.NaN])).toThrow(RangeError);
  });
});

describe('rankTokens', () => {
  it('orders by value, lower id first among equals, for few and for many ids', () => {
    const values = [0.5, 2, 2, -1, 0.5, 3, -Infinity, 2];
    expect([...rankTokens(values, 3)]).toEqual([5, 1, 2]);
    expect([...rankTokens(values, 8)]).toEqual([5, 1, 2, 7, 0, 4, 3, 6]);
    const many = Array.from({ length: 200 }, (_, i) => (i * 37) % 11);
    const sorted = Array.from({ length: 200 }, (_, i) => i).sort((a, b) => many[b]! - many[a]! || a - b);
    expect([...rankTokens(many, 5)]).toEqual(sorted.slice(0, 5));
    expect([...rankTokens(many, 150)]).toEqual(sorted.slice(0, 150));
  });
});

describe('xoshiro128ss', () => {
  it('repeats for a seed, differs across seeds and stays in [0, 1)', () => {
    const a = xoshiro128ss(42);
    const b = xoshiro128ss(42);
    const c = xoshiro128ss(43);
    const first = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(first);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(first);
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(first.reduce((s, x) => s + x, 0) / first.length).toBeCloseTo(0.5, 1);
  });
});

describe('greedy', () => {
  it('takes the argmax at each step and drops rows as they finish', async () => {
    const origins = [0, 1, 2, 3];
    const session = markovSession(origins);
    const results = await greedy(session, { bos, eos, maxLength: 8 });
    results.forEach((h, row) => expectSameHypotheses([h], [referenceGreedy(origins[row]!, { maxLength: 8 })]));
    // The rows end at different steps, and each step runs on the rows still going.
    const lengths = results.map((h) => h.tokens.length);
    expect(new Set(lengths).size).toBeGreaterThan(1);
    expect(session.stepRows).toEqual(
      Array.from({ length: Math.max(...lengths) }, (_, t) => lengths.filter((n) => n > t).length),
    );
  });

  it('forbids eos before minLength and stops at maxLength', async () => {
    const origins = [0, 1, 2, 3];
    const results = await greedy(markovSession(origins), { bos, eos, maxLength: 8, minLength: 4 });
    results.forEach((h, row) => {
      expectSameHypotheses([h], [referenceGreedy(origins[row]!, { maxLength: 8, minLength: 4 })]);
      expect(h.tokens.indexOf(eos) === -1 || h.tokens.indexOf(eos) >= 4).toBe(true);
    });
    const short = await greedy(markovSession(origins), { bos, eos, maxLength: 2, minLength: 4 });
    expect(short.every((h) => h.tokens.length === 2 && !h.tokens.includes(eos))).toBe(true);
  });

  it('feeds each row its prefix unscored, batched as alone', async () => {
    const origins = [0, 1, 2];
    const prefix = [[3, 2, 4], [], [4]];
    const batched = await greedy(markovSession(origins), { bos, eos, maxLength: 6, prefix });
    for (let row = 0; row < origins.length; row++) {
      const alone = await greedy(markovSession([origins[row]!]), { bos, eos, maxLength: 6, prefix: [prefix[row]!] });
      expect(batched[row]).toEqual(alone[0]);
      expectSameHypotheses([batched[row]!], [referenceGreedy(origins[row]!, { maxLength: 6, prefix: prefix[row]! })]);
    }
  });

  it('returns the attention of the step that produced each token', async () => {
    const [h] = await greedy(markovSession([2], { attention: true }), { bos, eos, maxLength: 8 });
    expect(h!.attention).toHaveLength(h!.tokens.length);
    h!.tokens.forEach((_, t) =>
      expect(h!.attention![t]).toEqual(markovAttention(2, t === 0 ? bos : h!.tokens[t - 1]!, t)),
    );
  });
});

describe('beamSearch', () => {
  for (const alpha of [0, 0.6]) {
    it(`equals exhaustive search when the beam holds every hypothesis (α = ${alpha})`, async () => {
      const origins = [0, 1, 2, 3];
      // Up to 4 tokens: 1 + 4 + 16 + 64 finished and 256 unfinished hypotheses.
      const results = await beamSearch(markovSession(origins), {
        bos,
        eos,
        maxLength: 4,
        width: 341,
        nBest: 12,
        lengthPenalty: alpha,
      });
      results.forEach((hypotheses, row) =>
        expectSameHypotheses(hypotheses, exhaustive(origins[row]!, { maxLength: 4, alpha }).slice(0, 12)),
      );
    });

    it(`equals exhaustive search with minLength (α = ${alpha})`, async () => {
      const results = await beamSearch(markovSession([1, 3]), {
        bos,
        eos,
        maxLength: 4,
        minLength: 2,
        width: 341,
        nBest: 6,
        lengthPenalty: alpha,
      });
      results.forEach((hypotheses, row) => {
        expectSameHypotheses(hypotheses, exhaustive([1, 3][row]!, { maxLength: 4, minLength: 2, alpha }).slice(0, 6));
        for (const h of hypotheses) expect(h.tokens.indexOf(eos) === -1 || h.tokens.indexOf(eos) >= 2).toBe(true);
      });
    });
  }

  it('matches a beam search run to maxLength without early stopping, and does stop early', async () => {
    let stoppedEarly = false;
    for (const alpha of [0, 0.6, 1.5]) {
      for (const width of [1, 2, 3]) {
        for (let nBest = 1; nBest <= width; nBest++) {
          const origins = [0, 1, 2, 3];
          const session = markovSession(origins);
          const results = await beamSearch(session, { bos, eos, maxLength: 12, width, nBest, lengthPenalty: alpha });
          results.forEach((hypotheses, row) =>
            expectSameHypotheses(hypotheses, referenceBeam(origins[row]!, { width, nBest, maxLength: 12, alpha })),
          );
          if (session.stepRows.length < 12) stoppedEarly = true;
        }
      }
    }
    expect(stoppedEarly).toBe(true);
  });

  it('does not stop while a longer hypothesis could still win under the length penalty', async () => {
    const options = { bos, eos, maxLength: 12, width: 2, nBest: 1, lengthPenalty: 1.5 };
    const [[best]] = (await beamSearch(markovSession([0], { logits: stickyLogits }), options)) as [[Hypothesis]];
    expect(best.tokens).toEqual(new Array(12).fill(4));
    expectSameHypotheses([best], referenceBeam(0, { ...options, alpha: 1.5, logits: stickyLogits }));
    // With α = 0 the early eos is best, and the search stops after one step.
    const plain = markovSession([0], { logits: stickyLogits });
    const [[first]] = (await beamSearch(plain, { ...options, lengthPenalty: 0 })) as [[Hypothesis]];
    expect(first.tokens).toEqual([eos]);
    expect(plain.stepRows).toEqual([1]);
  });

  it('returns the n best sorted by score, each ending in eos or at maxLength', async () => {
    const [hypotheses] = await beamSearch(markovSession([2]), {
      bos,
      eos,
      maxLength: 6,
      width: 6,
      nBest: 6,
      lengthPenalty: 0.6,
    });
    expect(hypotheses).toHaveLength(6);
    for (let i = 1; i < hypotheses!.length; i++)
      expect(hypotheses![i - 1]!.score).toBeGreaterThanOrEqual(hypotheses![i]!.score);
    for (const h of hypotheses!) {
      expect(h.tokens.at(-1) === eos || h.tokens.length === 6).toBe(true);
      expect(h.tokens.slice(0, -1)).not.toContain(eos);
      expect(h.score).toBeCloseTo(h.logProb / penalty(h.tokens.length, 0.6), 12);
    }
    expect(new Set(hypotheses!.map((h) => h.tokens.join(' '))).size).toBe(6);
  });

  it('gives batched rows of different lengths and prefixes the same results as each row alone', async () => {
    const origins = [3, 0, 2, 1, 2];
    const prefix = [[], [2, 2], [4], [], [3, 4, 2, 3]];
    const options = { bos, eos, maxLength: 9, width: 4, nBest: 3, lengthPenalty: 0.6, minLength: 1 };
    const batched = await beamSearch(markovSession(origins, { attention: true }), { ...options, prefix });
    for (let row = 0; row < origins.length; row++) {
      const alone = await beamSearch(markovSession([origins[row]!], { attention: true }), {
        ...options,
        prefix: [prefix[row]!],
      });
      expect(batched[row]).toEqual(alone[0]);
      expectSameHypotheses(
        batched[row]!,
        referenceBeam(origins[row]!, { ...options, alpha: 0.6, prefix: prefix[row]! }),
      );
    }
  });

  it('keeps the attention of each token along the winning path', async () => {
    const [hypotheses] = await beamSearch(markovSession([1], { attention: true }), {
      bos,
      eos,
      maxLength: 6,
      width: 3,
      nBest: 3,
    });
    for (const h of hypotheses!) {
      expect(h.attention).toHaveLength(h.tokens.length);
      h.tokens.forEach((_, t) =>
        expect(h.attention![t]).toEqual(markovAttention(1, t === 0 ? bos : h.tokens[t - 1]!, t)),
      );
    }
  });

  it('with width 1 is greedy', async () => {
    const origins = [0, 1, 2, 3];
    const beams = await beamSearch(markovSession(origins), { bos, eos, maxLength: 8, width: 1 });
    const greedyResults = await greedy(markovSession(origins), { bos, eos, maxLength: 8 });
    beams.forEach((row, i) => expect(row[0]!.tokens).toEqual(greedyResults[i]!.tokens));
  });

  it('rejects an n-best list longer than the beam', async () => {
    await expect(beamSearch(markovSession([0]), { bos, eos, maxLength: 4, width: 2, nBest: 3 })).rejects.toThrow(
      RangeError,
    );
  });
});

describe('sample', () => {
  const origins = [0, 1, 2, 3];
  const base = { bos, eos, maxLength: 10 };

  it('repeats for a seed and changes with it', async () => {
    const a = await sample(markovSession(origins), { ...base, seed: 11, count: 5 });
    const b = await sample(markovSession(origins), { ...base, seed: 11, count: 5 });
    const c = await sample(markovSession(origins), { ...base, seed: 12, count: 5 });
    expect(b).toEqual(a);
    expect(c.map((r) => r.map((h) => h.tokens))).not.toEqual(a.map((r) => r.map((h) => h.tokens)));
    for (const row of a) for (const h of row) expect(h.score).toBe(h.logProb);
  });

  it('is greedy with top-k 1, a tiny top-p, or a temperature near 0', async () => {
    const expected = (await greedy(markovSession(origins), base)).map((h) => [h.tokens]);
    for (const cut of [{ topK: 1 }, { topP: 1e-9 }, { temperature: 1e-3 }, { temperature: 0 }]) {
      const results = await sample(markovSession(origins), { ...base, ...cut, seed: 5 });
      expect(results.map((r) => r.map((h) => h.tokens))).toEqual(expected);
    }
  });

  it('reports the model log-probability of what it sampled', async () => {
    const [row] = await sample(markovSession([2]), { ...base, seed: 3, temperature: 1.7, topK: 3 });
    const h = row![0]!;
    let logProb = 0;
    h.tokens.forEach(
      (token, t) => (logProb += referenceLogSoftmax(markovLogits(2, t === 0 ? bos : h.tokens[t - 1]!, t))[token]!),
    );
    expect(h.logProb).toBeCloseTo(logProb, 10);
  });

  describe('draws the first token from the softmax', () => {
    const count = 20_000;
    const logits = markovLogits(1, bos, 0);
    const firstTokens = async (cut: { temperature?: number; topK?: number; topP?: number }): Promise<number[]> => {
      const [row] = await sample(markovSession([1]), { ...base, maxLength: 1, count, seed: 99, ...cut });
      const freq = new Array<number>(vocab).fill(0);
      for (const h of row!) freq[h.tokens[0]!]! += 1 / count;
      return freq;
    };
    // Binomial standard error is at most 0.0036 here; allow about four of them.
    const tolerance = 0.015;

    it('at temperature 1 and 2', async () => {
      for (const temperature of [1, 2]) {
        const expected = softmax(logits, temperature);
        const freq = await firstTokens({ temperature });
        freq.forEach((f, v) => expect(Math.abs(f - expected[v]!)).toBeLessThan(tolerance));
      }
    });

    it('renormalized over the top k', async () => {
      const p = softmax(logits);
      const top = [...rankTokens(logits, 2)];
      const mass = top.reduce((s, v) => s + p[v]!, 0);
      const freq = await firstTokens({ topK: 2 });
      freq.forEach((f, v) => expect(Math.abs(f - (top.includes(v) ? p[v]! / mass : 0))).toBeLessThan(tolerance));
    });

    it('renormalized over the smallest set reaching top-p', async () => {
      const p = softmax(logits);
      const order = [...rankTokens(logits, vocab)];
      const kept: number[] = [];
      let sum = 0;
      for (const v of order) {
        kept.push(v);
        sum += p[v]!;
        if (sum >= 0.6) break;
      }
      expect(kept.length).toBeGreaterThan(1);
      expect(kept.length).toBeLessThan(vocab);
      const freq = await firstTokens({ topP: 0.6 });
      freq.forEach((f, v) => expect(Math.abs(f - (kept.includes(v) ? p[v]! / sum : 0))).toBeLessThan(tolerance));
    });
  });
});

// generate() on a fake ONNX Runtime whose graphs are TypeScript functions mirroring the Markov model.

class FakeTensor implements OrtTensor {
  constructor(
    readonly type: 'int64' | 'float32',
    readonly data: BigInt64Array | Float32Array,
    readonly dims: readonly number[],
  ) {}
}

type FakeGraph = (feeds: Record<string, OrtTensor>) => Record<string, OrtTensor>;

/** An ONNX Runtime whose "model bytes" are a graph's name. */
function fakeOrt(
  graphs: Record<string, { inputs: string[]; outputs: string[]; run: FakeGraph }>,
): OrtModule & { runs: string[] } {
  const runs: string[] = [];
  return {
    runs,
    Tensor: FakeTensor,
    InferenceSession: {
      create: async (bytes) => {
        const name = new TextDecoder().decode(bytes);
        const graph = graphs[name];
        if (graph === undefined) throw new Error(`no graph ${name}`);
        return {
          inputNames: graph.inputs,
          outputNames: graph.outputs,
          run: async (feeds) => {
            runs.push(name);
            expect(Object.keys(feeds).sort()).toEqual([...graph.inputs].sort());
            return graph.run(feeds);
          },
        };
      },
    },
  };
}

const floats = (t: OrtTensor | undefined): Float32Array => t!.data as Float32Array;
const ints = (t: OrtTensor | undefined): number[] => Array.from(t!.data as BigInt64Array, Number);

/**
 * A seq2seq bundle with an LSTM decoder (2 layers, hidden 3), input feeding and attention. The
 * encoder's memory holds the source ids; the step reads its origin from the first source id and its
 * position from h, checks that h, c and feed stayed together, and attends evenly over the source.
 */
function fakeSeq2seq(): {
  ort: OrtModule & { runs: string[] };
  manifest: BundleManifest;
  files: Record<string, Uint8Array>;
} {
  const names = documentedNames({ kind: 'seq2seq', cell: 'lstm', inputFeed: true, attention: true });
  const file = (key: 'scoring' | 'encoder' | 'step' | 'greedy', path: string) => ({ path, ...names[key]! });
  const manifest: BundleManifest = {
    format: 'seqc-bundle',
    version: 1,
    targetVocab: vocab,
    name: 'Fake',
    kind: 'seq2seq',
    files: {
      scoring: file('scoring', 'fake.onnx'),
      encoder: file('encoder', 'fake.encoder.onnx'),
      step: file('step', 'fake.step.onnx'),
      greedy: file('greedy', 'fake.greedy.onnx'),
    },
    bos,
    eos,
    maxLength: 9,
    vocab,
    state: { cell: 'lstm', layers: 2, hidden: 3 },
    memoryDim: 1,
    inputFeed: true,
    attention: { score: 'dot', placement: 'luong' },
  };
  const ort = fakeOrt({
    'fake.encoder.onnx': {
      ...names.encoder!,
      run: (feeds) => {
        const [batch, time] = feeds['src']!.dims as [number, number];
        const src = ints(feeds['src']);
        const lengths = ints(feeds['src_lengths']);
        const memory = Float32Array.from(src, (id, i) => (i % time < lengths[Math.floor(i / time)]! ? id : 0));
        return {
          memory: new FakeTensor('float32', memory, [batch, time, 1]),
          h0: new FakeTensor('float32', new Float32Array(2 * batch * 3), [2, batch, 3]),
          c0: new FakeTensor('float32', new Float32Array(2 * batch * 3), [2, batch, 3]),
        };
      },
    },
    'fake.step.onnx': {
      ...names.step,
      run: (feeds) => {
        const tokens = ints(feeds['tokens']);
        const rows = tokens.length;
        const [, time] = feeds['memory']!.dims as [number, number];
        const h = floats(feeds['h']);
        const c = floats(feeds['c']);
        const feed = floats(feeds['feed']);
        const memory = floats(feeds['memory']);
        const lengths = ints(feeds['src_lengths']);
        const logits = new Float32Array(rows * vocab);
        const attention = new Float32Array(rows * time);
        const hOut = new Float32Array(h.length);
        const cOut = new Float32Array(c.length);
        const feedOut = new Float32Array(feed.length);
        for (let r = 0; r < rows; r++) {
          const position = h[r * 3]!;
          // h layer 1 and feed both hold the sum of fed tokens; c holds twice the position.
          expect(h[(rows + r) * 3]).toBe(feed[r * 3]);
          expect(c[r * 3]).toBe(2 * position);
          logits.set(markovLogits(memory[r * time]!, tokens[r]!, position), r * vocab);
          for (let j = 0; j < lengths[r]!; j++) attention[r * time + j] = 1 / lengths[r]!;
          hOut[r * 3] = position + 1;
          hOut[(rows + r) * 3] = feed[r * 3]! + tokens[r]!;
          cOut[r * 3] = 2 * (position + 1);
          feedOut[r * 3] = feed[r * 3]! + tokens[r]!;
        }
        return {
          logits: new FakeTensor('float32', logits, [rows, vocab]),
          h_out: new FakeTensor('float32', hOut, [2, rows, 3]),
          c_out: new FakeTensor('float32', cOut, [2, rows, 3]),
          attention: new FakeTensor('float32', attention, [rows, time]),
          feed_out: new FakeTensor('float32', feedOut, [rows, 3]),
        };
      },
    },
    'fake.greedy.onnx': {
      ...names.greedy,
      run: (feeds) => {
        const batch = feeds['src']!.dims[0]!;
        const tokens = BigInt64Array.from({ length: batch * 4 }, (_, i) => BigInt(i % 4 < 2 ? 2 + (i % 4) : eos));
        return {
          tokens: new FakeTensor('int64', tokens, [batch, 4]),
          lengths: new FakeTensor(
            'int64',
            BigInt64Array.from({ length: batch }, () => 3n),
            [batch],
          ),
        };
      },
    },
  });
  const files = Object.fromEntries(
    ['fake.encoder.onnx', 'fake.step.onnx', 'fake.greedy.onnx'].map((n) => [n, new TextEncoder().encode(n)]),
  );
  return { ort, manifest, files };
}

describe('generate on a fake ONNX Runtime', () => {
  const src = [[2, 4, 3], [1], [3, 2, 2, 4, 2], [0, 4]];
  const origins = src.map((r) => r[0]!);

  it('runs the encoder once and drives the step graph like the search on the same model', async () => {
    const { ort, manifest, files } = fakeSeq2seq();
    const { bundle, diagnostics } = await loadBundle(ort, { manifest, files });
    expect(diagnostics).toEqual([]);
    const beam = await bundle!.generate(src, { strategy: 'beam', beam: { width: 4, nBest: 3, lengthPenalty: 0.6 } });
    expect(beam.diagnostics).toEqual([]);
    expect(ort.runs.filter((r) => r === 'fake.encoder.onnx')).toHaveLength(1);
    const expected = await beamSearch(markovSession(origins), {
      bos,
      eos,
      maxLength: 9,
      width: 4,
      nBest: 3,
      lengthPenalty: 0.6,
    });
    beam.rows!.forEach((row, r) => {
      expect(row.hypotheses.map((h) => [h.tokens, h.score])).toEqual(expected[r]!.map((h) => [h.tokens, h.score]));
      // Attention is cut to the row's source length.
      for (const h of row.hypotheses)
        for (const a of h.attention!) expect([...a]).toEqual(src[r]!.map(() => Math.fround(1 / src[r]!.length)));
    });

    const greedyResult = await bundle!.generate(src, { strategy: 'greedy', maxLength: 5, minLength: 2 });
    const expectedGreedy = await greedy(markovSession(origins), { bos, eos, maxLength: 5, minLength: 2 });
    expect(greedyResult.rows!.map((r) => r.hypotheses[0]!.tokens)).toEqual(expectedGreedy.map((h) => h.tokens));

    const sampled = await bundle!.generate(src, { strategy: 'sample', sample: { seed: 4, count: 3, topP: 0.9 } });
    const expectedSamples = await sample(markovSession(origins), {
      bos,
      eos,
      maxLength: 9,
      seed: 4,
      count: 3,
      topP: 0.9,
    });
    expect(sampled.rows!.map((r) => r.hypotheses.map((h) => h.tokens))).toEqual(
      expectedSamples.map((r) => r.map((h) => h.tokens)),
    );
  });

  it('feeds a target prefix, and runs the greedy Loop graph', async () => {
    const { ort, manifest, files } = fakeSeq2seq();
    const { bundle } = await loadBundle(ort, { manifest, files });
    const prompt = [[2], [], [4, 4], [3]];
    const result = await bundle!.generate(src, { strategy: 'beam', prompt, beam: { width: 3 } });
    const expected = await beamSearch(markovSession(origins), { bos, eos, maxLength: 9, width: 3, prefix: prompt });
    expect(result.rows!.map((r) => r.hypotheses[0]!.tokens)).toEqual(expected.map((r) => r[0]!.tokens));
    const loop = await bundle!.runGreedyGraph(src);
    expect(loop).toEqual({ rows: src.map(() => [2, 3, eos]), diagnostics: [] });
  });

  it('drives a language model from zero state through its prompt', async () => {
    const names = documentedNames({ kind: 'lm', cell: 'gru', inputFeed: false, attention: false });
    const manifest: BundleManifest = {
      format: 'seqc-bundle',
      version: 1,
      targetVocab: vocab,
      name: 'Lm',
      kind: 'lm',
      files: {
        scoring: { path: 'lm.onnx', ...names.scoring },
        step: { path: 'lm.step.onnx', ...names.step },
        greedy: { path: 'lm.greedy.onnx', ...names.greedy },
      },
      bos,
      eos,
      maxLength: 7,
      vocab,
      state: { cell: 'gru', layers: 1, hidden: 2 },
      inputFeed: false,
    };
    const seen: number[] = [];
    const ort = fakeOrt({
      'lm.step.onnx': {
        ...names.step,
        run: (feeds) => {
          const tokens = ints(feeds['tokens']);
          const h = floats(feeds['h']);
          expect(feeds['h']!.dims).toEqual([1, tokens.length, 2]);
          const logits = new Float32Array(tokens.length * vocab);
          const hOut = new Float32Array(h.length);
          tokens.forEach((token, r) => {
            seen.push(h[r * 2]!);
            logits.set(markovLogits(3, token, h[r * 2]!), r * vocab);
            hOut[r * 2] = h[r * 2]! + 1;
          });
          return {
            logits: new FakeTensor('float32', logits, [tokens.length, vocab]),
            h_out: new FakeTensor('float32', hOut, [1, tokens.length, 2]),
          };
        },
      },
    });
    const { bundle, diagnostics } = await loadBundle(ort, {
      manifest,
      files: { 'lm.step.onnx': new TextEncoder().encode('lm.step.onnx') },
    });
    expect(diagnostics).toEqual([]);
    const prompt = [[2, 3], [4], []];
    const result = await bundle!.generate([], { strategy: 'beam', prompt, beam: { width: 3, nBest: 2 } });
    expect(seen.slice(0, 3)).toEqual([0, 0, 0]);
    const expected = await beamSearch(markovSession([3, 3, 3]), {
      bos,
      eos,
      maxLength: 7,
      width: 3,
      nBest: 2,
      prefix: prompt,
    });
    expect(result.rows!.map((r) => r.hypotheses.map((h) => h.tokens))).toEqual(
      expected.map((r) => r.map((h) => h.tokens)),
    );
    const unprompted = await bundle!.generate([], { strategy: 'greedy' });
    expect(unprompted.rows).toHaveLength(1);
  });

  it('reports a broken manifest, a missing file and bad options as diagnostics', async () => {
    const { ort, manifest, files } = fakeSeq2seq();
    const broken = await loadBundle(ort, { manifest: { ...manifest, kind: 'lm', vocab: 'five' }, files });
    expect(broken.bundle).toBeUndefined();
    expect(broken.diagnostics.map((d) => d.message).join('\n')).toMatch(/`vocab` should be a whole number/);
    expect(
      parseManifest({
        ...manifest,
        files: {
          ...manifest.files,
          step: { ...manifest.files.step, outputs: ['logits', 'h_out', 'attention', 'feed_out'] },
        },
      }).problems,
    ).toEqual(['`files.step` should list both `c` and `c_out`, or neither']);
    const missing = await loadBundle(ort, { manifest, files: { 'fake.step.onnx': files['fake.step.onnx']! } });
    expect(missing.diagnostics.map((d) => d.message)).toEqual([
      'the bundle has no file fake.encoder.onnx, which its manifest names',
    ]);
    const { bundle } = await loadBundle(ort, { manifest, files });
    const bad = await bundle!.generate([[2, 3], []], {
      strategy: 'beam',
      beam: { width: 2, nBest: 3 },
      sample: { topP: 0 },
    });
    expect(bad.diagnostics.map((d) => [d.code, d.span.source])).toEqual([
      ['SEQ300', 'beam.nBest'],
      ['SEQ300', 'sample.topP'],
      ['SEQ301', 'src'],
    ]);
  });
});

// generate() on a tiny hand-built seq2seq bundle in onnxruntime-node: an embedding encoder with a
// masked-mean initial state, and a tanh RNN step with dot attention masked by src_lengths.

const tinyVocab = 7;
const dim = 4;

function value(name: string, elemType: DataType, dims: readonly (number | string)[]): ValueInfoProto {
  return {
    name,
    type: {
      elemType,
      shape: dims.map((d) => (typeof d === 'number' ? { kind: 'value', value: d } : { kind: 'param', name: d })),
    },
  };
}

function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attributes: NodeProto['attributes'] = [],
): NodeProto {
  return { name: `${outputs[0]}/${opType}`, opType, inputs, outputs, attributes };
}

function weights(name: string, dims: number[], random: () => number): TensorProto {
  return {
    name,
    dataType: DataType.FLOAT,
    dims,
    floatData: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => 2 * random() - 1),
  };
}

const int64 = (name: string, values: number[], dims: number[] = [values.length]): TensorProto => ({
  name,
  dataType: DataType.INT64,
  dims,
  int64Data: BigInt64Array.from(values, BigInt),
});

function model(
  name: string,
  nodes: NodeProto[],
  initializers: TensorProto[],
  inputs: ValueInfoProto[],
  outputs: ValueInfoProto[],
): Uint8Array {
  const proto: ModelProto = {
    irVersion: 8,
    opsetImports: [{ domain: '', version: 17 }],
    producerName: 'seqc-test',
    producerVersion: '0',
    graph: { name, nodes, initializers, inputs, outputs, valueInfo: [] },
    metadataProps: [],
  };
  return encodeModel(proto);
}

/** `mask` [rows, time]: position < length, from `lengths` [rows] and the time axis of `like`. */
function maskNodes(prefix: string, like: string, lengths: string): NodeProto[] {
  return [
    node('Shape', [like], [`${prefix}.shape`]),
    node('Gather', [`${prefix}.shape`, 'one'], [`${prefix}.time`], [{ name: 'axis', kind: 'int', value: 0 }]),
    node('Range', ['zero', `${prefix}.time`, 'one'], [`${prefix}.positions`]),
    node('Unsqueeze', [lengths, 'axis1'], [`${prefix}.lengths`]),
    node('Less', [`${prefix}.positions`, `${prefix}.lengths`], [`${prefix}.mask`]),
  ];
}

function tinyBundle(): { manifest: BundleManifest; files: Record<string, Uint8Array> } {
  const random = xoshiro128ss(2024);
  const constants = [
    int64('zero', [0], []),
    int64('one', [1], []),
    int64('axis0', [0]),
    int64('axis1', [1]),
    int64('axis2', [2]),
  ];
  const encoder = model(
    'tiny.encoder',
    [
      node('Gather', ['src.embedding', 'src'], ['embedded'], [{ name: 'axis', kind: 'int', value: 0 }]),
      ...maskNodes('src', 'src', 'src_lengths'),
      node('Cast', ['src.mask'], ['mask.float'], [{ name: 'to', kind: 'int', value: DataType.FLOAT }]),
      node('Unsqueeze', ['mask.float', 'axis2'], ['mask3']),
      node('Mul', ['embedded', 'mask3'], ['memory']),
      node('ReduceSum', ['memory', 'axis1'], ['sum'], [{ name: 'keepdims', kind: 'int', value: 0 }]),
      node('Cast', ['src.lengths'], ['lengths.float'], [{ name: 'to', kind: 'int', value: DataType.FLOAT }]),
      node('Div', ['sum', 'lengths.float'], ['mean']),
      node('Tanh', ['mean'], ['h0.flat']),
      node('Unsqueeze', ['h0.flat', 'axis0'], ['h0']),
    ],
    [...constants, weights('src.embedding', [tinyVocab, dim], random)],
    [value('src', DataType.INT64, ['batch', 'src_time']), value('src_lengths', DataType.INT64, ['batch'])],
    [value('memory', DataType.FLOAT, ['batch', 'src_time', dim]), value('h0', DataType.FLOAT, [1, 'batch', dim])],
  );
  const step = model(
    'tiny.step',
    [
      node('Gather', ['tgt.embedding', 'tokens'], ['e'], [{ name: 'axis', kind: 'int', value: 0 }]),
      node('Squeeze', ['h', 'axis0'], ['h.prev']),
      node('MatMul', ['h.prev', 'rnn.weight'], ['h.mixed']),
      node('Add', ['h.mixed', 'e'], ['h.pre']),
      node('Tanh', ['h.pre'], ['h.new']),
      node('Unsqueeze', ['h.new', 'axis0'], ['h_out']),
      node('Unsqueeze', ['h.new', 'axis2'], ['query']),
      node('MatMul', ['memory', 'query'], ['scores3']),
      node('Squeeze', ['scores3', 'axis2'], ['scores']),
      ...maskNodes('memory', 'memory', 'src_lengths'),
      node('Where', ['memory.mask', 'scores', 'minus.inf'], ['scores.masked']),
      node('Softmax', ['scores.masked'], ['attention'], [{ name: 'axis', kind: 'int', value: 1 }]),
      node('Unsqueeze', ['attention', 'axis1'], ['attention3']),
      node('MatMul', ['attention3', 'memory'], ['context3']),
      node('Squeeze', ['context3', 'axis1'], ['context']),
      node('Concat', ['h.new', 'context'], ['joined'], [{ name: 'axis', kind: 'int', value: 1 }]),
      node('MatMul', ['joined', 'generator.weight'], ['logits']),
    ],
    [
      ...constants,
      { name: 'minus.inf', dataType: DataType.FLOAT, dims: [], floatData: Float32Array.of(-1e9) },
      weights('tgt.embedding', [tinyVocab, dim], random),
      weights('rnn.weight', [dim, dim], random),
      weights('generator.weight', [2 * dim, tinyVocab], random),
    ],
    [
      value('tokens', DataType.INT64, ['batch']),
      value('h', DataType.FLOAT, [1, 'batch', dim]),
      value('memory', DataType.FLOAT, ['batch', 'src_time', dim]),
      value('src_lengths', DataType.INT64, ['batch']),
    ],
    [
      value('logits', DataType.FLOAT, ['batch', tinyVocab]),
      value('h_out', DataType.FLOAT, [1, 'batch', dim]),
      value('attention', DataType.FLOAT, ['batch', 'src_time']),
    ],
  );
  const manifest: BundleManifest = {
    format: 'seqc-bundle',
    version: 1,
    targetVocab: tinyVocab,
    name: 'Tiny',
    kind: 'seq2seq',
    files: {
      scoring: { path: 'tiny.onnx', inputs: ['src', 'src_lengths', 'tgt_in'], outputs: ['logits'] },
      encoder: { path: 'tiny.encoder.onnx', inputs: ['src', 'src_lengths'], outputs: ['memory', 'h0'] },
      step: {
        path: 'tiny.step.onnx',
        inputs: ['tokens', 'h', 'memory', 'src_lengths'],
        outputs: ['logits', 'h_out', 'attention'],
      },
      greedy: { path: 'tiny.greedy.onnx', inputs: ['src', 'src_lengths'], outputs: ['tokens', 'lengths'] },
    },
    bos: 0,
    eos: 1,
    maxLength: 8,
    vocab: tinyVocab,
    state: { cell: 'rnn', layers: 1, hidden: dim },
    memoryDim: dim,
    inputFeed: false,
    attention: { score: 'dot', placement: 'luong' },
  };
  return { manifest, files: { 'tiny.encoder.onnx': encoder, 'tiny.step.onnx': step } };
}

describe('generate in onnxruntime-node', () => {
  const src = [[2, 3, 4, 5, 6], [3, 2], [6], [5, 5, 2, 4]];

  it('gives padded, batched rows the results of each row alone, for every strategy', async () => {
    const { bundle, diagnostics } = await loadBundle(ort, tinyBundle(), { executionProviders: ['cpu'] });
    expect(diagnostics).toEqual([]);
    for (const options of [
      { strategy: 'greedy', minLength: 2 },
      { strategy: 'beam', beam: { width: 4, nBest: 3, lengthPenalty: 0.6 } },
      { strategy: 'sample', sample: { seed: 8, topK: 4 } },
    ] as const) {
      const batched = await bundle!.generate(src, options);
      expect(batched.diagnostics).toEqual([]);
      for (let r = 0; r < src.length; r++) {
        const alone = await bundle!.generate([src[r]!], options);
        const a = batched.rows![r]!.hypotheses;
        const b = alone.rows![0]!.hypotheses;
        if (options.strategy !== 'sample') expect(a.map((h) => h.tokens)).toEqual(b.map((h) => h.tokens));
        a.forEach((h, i) => {
          if (options.strategy !== 'sample') expect(h.score).toBeCloseTo(b[i]!.score, 4);
          for (const weights of h.attention!) {
            expect(weights).toHaveLength(src[r]!.length);
            expect([...weights].reduce((s, x) => s + x, 0)).toBeCloseTo(1, 5);
          }
        });
      }
    }
    await bundle!.release();
  });

  it('with a beam of width 1 is greedy, and a wider beam scores no worse', async () => {
    const { bundle } = await loadBundle(ort, tinyBundle());
    const greedyRows = await bundle!.generate(src, { strategy: 'greedy' });
    const narrow = await bundle!.generate(src, { strategy: 'beam', beam: { width: 1 } });
    const wide = await bundle!.generate(src, { strategy: 'beam', beam: { width: 6 } });
    src.forEach((_, r) => {
      expect(narrow.rows![r]!.hypotheses[0]!.tokens).toEqual(greedyRows.rows![r]!.hypotheses[0]!.tokens);
      expect(narrow.rows![r]!.hypotheses[0]!.logProb).toBeCloseTo(greedyRows.rows![r]!.hypotheses[0]!.logProb, 5);
      expect(wide.rows![r]!.hypotheses[0]!.score).toBeGreaterThanOrEqual(narrow.rows![r]!.hypotheses[0]!.score - 1e-6);
    });
    await bundle!.release();
  });
});
