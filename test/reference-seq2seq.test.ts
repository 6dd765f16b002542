// Proves the float64 encoder–decoder reference (test/reference/seq2seq.ts) self-consistent, and
// right wherever an independent check exists: the layer reference run over whole sequences,
// attention worked out by hand, and brute-force search. The compiler's and runtime's seq2seq tests
// compare against this reference, so it must be right first.

import { describe, expect, it } from 'vitest';
import {
  embedding,
  layerNorm,
  linear,
  logSoftmax,
  maxAbsDiff,
  randomArray,
  recurrent,
  relu,
  seededRandom,
} from './reference/float64.js';
import type { NestedArray, RecurrentKind, ReferenceTensor } from './reference/float64.js';
import {
  applyHead,
  argmax,
  attend,
  decoderStep,
  encode,
  exhaustiveBest,
  exhaustiveBestWithLengthPenalty,
  gnmtLengthPenalty,
  greedy,
  luongOutput,
  memorySize,
  nextTokenLogProbs,
  randomSeq2seqWeights,
  startState,
  teacherForced,
  zeroState,
} from './reference/seq2seq.js';
import type {
  AttentionPlacement,
  AttentionScore,
  DecoderConfig,
  DecoderState,
  EncoderConfig,
  HeadStep,
  NextTokenLogProbs,
} from './reference/seq2seq.js';

const TIGHT = 1e-12;

// Source: 3 rows of 5 steps, lengths 5, 3, 1. Target: 4 steps.
const SRC_VOCAB = 7;
const TGT_VOCAB = 5;
const SRC_LENGTHS = [5, 3, 1];
const SRC_TIME = 5;
const TGT_TIME = 4;

/** A BiLSTM(hidden=2, layers=2) encoder: memory D = 4, final state 2 layers of 2 × 2. */
function biLstmEncoder(cell: RecurrentKind = 'lstm', bridge = false): EncoderConfig {
  return {
    embedding: { prefix: 'src_embedding', vocab: SRC_VOCAB, dim: 3, paddingIdx: 0 },
    recurrent: [
      { prefix: 'pre', cell: 'gru', hidden: 3, layers: 1, bidirectional: false },
      { prefix: 'encoder', cell, hidden: 2, layers: 2, bidirectional: true },
    ],
    ...(bridge ? { bridge: { prefix: 'bridge' } } : {}),
  };
}

interface DecoderOptions {
  readonly cell?: RecurrentKind;
  readonly hidden?: number;
  readonly layers?: number;
  readonly score?: AttentionScore;
  readonly placement?: AttentionPlacement;
  readonly inputFeed?: boolean;
  readonly head?: readonly HeadStep[];
  readonly vocab?: number;
  readonly bos?: number;
  readonly eos?: number;
  readonly maxLength?: number;
}

function decoder(o: DecoderOptions = {}): DecoderConfig {
  const vocab = o.vocab ?? TGT_VOCAB;
  return {
    embedding: { prefix: 'tgt_embedding', vocab, dim: 3 },
    ...(o.score
      ? {
          attention: {
            prefix: 'attention',
            score: o.score,
            placement: o.placement ?? 'luong',
            inputFeed: o.inputFeed ?? false,
          },
        }
      : {}),
    recurrent: { prefix: 'decoder', cell: o.cell ?? 'lstm', hidden: o.hidden ?? 4, layers: o.layers ?? 2 },
    head: o.head ?? [{ kind: 'linear', prefix: 'generator', out: vocab }],
    bos: o.bos ?? 1,
    eos: o.eos ?? 2,
    maxLength: o.maxLength ?? 6,
  };
}

function randomIds(random: () => number, rows: number, time: number, vocab: number): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: time }, () => Math.floor(random() * vocab)));
}

/** Source ids with 0 (the padding id) past each row's length. */
function randomSource(random: () => number): number[][] {
  return randomIds(random, SRC_LENGTHS.length, SRC_TIME, SRC_VOCAB).map((row, b) =>
    row.map((id, t) => (t < SRC_LENGTHS[b]! ? 1 + (id % (SRC_VOCAB - 1)) : 0)),
  );
}

/** Target inputs starting with bos. */
function randomTarget(random: () => number, dec: DecoderConfig, rows = SRC_LENGTHS.length): number[][] {
  return randomIds(random, rows, TGT_TIME, dec.embedding.vocab).map((row) => [dec.bos, ...row.slice(1)]);
}

/** The decoder loop written out by hand: encode, start state, one decoderStep per target step. */
function stepByStep(
  weights: ReadonlyMap<string, ReferenceTensor>,
  enc: EncoderConfig,
  dec: DecoderConfig,
  src: number[][],
  tgtIn: number[][],
): number[][][] {
  const encoded = encode(weights, enc, dec, src, SRC_LENGTHS);
  let state: DecoderState = startState(dec, encoded);
  const perStep: number[][][] = [];
  for (let t = 0; t < tgtIn[0]!.length; t++) {
    const result = decoderStep(
      weights,
      dec,
      state,
      tgtIn.map((row) => row[t]!),
      encoded.memory,
      SRC_LENGTHS,
    );
    perStep.push(result.logits);
    state = result;
  }
  return tgtIn.map((_, b) => perStep.map((logits) => logits[b]!));
}

function matrix(shape: [number, number], values: number[]): ReferenceTensor {
  return { shape, data: Float32Array.from(values) };
}

function vector(values: number[]): ReferenceTensor {
  return { shape: [values.length], data: Float32Array.from(values) };
}

function sigmoid(a: number): number {
  return 1 / (1 + Math.exp(-a));
}

function expectClose(actual: NestedArray, expected: NestedArray, tolerance = TIGHT): void {
  expect(maxAbsDiff(actual, expected)).toBeLessThan(tolerance);
}

const attentionVariants: Array<{ score: AttentionScore; placement: AttentionPlacement; inputFeed: boolean }> = [
  { score: 'dot', placement: 'luong', inputFeed: false },
  { score: 'general', placement: 'luong', inputFeed: false },
  { score: 'additive', placement: 'luong', inputFeed: false },
  { score: 'dot', placement: 'luong', inputFeed: true },
  { score: 'general', placement: 'luong', inputFeed: true },
  { score: 'additive', placement: 'luong', inputFeed: true },
  { score: 'dot', placement: 'bahdanau', inputFeed: false },
  { score: 'general', placement: 'bahdanau', inputFeed: false },
  { score: 'additive', placement: 'bahdanau', inputFeed: false },
];
const variantName = (v: (typeof attentionVariants)[number]) =>
  `${v.score} ${v.placement}${v.inputFeed ? ' input_feed' : ''}`;

// ---------------------------------------------------------------------------------------------

describe('teacher forcing', () => {
  it.each(attentionVariants.map((v) => ({ ...v, name: variantName(v) })))(
    'equals the step-by-step loop: $name',
    (v) => {
      const random = seededRandom(100 + attentionVariants.findIndex((w) => variantName(w) === v.name));
      const enc = biLstmEncoder();
      const dec = decoder({ score: v.score, placement: v.placement, inputFeed: v.inputFeed });
      const weights = randomSeq2seqWeights(random, enc, dec);
      const src = randomSource(random);
      const tgtIn = randomTarget(random, dec);
      const logits = teacherForced(weights, enc, dec, src, SRC_LENGTHS, tgtIn);
      expect([logits.length, logits[0]!.length, logits[0]![0]!.length]).toEqual([3, TGT_TIME, TGT_VOCAB]);
      expect(logits).toEqual(stepByStep(weights, enc, dec, src, tgtIn));
    },
  );

  it.each(['dot', 'general', 'additive'] as const)(
    'Luong %s without input feeding equals the recurrent layer over the whole target, then attention per step',
    (score) => {
      const random = seededRandom(120);
      const enc = biLstmEncoder();
      const dec = decoder({ score });
      const weights = randomSeq2seqWeights(random, enc, dec);
      const src = randomSource(random);
      const tgtIn = randomTarget(random, dec);
      const encoded = encode(weights, enc, dec, src, SRC_LENGTHS);
      const states = recurrent(
        'lstm',
        { hidden: 4, layers: 2, bidirectional: false, h0: encoded.h0, c0: encoded.c0! },
        'decoder',
        weights,
        embedding(weights, 'tgt_embedding', tgtIn),
      ).output;
      const expected = tgtIn.map((_, b) =>
        tgtIn[0]!.map((_, t) => {
          const o = [states[b]![t]!];
          const attended = attend(weights, dec.attention!, o, [encoded.memory[b]!], [SRC_LENGTHS[b]!]);
          return linear(weights, 'generator', luongOutput(weights, dec.attention!, attended.context, o))[0]!;
        }),
      );
      expectClose(teacherForced(weights, enc, dec, src, SRC_LENGTHS, tgtIn), expected);
    },
  );
});

describe('Bahdanau placement', () => {
  it.each(['dot', 'general', 'additive'] as const)(
    '%s: the query is the top layer of the state before the step, x = [e ; ctx]',
    (score) => {
      const random = seededRandom(130);
      const enc = biLstmEncoder();
      const dec = decoder({ score, placement: 'bahdanau' });
      const weights = randomSeq2seqWeights(random, enc, dec);
      expect(weights.get('decoder.weight_ih_l0')!.shape).toEqual([16, 3 + 4]);
      expect(weights.has('attention.linear_out.weight')).toBe(false);
      const src = randomSource(random);
      const tgtIn = randomTarget(random, dec);
      const encoded = encode(weights, enc, dec, src, SRC_LENGTHS);
      let state = startState(dec, encoded);
      for (let t = 0; t < TGT_TIME; t++) {
        const tokens = tgtIn.map((row) => row[t]!);
        const result = decoderStep(weights, dec, state, tokens, encoded.memory, SRC_LENGTHS);
        const attended = attend(weights, dec.attention!, state.h[1]!, encoded.memory, SRC_LENGTHS);
        const e = embedding(
          weights,
          'tgt_embedding',
          tokens.map((y) => [y]),
        );
        const x = e.map((row, b) => [[...row[0]!, ...attended.context[b]!]]);
        const stepped = recurrent(
          'lstm',
          { hidden: 4, layers: 2, bidirectional: false, h0: state.h, c0: state.c! },
          'decoder',
          weights,
          x,
        );
        expectClose(result.attention!, attended.weights);
        expectClose(result.h, stepped.hn);
        expectClose(result.c!, stepped.cn!);
        expectClose(result.logits, linear(weights, 'generator', stepped.hn[1]!));
        expect(result.feed).toBeUndefined();
        state = result;
      }
    },
  );
});

describe('decoders without attention vs the recurrent reference over the whole target', () => {
  const cells: RecurrentKind[] = ['lstm', 'gru', 'rnn'];

  it.each(cells)('language model, %s decoder, 2 layers, richer head', (cell) => {
    const random = seededRandom(200 + cells.indexOf(cell));
    const head: HeadStep[] = [
      { kind: 'linear', prefix: 'proj', out: 6 },
      { kind: 'layerNorm', prefix: 'norm' },
      { kind: 'activation', fn: 'relu' },
      { kind: 'dropout' },
      { kind: 'linear', prefix: 'generator', out: TGT_VOCAB, bias: false },
      { kind: 'activation', fn: 'log_softmax' },
    ];
    const dec = decoder({ cell, hidden: 3, head });
    const weights = randomSeq2seqWeights(random, undefined, dec);
    const tgtIn = randomTarget(random, dec);
    const states = recurrent(
      cell,
      { hidden: 3, layers: 2, bidirectional: false },
      'decoder',
      weights,
      embedding(weights, 'tgt_embedding', tgtIn),
    );
    const expected = logSoftmax(
      linear(weights, 'generator', relu(layerNorm(weights, 'norm', linear(weights, 'proj', states.output))), {
        bias: false,
      }),
    );
    expectClose(teacherForced(weights, undefined, dec, undefined, undefined, tgtIn), expected);

    // The state after the last step is the recurrent layer's h_n (and c_n).
    let state = zeroState(dec, tgtIn.length);
    for (let t = 0; t < TGT_TIME; t++)
      state = decoderStep(
        weights,
        dec,
        state,
        tgtIn.map((row) => row[t]!),
      );
    expectClose(state.h, states.hn);
    if (cell === 'lstm') expectClose(state.c!, states.cn!);
    else expect(state.c).toBeUndefined();
  });

  it.each([
    { decoderCell: 'lstm', encoderCell: 'lstm', bridge: false },
    { decoderCell: 'gru', encoderCell: 'lstm', bridge: false },
    { decoderCell: 'lstm', encoderCell: 'gru', bridge: false },
    { decoderCell: 'lstm', encoderCell: 'lstm', bridge: true },
    { decoderCell: 'gru', encoderCell: 'lstm', bridge: true },
    { decoderCell: 'lstm', encoderCell: 'gru', bridge: true },
  ] as const)('translator, $decoderCell decoder from a $encoderCell encoder, bridge=$bridge', (c) => {
    const random = seededRandom(210);
    const enc = biLstmEncoder(c.encoderCell, c.bridge);
    // A bridge lets the decoder's state differ in layers and size from the encoder's.
    const sizes = c.bridge ? { hidden: 3, layers: 3 } : { hidden: 4, layers: 2 };
    const dec = decoder({ cell: c.decoderCell, ...sizes });
    const weights = randomSeq2seqWeights(random, enc, dec);
    const src = randomSource(random);
    const tgtIn = randomTarget(random, dec);
    const encoded = encode(weights, enc, dec, src, SRC_LENGTHS);
    const options = {
      ...sizes,
      bidirectional: false,
      h0: encoded.h0,
      ...(c.decoderCell === 'lstm' ? { c0: encoded.c0! } : {}),
    };
    const states = recurrent(c.decoderCell, options, 'decoder', weights, embedding(weights, 'tgt_embedding', tgtIn));
    expectClose(teacherForced(weights, enc, dec, src, SRC_LENGTHS, tgtIn), linear(weights, 'generator', states.output));
  });
});

describe('the initial state from the encoder', () => {
  const random = seededRandom(300);
  const src = randomSource(random);

  it('memory is the last encoder layer output, zero past the lengths; h0 and c0 join the directions', () => {
    const enc = biLstmEncoder();
    const dec = decoder();
    const weights = randomSeq2seqWeights(random, enc, dec);
    const encoded = encode(weights, enc, dec, src, SRC_LENGTHS);
    expect(memorySize(enc)).toBe(4);

    const first = recurrent(
      'gru',
      { hidden: 3, layers: 1, bidirectional: false },
      'pre',
      weights,
      embedding(weights, 'src_embedding', src),
      SRC_LENGTHS,
    );
    const last = recurrent(
      'lstm',
      { hidden: 2, layers: 2, bidirectional: true },
      'encoder',
      weights,
      first.output,
      SRC_LENGTHS,
    );
    expect(encoded.memory).toEqual(last.output);
    encoded.memory.forEach((row, b) => row.slice(SRC_LENGTHS[b]).forEach((step) => expect(step).toEqual([0, 0, 0, 0])));
    // h_enc[l] = [h_n[2l] ; h_n[2l+1]].
    for (let l = 0; l < 2; l++) {
      src.forEach((_, b) => {
        expect(encoded.h0[l]![b]).toEqual([...last.hn[2 * l]![b]!, ...last.hn[2 * l + 1]![b]!]);
        expect(encoded.c0![l]![b]).toEqual([...last.cn![2 * l]![b]!, ...last.cn![2 * l + 1]![b]!]);
      });
    }
  });

  it('c0 is zeros for an LSTM decoder after a GRU encoder, and absent for a GRU decoder', () => {
    const enc = biLstmEncoder('gru');
    const weights = randomSeq2seqWeights(random, enc, decoder());
    expect(encode(weights, enc, decoder(), src, SRC_LENGTHS).c0).toEqual([0, 1].map(() => src.map(() => [0, 0, 0, 0])));
    expect(encode(weights, enc, decoder({ cell: 'gru' }), src, SRC_LENGTHS).c0).toBeUndefined();
  });

  it('bridge=linear: h0 = tanh(W_h [h_enc[0] ; h_enc[1]] + b_h) cut into L chunks of H; c0 likewise', () => {
    const enc = biLstmEncoder('lstm', true);
    const dec = decoder({ hidden: 3, layers: 3 });
    const weights = randomSeq2seqWeights(random, enc, dec);
    expect(weights.get('bridge.h.weight')!.shape).toEqual([9, 8]);
    expect(weights.get('bridge.h.bias')!.shape).toEqual([9]);
    expect(weights.get('bridge.c.weight')!.shape).toEqual([9, 8]);
    const encoded = encode(weights, enc, dec, src, SRC_LENGTHS);
    const pre = embedding(weights, 'src_embedding', src);
    const first = recurrent('gru', { hidden: 3, layers: 1, bidirectional: false }, 'pre', weights, pre, SRC_LENGTHS);
    const last = recurrent(
      'lstm',
      { hidden: 2, layers: 2, bidirectional: true },
      'encoder',
      weights,
      first.output,
      SRC_LENGTHS,
    );
    src.forEach((_, b) => {
      // PyTorch's h_n order (l0, l0_reverse, l1, l1_reverse) is already [h_enc[0] ; h_enc[1]].
      const hJoined = [0, 1, 2, 3].flatMap((k) => last.hn[k]![b]!);
      const cJoined = [0, 1, 2, 3].flatMap((k) => last.cn![k]![b]!);
      const h = linear(weights, 'bridge.h', hJoined).map(Math.tanh);
      const c = linear(weights, 'bridge.c', cJoined).map(Math.tanh);
      for (let l = 0; l < 3; l++) {
        expectClose(encoded.h0[l]![b]!, h.slice(3 * l, 3 * l + 3));
        expectClose(encoded.c0![l]![b]!, c.slice(3 * l, 3 * l + 3));
      }
    });
  });

  it('without a bridge, mismatched sizes are refused (SEQ040)', () => {
    const enc = biLstmEncoder();
    const weights = randomSeq2seqWeights(random, enc, decoder());
    expect(() => encode(weights, enc, decoder({ hidden: 2 }), src, SRC_LENGTHS)).toThrow(/SEQ040/);
    expect(() => encode(weights, enc, decoder({ layers: 1 }), src, SRC_LENGTHS)).toThrow(/SEQ040/);
  });
});

describe('masked attention', () => {
  it.each(attentionVariants.map((v) => ({ ...v, name: variantName(v) })))('$name', (v) => {
    const random = seededRandom(400);
    const enc = biLstmEncoder();
    const dec = decoder({ score: v.score, placement: v.placement, inputFeed: v.inputFeed });
    const weights = randomSeq2seqWeights(random, enc, dec);
    const src = randomSource(random);
    const encoded = encode(weights, enc, dec, src, SRC_LENGTHS);
    const state = startState(dec, encoded);
    const tokens = [dec.bos, 3, 4];
    const clean = decoderStep(weights, dec, state, tokens, encoded.memory, SRC_LENGTHS);

    // Garbage at padded source steps changes nothing.
    const noise = randomArray(random, [3, SRC_TIME, 4], 50) as number[][][];
    const dirty = encoded.memory.map((row, b) => row.map((step, j) => (j < SRC_LENGTHS[b]! ? step : noise[b]![j]!)));
    expect(decoderStep(weights, dec, state, tokens, dirty, SRC_LENGTHS)).toEqual(clean);

    // Other source ids at padded steps change nothing either, end to end.
    const otherSrc = src.map((row, b) =>
      row.map((id, j) => (j < SRC_LENGTHS[b]! ? id : 1 + ((id + j) % (SRC_VOCAB - 1)))),
    );
    const tgtIn = randomTarget(random, dec);
    expect(teacherForced(weights, enc, dec, otherSrc, SRC_LENGTHS, tgtIn)).toEqual(
      teacherForced(weights, enc, dec, src, SRC_LENGTHS, tgtIn),
    );

    // α sums to 1 over the valid steps and is exactly 0 at the padded ones.
    const alpha = clean.attention!;
    expect(alpha.map((row) => row.length)).toEqual([SRC_TIME, SRC_TIME, SRC_TIME]);
    alpha.forEach((row, b) => {
      expect(Math.abs(row.reduce((a, x) => a + x, 0) - 1)).toBeLessThan(TIGHT);
      row.forEach((a, j) => (j < SRC_LENGTHS[b]! ? expect(a).toBeGreaterThan(0) : expect(a).toBe(0)));
    });
    // A length-1 row attends only to its one step.
    expect(alpha[2]![0]).toBe(1);
  });
});

describe('attention worked out by hand', () => {
  // One row of memory with D = 2 and three steps, the last one padded: M = [[1,0], [0,1], [5,5]].
  const memory = [
    [
      [1, 0],
      [0, 1],
      [5, 5],
    ],
  ];
  const lengths = [2];

  it('dot: s_j = q · M_j', () => {
    // q = [1, 0]: s = [1, 0, −∞], α = [σ(1), σ(−1), 0] = [0.7310585786, 0.2689414214, 0],
    // ctx = α_0 [1,0] + α_1 [0,1] = [0.7310585786, 0.2689414214].
    const result = attend(new Map(), { prefix: 'attention', score: 'dot' }, [[1, 0]], memory, lengths);
    expectClose(result.weights, [[sigmoid(1), sigmoid(-1), 0]]);
    expectClose(result.weights, [[0.7310585786300049, 0.2689414213699951, 0]]);
    expectClose(result.context, [[sigmoid(1), sigmoid(-1)]]);
  });

  it('general: s_j = (W_in q) · M_j with linear_in.weight [D, Q], here D = 2 and Q = 3', () => {
    // W_in = [[0,2,0],[0,0,1]], q = [0,1,0]: W_in q = [2, 0] (W_inᵀ would not even fit),
    // s = [2, 0], α = [σ(2), σ(−2)] = [0.8807970780, 0.1192029220], ctx = α.
    const weights = new Map([['attention.linear_in.weight', matrix([2, 3], [0, 2, 0, 0, 0, 1])]]);
    const result = attend(weights, { prefix: 'attention', score: 'general' }, [[0, 1, 0]], memory, lengths);
    expectClose(result.weights, [[0.8807970779778823, 0.11920292202211755, 0]]);
    expectClose(result.context, [[sigmoid(2), sigmoid(-2)]]);
  });

  const additiveWeights = new Map([
    ['attention.linear_query.weight', matrix([2, 2], [0, 1, 0, 0])],
    ['attention.linear_query.bias', vector([0.5, 0])],
    ['attention.linear_context.weight', matrix([2, 2], [2, 0, 0, 1])],
    ['attention.v.weight', matrix([1, 2], [1, 0.5])],
  ]);
  // q = [0, 0.5]: W_q q + b_q = [0.5, 0] + [0.5, 0] = [1, 0].
  // j = 0: W_c M_0 = [2, 0], tanh([3, 0]) · v = tanh 3 = 0.9950547537.
  // j = 1: W_c M_1 = [0, 1], tanh([1, 1]) · v = 1.5 tanh 1 = 1.1423912339.
  // α_0 = σ(tanh 3 − 1.5 tanh 1) = 0.4632323686, α_1 = 0.5367676314, ctx = α.
  const additiveAlpha = sigmoid(Math.tanh(3) - 1.5 * Math.tanh(1));

  it('additive: s_j = v · tanh(W_q q + b_q + W_c M_j)', () => {
    const result = attend(additiveWeights, { prefix: 'attention', score: 'additive' }, [[0, 0.5]], memory, lengths);
    expectClose(result.weights, [[0.4632323686491473, 0.5367676313508527, 0]]);
    expectClose(result.context, [[additiveAlpha, 1 - additiveAlpha]]);
  });

  const linearOut = matrix([2, 4], [1, 0, 1, 0, 0, 1, 0, -1]);

  it.each(['dot', 'general'] as const)('Luong %s: a = tanh(linear_out [ctx ; o]), no bias', (score) => {
    // ctx = [σ(1), σ(−1)], o = [1, 0]: W_out [ctx ; o] = [ctx_0 + o_0, ctx_1 − o_1] = [1.7310585786, 0.2689414214],
    // a = tanh(…) = [0.9391809056, 0.2626395514].
    const weights = new Map([['attention.linear_out.weight', linearOut]]);
    const a = luongOutput(weights, { prefix: 'attention', score }, [[sigmoid(1), sigmoid(-1)]], [[1, 0]]);
    expectClose(a, [[0.9391809056157826, 0.26263955140401585]]);
  });

  it('Luong additive: a = linear_out [ctx ; o] + b, no tanh', () => {
    // ctx = [α_0, α_1] from above, o = [0, 0.5], b = [0.5, −1]:
    // a = [α_0 + 0 + 0.5, α_1 − 0.5 − 1] = [0.9632323686, −0.9632323686] (outside tanh's range on purpose).
    const weights = new Map([
      ['attention.linear_out.weight', linearOut],
      ['attention.linear_out.bias', vector([0.5, -1])],
    ]);
    const a = luongOutput(
      weights,
      { prefix: 'attention', score: 'additive' },
      [[additiveAlpha, 1 - additiveAlpha]],
      [[0, 0.5]],
    );
    expectClose(a, [[0.9632323686491473, -0.9632323686491473]]);
  });

  // A one-layer relu RNN with hidden 2 whose step is easy to follow, and an identity generator, so
  // a whole decoderStep can be worked out by hand.
  function handDecoder(
    placement: AttentionPlacement,
    weightIh: ReferenceTensor,
    biasIh: number[],
  ): {
    dec: DecoderConfig;
    weights: Map<string, ReferenceTensor>;
  } {
    const dec: DecoderConfig = {
      embedding: { prefix: 'emb', vocab: 2, dim: 1 },
      attention: { prefix: 'attention', score: 'dot', placement, inputFeed: false },
      recurrent: { prefix: 'rnn', cell: 'rnn', hidden: 2, layers: 1, nonlinearity: 'relu' },
      head: [{ kind: 'linear', prefix: 'generator', out: 2 }],
      bos: 0,
      eos: 1,
      maxLength: 3,
    };
    const weights = new Map<string, ReferenceTensor>([
      ['emb.weight', matrix([2, 1], [7, 9])],
      ['rnn.weight_ih_l0', weightIh],
      ['rnn.weight_hh_l0', matrix([2, 2], [0, 0, 0, 0])],
      ['rnn.bias_ih_l0', vector(biasIh)],
      ['rnn.bias_hh_l0', vector([0, 0])],
      ['attention.linear_out.weight', linearOut],
      ['generator.weight', matrix([2, 2], [1, 0, 0, 1])],
      ['generator.bias', vector([0, 0])],
    ]);
    return { dec, weights };
  }

  it('a whole Luong dot step: the query is the new top state', () => {
    // Zero recurrent weights and bias [1, 0]: h' = relu([1, 0]) = [1, 0] = o, whatever the token.
    // Then α = [σ(1), σ(−1), 0] and a = [0.9391809056, 0.2626395514] as above; the generator is the identity.
    const { dec, weights } = handDecoder('luong', matrix([2, 1], [0, 0]), [1, 0]);
    const result = decoderStep(weights, dec, { h: [[[0.3, -0.3]]] }, [1], memory, lengths);
    expectClose(result.h, [[[1, 0]]]);
    expectClose(result.attention!, [[sigmoid(1), sigmoid(-1), 0]]);
    expectClose(result.logits, [[0.9391809056157826, 0.26263955140401585]]);
    expect(result.feed).toBeUndefined();
  });

  it('a whole Bahdanau dot step: the query is the previous top state and ctx joins the input', () => {
    // h = [1, 0] before the step, so α = [σ(1), σ(−1), 0] and ctx = [σ(1), σ(−1)]. x = [e ; ctx] with
    // e = [9] for token 1; weight_ih = [[0,1,0],[0,0,1]] picks ctx, so h' = relu(ctx) = ctx, and
    // there is no linear_out: logits = ctx.
    const { dec, weights } = handDecoder('bahdanau', matrix([2, 3], [0, 1, 0, 0, 0, 1]), [0, 0]);
    weights.delete('attention.linear_out.weight');
    const result = decoderStep(weights, dec, { h: [[[1, 0]]] }, [1], memory, lengths);
    expectClose(result.attention!, [[sigmoid(1), sigmoid(-1), 0]]);
    expectClose(result.h, [[[sigmoid(1), sigmoid(-1)]]]);
    expectClose(result.logits, [[0.7310585786300049, 0.2689414213699951]]);
  });
});

describe('input feeding', () => {
  it.each(['dot', 'general', 'additive'] as const)(
    '%s: feed is zero at t = 0, then the previous attentional vector',
    (score) => {
      const random = seededRandom(500);
      const enc = biLstmEncoder();
      const dec = decoder({ score, inputFeed: true });
      const weights = randomSeq2seqWeights(random, enc, dec);
      expect(weights.get('decoder.weight_ih_l0')!.shape).toEqual([16, 3 + 4]);
      const src = randomSource(random);
      const tgtIn = randomTarget(random, dec);
      const encoded = encode(weights, enc, dec, src, SRC_LENGTHS);
      let state = startState(dec, encoded);
      expect(state.feed).toEqual([0, 1, 2].map(() => [0, 0, 0, 0]));

      for (let t = 0; t < TGT_TIME; t++) {
        const tokens = tgtIn.map((row) => row[t]!);
        const result = decoderStep(weights, dec, state, tokens, encoded.memory, SRC_LENGTHS);
        // The recurrent layer saw x = [e ; feed], with the feed passed in.
        const e = embedding(
          weights,
          'tgt_embedding',
          tokens.map((y) => [y]),
        );
        const x = e.map((row, b) => [[...row[0]!, ...state.feed![b]!]]);
        const stepped = recurrent(
          'lstm',
          { hidden: 4, layers: 2, bidirectional: false, h0: state.h, c0: state.c! },
          'decoder',
          weights,
          x,
        );
        expectClose(result.h, stepped.hn);
        expectClose(result.c!, stepped.cn!);
        // feed' is the attentional vector a, and the logits are the head applied to it.
        const o = result.h[1]!;
        const a = luongOutput(
          weights,
          dec.attention!,
          attend(weights, dec.attention!, o, encoded.memory, SRC_LENGTHS).context,
          o,
        );
        expectClose(result.feed!, a);
        expectClose(result.logits, linear(weights, 'generator', a));
        state = result;
      }
    },
  );

  it('the feed matters: a nonzero feed at t = 0 gives other logits', () => {
    const random = seededRandom(501);
    const enc = biLstmEncoder();
    const dec = decoder({ score: 'general', inputFeed: true });
    const weights = randomSeq2seqWeights(random, enc, dec);
    const encoded = encode(weights, enc, dec, randomSource(random), SRC_LENGTHS);
    const start = startState(dec, encoded);
    const fed = { ...start, feed: [0, 1, 2].map(() => [0.5, 0.5, 0.5, 0.5]) };
    const tokens = [1, 1, 1];
    const a = decoderStep(weights, dec, start, tokens, encoded.memory, SRC_LENGTHS).logits;
    const b = decoderStep(weights, dec, fed, tokens, encoded.memory, SRC_LENGTHS).logits;
    expect(maxAbsDiff(a, b)).toBeGreaterThan(1e-3);
  });
});

describe('parameters', () => {
  it('have the names and shapes of docs/seq2seq.md', () => {
    const random = seededRandom(600);
    const enc = biLstmEncoder();
    const shapes = (dec: DecoderConfig) => {
      const shown = [...randomSeq2seqWeights(random, enc, dec)].filter(
        ([name]) => name.startsWith('attention') || name.startsWith('decoder.weight_ih'),
      );
      return Object.fromEntries(shown.map(([name, t]) => [name, t.shape]));
    };
    // D = 4 (BiLSTM 2 × 2), Q = H = 6 (general and additive allow Q ≠ D), E = 3.
    expect(shapes(decoder({ score: 'general', hidden: 6, layers: 2, cell: 'gru' }))).toEqual({
      'decoder.weight_ih_l0': [18, 3],
      'decoder.weight_ih_l1': [18, 6],
      'attention.linear_in.weight': [4, 6],
      'attention.linear_out.weight': [6, 10],
    });
    expect(shapes(decoder({ score: 'additive', hidden: 6, inputFeed: true, cell: 'gru' }))).toEqual({
      'decoder.weight_ih_l0': [18, 9],
      'decoder.weight_ih_l1': [18, 6],
      'attention.linear_query.weight': [4, 6],
      'attention.linear_query.bias': [4],
      'attention.linear_context.weight': [4, 4],
      'attention.v.weight': [1, 4],
      'attention.linear_out.weight': [6, 10],
      'attention.linear_out.bias': [6],
    });
    expect(shapes(decoder({ score: 'dot', placement: 'bahdanau', hidden: 4, cell: 'gru' }))).toEqual({
      'decoder.weight_ih_l0': [12, 7],
      'decoder.weight_ih_l1': [12, 4],
    });
    expect(() => randomSeq2seqWeights(random, enc, decoder({ score: 'dot', hidden: 6 }))).toThrow(/H = D/);
    expect(() =>
      randomSeq2seqWeights(random, enc, decoder({ score: 'dot', placement: 'bahdanau', inputFeed: true })),
    ).toThrow(/Luong/);
  });
});

describe('greedy decoding', () => {
  it('tokens are argmax of the teacher-forced logits; eos-filled after eos; lengths count eos', () => {
    const random = seededRandom(700);
    const enc = biLstmEncoder();
    const probe = decoder({ score: 'general', inputFeed: true, maxLength: 6 });
    const weights = randomSeq2seqWeights(random, enc, probe, { scale: 1.5 });
    const src = randomSource(random);
    // eos does not change what is computed before it, so pick as eos a token the probe generated
    // second in row 0: then row 0 must stop there.
    const first = greedy(weights, enc, probe, src, SRC_LENGTHS);
    const eos = first.tokens[0]![1]!;
    const dec = { ...probe, eos };
    const result = greedy(weights, enc, dec, src, SRC_LENGTHS);
    expect(result.lengths[0]).toBeLessThanOrEqual(2);
    result.tokens.forEach((row, b) => {
      const length = result.lengths[b]!;
      expect(row).toHaveLength(6);
      expect(row.slice(0, length)).toEqual(first.tokens[b]!.slice(0, length));
      expect(row.slice(0, length - 1)).not.toContain(eos);
      if (length < 6) expect(row[length - 1]).toBe(eos);
      expect(row.slice(length)).toEqual(new Array(6 - length).fill(eos));
    });
    // Scoring [bos, y_0 … y_{n−2}] reproduces every generated token as the argmax.
    const tgtIn = first.tokens.map((row) => [dec.bos, ...row.slice(0, 5)]);
    const logits = teacherForced(weights, enc, dec, src, SRC_LENGTHS, tgtIn);
    expect(logits.map((row) => row.map(argmax))).toEqual(first.tokens);
  });

  it('a language model feeds the prompt as is, or bos for an empty prompt, from the zero state', () => {
    const random = seededRandom(701);
    const dec = decoder({ cell: 'gru', maxLength: 4, eos: 0 });
    const weights = randomSeq2seqWeights(random, undefined, dec, { scale: 1.5 });
    const prompt = [
      [1, 3, 4],
      [2, 2, 0],
    ];
    const result = greedy(weights, undefined, dec, undefined, undefined, prompt);
    result.tokens.forEach((row, b) => {
      // The first generated token comes from the logits after the last prompt token.
      const fed = [...prompt[b]!, ...row.slice(0, result.lengths[b]! - 1)];
      const logits = teacherForced(weights, undefined, dec, undefined, undefined, [fed])[0]!;
      expect(logits.slice(prompt[b]!.length - 1).map(argmax)).toEqual(row.slice(0, result.lengths[b]!));
    });
    const empty = greedy(weights, undefined, dec, undefined, undefined, [[], []]);
    const fromBos = greedy(weights, undefined, dec, undefined, undefined, [[dec.bos], [dec.bos]]);
    expect(empty).toEqual(fromBos);
  });
});

describe('exhaustive search', () => {
  /**
   * The brute force: every sequence of exactly maxLen tokens, cut after its first eos, deduplicated,
   * each scored in one teacher-forced pass by summing log_softmax at the fed tokens.
   */
  function bruteForce(
    sequenceLogProb: (tokens: number[]) => number,
    vocab: number,
    maxLen: number,
    eos: number,
    alpha: number,
  ): { tokens: number[]; logProb: number } {
    const seen = new Map<string, number[]>();
    for (let code = 0; code < vocab ** maxLen; code++) {
      const digits = Array.from({ length: maxLen }, (_, i) => Math.floor(code / vocab ** (maxLen - 1 - i)) % vocab);
      const end = digits.indexOf(eos);
      const tokens = end === -1 ? digits : digits.slice(0, end + 1);
      seen.set(tokens.join(','), tokens);
    }
    let bestTokens: number[] = [];
    let bestScore = -Infinity;
    let bestLogProb = -Infinity;
    for (const tokens of seen.values()) {
      const logProb = sequenceLogProb(tokens);
      const score = logProb / ((5 + tokens.length) / 6) ** alpha;
      if (score > bestScore) [bestTokens, bestScore, bestLogProb] = [tokens, score, logProb];
    }
    return { tokens: bestTokens, logProb: bestLogProb };
  }

  it('finds the most probable sequence of a tiny translator (3 tokens, maxLen 4)', () => {
    const random = seededRandom(800);
    const enc = biLstmEncoder();
    const dec = decoder({ score: 'additive', vocab: 3, bos: 0, eos: 2, maxLength: 4 });
    const weights = randomSeq2seqWeights(random, enc, dec, { scale: 1.5 });
    const src = randomSource(random);
    const row = 1;
    const logProbs = nextTokenLogProbs(weights, enc, dec, src[row]!, SRC_LENGTHS[row]!);
    const sequenceLogProb = (tokens: number[]): number => {
      const logits = teacherForced(
        weights,
        enc,
        dec,
        [src[row]!],
        [SRC_LENGTHS[row]!],
        [[0, ...tokens.slice(0, -1)]],
      )[0]!;
      return tokens.reduce((total, token, t) => total + logSoftmax(logits[t]!)[token]!, 0);
    };
    for (const alpha of [0, 0.6, 2]) {
      const expected = bruteForce(sequenceLogProb, 3, 4, 2, alpha);
      const found =
        alpha === 0 ? exhaustiveBest(logProbs, 3, 4, 2) : exhaustiveBestWithLengthPenalty(logProbs, 3, 4, 2, alpha);
      expect(found.tokens).toEqual(expected.tokens);
      expect(Math.abs(found.logProb - expected.logProb)).toBeLessThan(1e-9);
      expect(Math.abs(found.score - expected.logProb / gnmtLengthPenalty(expected.tokens.length, alpha))).toBeLessThan(
        1e-9,
      );
    }
  });

  // A hand-made distribution where greedy is wrong and the length penalty changes the winner.
  // Tokens 0, 1 and eos = 2. First step: p = [0.5, 0.4, 0.1]. After [0]: uniform 1/3. After [1]:
  // p(eos) = 0.9. After anything longer: p(eos) = 0.98.
  const table: NextTokenLogProbs = (prefix) => {
    if (prefix.length === 0) return [0.5, 0.4, 0.1].map(Math.log);
    if (prefix.length === 1) return (prefix[0] === 0 ? [1 / 3, 1 / 3, 1 / 3] : [0.05, 0.05, 0.9]).map(Math.log);
    return [0.01, 0.01, 0.98].map(Math.log);
  };

  it('beats greedy on a hand-made distribution', () => {
    // Greedy takes 0 (p 0.5) and can reach at most 0.5 · 1/3 = 0.1667; [1, eos] has 0.4 · 0.9 = 0.36.
    const found = exhaustiveBest(table, 3, 4, 2);
    expect(found.tokens).toEqual([1, 2]);
    expect(found.logProb).toBeCloseTo(Math.log(0.36), 12);
    expect(found).toEqual({ ...found, score: found.logProb });
  });

  it('with a length penalty, can prefer a longer hypothesis', () => {
    // First step: p = [0.45, 0.05, 0.5]; after any prefix: p = [0.96, 0.02, 0.02].
    // [eos]: log 0.5 = −0.6931, lp = 1.   [0, 0, 0, 0] (reaches maxLen): log(0.45 · 0.96³) = −0.9211,
    // lp(4) = (9/6)^α. α = 0: [eos] wins. α = 1: −0.9211 / 1.5 = −0.6141 > −0.6931, so [0, 0, 0, 0] wins.
    const long: NextTokenLogProbs = (prefix) =>
      (prefix.length === 0 ? [0.45, 0.05, 0.5] : [0.96, 0.02, 0.02]).map(Math.log);
    const sequenceLogProb = (tokens: number[]) =>
      tokens.reduce((total, token, t) => total + long(tokens.slice(0, t))[token]!, 0);
    expect(exhaustiveBest(long, 3, 4, 2).tokens).toEqual([2]);
    const penalised = exhaustiveBestWithLengthPenalty(long, 3, 4, 2, 1);
    expect(penalised.tokens).toEqual([0, 0, 0, 0]);
    expect(penalised.logProb).toBeCloseTo(Math.log(0.45 * 0.96 ** 3), 12);
    expect(penalised.score).toBeCloseTo(Math.log(0.45 * 0.96 ** 3) / 1.5, 12);
    expect(penalised.tokens).toEqual(bruteForce(sequenceLogProb, 3, 4, 2, 1).tokens);
    const tableLogProb = (tokens: number[]) =>
      tokens.reduce((total, token, t) => total + table(tokens.slice(0, t))[token]!, 0);
    expect(exhaustiveBestWithLengthPenalty(table, 3, 4, 2, 1).tokens).toEqual(
      bruteForce(tableLogProb, 3, 4, 2, 1).tokens,
    );
    expect(gnmtLengthPenalty(7, 1)).toBe(2);
  });
});
