// Numeric tests: specs compiled by seqc, with weights loaded from safetensors under PyTorch names,
// run in onnxruntime-node and compared with the float64 PyTorch-equation reference and, where
// TensorFlow.js Layers has the layer, with tfjs run row by row at each row's true length.
//
// Nothing here compares seqc with seqc alone: every model's numbers are checked against a
// reference first; the few invariance checks (opsets, batch vs rows, padding) come on top.
// Set SEQC_NUMERIC_REPORT=1 to print the largest error seen per kind of comparison.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { compile } from '../src/index.js';
import { writeSafetensors, writeSafetensorsAs } from '../src/weights/safetensors.js';
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
import type {
  NestedArray,
  PoolKind,
  RecurrentKind,
  RecurrentOptions,
  ReferenceTensor,
  ReferenceWeights,
} from './reference/float64.js';
import { runTfjsStack, useTfjsCpu } from './reference/tfjs.js';
import type { TfjsLayerSpec, TfjsRecurrentSpec } from './reference/tfjs.js';

/**
 * Where float32 graphs agree with the float64 reference and with tfjs on these tiny sizes, three
 * stacked bidirectional layers included (measured errors stay below 1e-6).
 */
const TIGHT = 1e-5;

/** Batch of three rows with unequal lengths; steps past a row's length hold PAD. */
const LENGTHS = [5, 3, 1];
const TIME = 5;
const FEATURES = 3;
/** The value of padded feature steps: large, so that any leak past a length shows. */
const PAD = 100;

beforeAll(async () => {
  await useTfjsCpu();
});

// ---------------------------------------------------------------------------------------------
// Every recurrent layer kind and option, one and two directions, 1 to 3 layers, with and without
// lengths and initial states.

interface RecurrentConfig {
  readonly title: string;
  readonly kind: RecurrentKind;
  /** Extra spec arguments, each starting with `, `. */
  readonly args: string;
  readonly options: Pick<RecurrentOptions, 'nonlinearity' | 'resetAfter' | 'recurrentActivation' | 'bias'>;
  /** Whether TensorFlow.js Layers has this cell (it has no PyTorch-style GRU). */
  readonly tfjs: boolean;
  /** Weight scale; larger for hard sigmoid so that its clipping is reached. */
  readonly scale: number;
}

const recurrentConfigs: readonly RecurrentConfig[] = [
  { title: 'RNN tanh', kind: 'rnn', args: '', options: {}, tfjs: true, scale: 0.6 },
  {
    title: 'RNN relu',
    kind: 'rnn',
    args: ', nonlinearity=relu',
    options: { nonlinearity: 'relu' },
    tfjs: true,
    scale: 0.6,
  },
  { title: 'RNN bias=false', kind: 'rnn', args: ', bias=false', options: { bias: false }, tfjs: true, scale: 0.6 },
  { title: 'LSTM sigmoid', kind: 'lstm', args: '', options: {}, tfjs: true, scale: 0.6 },
  {
    title: 'LSTM hard_sigmoid',
    kind: 'lstm',
    args: ', recurrent_activation=hard_sigmoid',
    options: { recurrentActivation: 'hard_sigmoid' },
    tfjs: true,
    scale: 1.5,
  },
  { title: 'LSTM bias=false', kind: 'lstm', args: ', bias=false', options: { bias: false }, tfjs: true, scale: 0.6 },
  {
    title: 'GRU reset_after=true',
    kind: 'gru',
    args: ', reset_after=true',
    options: { resetAfter: true },
    tfjs: false,
    scale: 0.6,
  },
  {
    title: 'GRU reset_after=false',
    kind: 'gru',
    args: ', reset_after=false',
    options: { resetAfter: false },
    tfjs: true,
    scale: 0.6,
  },
  {
    title: 'GRU hard_sigmoid',
    kind: 'gru',
    args: ', recurrent_activation=hard_sigmoid',
    options: { recurrentActivation: 'hard_sigmoid' },
    tfjs: false,
    scale: 1.5,
  },
  {
    title: 'GRU reset_after=false hard_sigmoid',
    kind: 'gru',
    args: ', reset_after=false, recurrent_activation=hard_sigmoid',
    options: { resetAfter: false, recurrentActivation: 'hard_sigmoid' },
    tfjs: true,
    scale: 1.5,
  },
  { title: 'GRU bias=false', kind: 'gru', args: ', bias=false', options: { bias: false }, tfjs: false, scale: 0.6 },
  {
    title: 'GRU reset_after=false bias=false',
    kind: 'gru',
    args: ', reset_after=false, bias=false',
    options: { resetAfter: false, bias: false },
    tfjs: true,
    scale: 0.6,
  },
];

/** 'full': no lengths input; 'lengths': rows of lengths [5, 3, 1]; 'stateful': lengths plus h0/c0 in, hn/cn out. */
type Padding = 'full' | 'lengths' | 'stateful';

interface RecurrentCase {
  readonly config: RecurrentConfig;
  readonly bidirectional: boolean;
  readonly layers: number;
  readonly padding: Padding;
  readonly seed: number;
}

const recurrentCases: RecurrentCase[] = recurrentConfigs.flatMap((config, c) =>
  [false, true].flatMap((bidirectional) =>
    [1, 2, 3].flatMap((layers) =>
      (['full', 'lengths', 'stateful'] as const).map((padding, p) => ({
        config,
        bidirectional,
        layers,
        padding,
        seed: 1000 + c * 100 + (bidirectional ? 50 : 0) + layers * 10 + p,
      })),
    ),
  ),
);

const cellNames: Record<RecurrentKind, string> = { rnn: 'RNN', lstm: 'LSTM', gru: 'GRU' };

/**
 * The layer step for a case. Bidirectional layers use the `Bi*` form, except three-layer ones,
 * which use `bidirectional=true` so that both spellings are exercised; stacks get a dropout
 * between layers, which inference graphs must ignore.
 */
function recurrentStep(c: RecurrentCase): string {
  const cell = cellNames[c.config.kind];
  const name = c.bidirectional && c.layers !== 3 ? `Bi${cell}` : cell;
  const direction = c.bidirectional && c.layers === 3 ? ', bidirectional=true' : '';
  const dropout = c.layers > 1 ? ', dropout=0.25' : '';
  const stateful = c.padding === 'stateful' ? ', stateful=true' : '';
  return `rec: ${name}(hidden=4, layers=${c.layers}${dropout}${direction}${c.config.args}${stateful})`;
}

describe('recurrent layers vs the float64 reference and tfjs', () => {
  const H = 4;

  it.each(recurrentCases.map((c) => ({ ...c, name: caseName(c) })))('$name', async (c) => {
    const random = seededRandom(c.seed);
    const dirs = c.bidirectional ? 2 : 1;
    const sizes = { input: FEATURES, hidden: H, layers: c.layers, bidirectional: c.bidirectional };
    const biasOption = c.config.options.bias === false ? { bias: false } : {};
    const weights = randomRecurrentWeights(random, c.config.kind, 'rec', sizes, {
      ...biasOption,
      scale: c.config.scale,
    });
    const withLengths = c.padding !== 'full';
    const lengths = withLengths ? LENGTHS : undefined;
    const x = padded(randomArray(random, [LENGTHS.length, TIME, FEATURES], 1.5) as number[][][], lengths);
    const stateShape = [c.layers * dirs, LENGTHS.length, H];
    const h0 = c.padding === 'stateful' ? (randomArray(random, stateShape, 0.8) as number[][][]) : undefined;
    const c0 =
      c.padding === 'stateful' && c.config.kind === 'lstm'
        ? (randomArray(random, stateShape, 0.8) as number[][][])
        : undefined;

    const spec = `model Recurrent {
      input x: float32[batch, time, ${FEATURES}]
      ${withLengths ? 'input lengths: lengths(x)' : ''}
      x -> ${recurrentStep(c)} -> output seq
      rec -> last -> output final
      rec -> first -> output head
      rec -> mean -> output avg
      rec -> max -> output peak
    }`;
    const feeds: Feeds = { x: floatTensor(x) };
    if (lengths) feeds['lengths'] = lengthsTensor(lengths);
    if (h0) feeds['rec.h0'] = floatTensor(h0);
    if (c0) feeds['rec.c0'] = floatTensor(c0);
    const out = await runSpec(spec, weights, feeds);

    const options: RecurrentOptions = {
      ...c.config.options,
      hidden: H,
      layers: c.layers,
      bidirectional: c.bidirectional,
      ...(h0 ? { h0 } : {}),
      ...(c0 ? { c0 } : {}),
    };
    const ref = recurrent(c.config.kind, options, 'rec', weights, x, lengths);
    const final = c.bidirectional ? lastOfBidirectional(ref.hn, c.layers) : ref.hn[c.layers - 1]!;
    const category = `recurrent vs float64 (${c.layers} layer${c.layers > 1 ? 's' : ''})`;
    expectClose('seq', category, out['seq'], ref.output, TIGHT);
    expectClose('last', category, out['final'], final, TIGHT);
    expectClose('first', category, out['head'], pool('first', ref.output, lengths), TIGHT);
    expectClose('mean', category, out['avg'], pool('mean', ref.output, lengths), TIGHT);
    expectClose('max', category, out['peak'], pool('max', ref.output, lengths), TIGHT);
    if (c.padding === 'stateful') {
      expectClose('hn', category, out['rec.hn'], ref.hn, TIGHT);
      if (c.config.kind === 'lstm') expectClose('cn', category, out['rec.cn'], ref.cn!, TIGHT);
      else expect(out['rec.cn']).toBeUndefined();
    }
    if (withLengths) expectZeroPast(out['seq']!, LENGTHS);

    // TensorFlow.js has no initial states here, so only zero-state cases are run through it.
    if (c.config.tfjs && c.padding !== 'stateful') {
      const layer: TfjsRecurrentSpec = {
        kind: c.config.kind,
        prefix: 'rec',
        hidden: H,
        layers: c.layers,
        bidirectional: c.bidirectional,
        ...c.config.options,
        returnSequences: true,
      };
      await expectTfjsRows(
        out,
        x,
        lengths ?? x.map(() => TIME),
        [layer],
        weights,
        {
          seq: (rows) => rows,
          final: (rows, length) => finalOfSequence(rows as number[][], length, c.bidirectional ? H : undefined),
        },
        TIGHT,
      );
    }
  });
});

function caseName(c: RecurrentCase): string {
  return `${c.config.title} ${c.bidirectional ? 'bidirectional' : 'forward'} layers=${c.layers} ${c.padding}`;
}

/**
 * The final state derived from a tfjs output sequence cut to a row's length: the last step, or for
 * a bidirectional layer the forward half of the last step ++ the backward half of step 0.
 */
function finalOfSequence(rows: number[][], length: number, biHidden: number | undefined): number[] {
  const last = rows[length - 1]!;
  if (biHidden === undefined) return last;
  return [...last.slice(0, biHidden), ...rows[0]!.slice(biHidden)];
}

// ---------------------------------------------------------------------------------------------
// Whole models: Embedding, Linear, LayerNorm, Dropout, pools and activations.

describe('models vs the float64 reference and tfjs', () => {
  it('tagger: Embedding(padding_idx) -> BiGRU(reset_after=false) -> Linear per token, plus a branch from the label', async () => {
    const random = seededRandom(1);
    const vocab = 7;
    const weights = new Map<string, ReferenceTensor>([
      // The padding row is not zero: with loaded weights, nn.Embedding looks it up as it is.
      ['embedding.weight', randomTensor(random, [vocab, 3], 1)],
      ...randomRecurrentWeights(random, 'gru', 'gru', { input: 3, hidden: 4, layers: 1, bidirectional: true }),
      ['tags.weight', randomTensor(random, [5, 8], 1)],
      ['tags.bias', randomTensor(random, [5], 1)],
      ['fc.weight', randomTensor(random, [2, 8], 1)],
      ['fc.bias', randomTensor(random, [2], 1)],
    ]);
    const spec = `model Tagger {
      input tokens: int64[batch, time]
      input lengths: lengths(tokens)
      tokens -> embedding: Embedding(vocab=${vocab}, dim=3, padding_idx=0) -> gru: BiGRU(hidden=4, reset_after=false) -> tags: Linear(5) -> output logits
      tags -> log_softmax -> output scores
      gru -> last -> fc: Linear(2) -> softmax -> output probs
    }`;
    const ids = [
      [3, 0, 6, 1, 5],
      [2, 4, 1, 0, 0],
      [6, 0, 0, 0, 0],
    ];
    const out = await runSpec(spec, weights, { tokens: int64Tensor(ids), lengths: lengthsTensor(LENGTHS) });

    const embedded = embedding(weights, 'embedding', ids);
    const hidden = recurrent(
      'gru',
      { hidden: 4, layers: 1, bidirectional: true, resetAfter: false },
      'gru',
      weights,
      embedded,
      LENGTHS,
    );
    const logits = linear(weights, 'tags', hidden.output);
    expectClose('logits', 'models vs float64', out['logits'], maskSteps(logits, LENGTHS), TIGHT);
    expectClose('scores', 'models vs float64', out['scores'], maskSteps(logSoftmax(logits), LENGTHS), TIGHT);
    const probs = softmax(linear(weights, 'fc', lastOfBidirectional(hidden.hn, 1)));
    expectClose('probs', 'models vs float64', out['probs'], probs, TIGHT);

    const stem: TfjsLayerSpec[] = [
      { kind: 'embedding', prefix: 'embedding' },
      { kind: 'gru', prefix: 'gru', hidden: 4, bidirectional: true, returnSequences: true },
    ];
    await expectTfjsRows(
      out,
      ids,
      LENGTHS,
      [...stem, { kind: 'linear', prefix: 'tags' }],
      weights,
      { logits: (rows) => rows },
      TIGHT,
    );
    const head: TfjsLayerSpec[] = [
      { kind: 'embedding', prefix: 'embedding' },
      { kind: 'gru', prefix: 'gru', hidden: 4, bidirectional: true, returnSequences: false },
      { kind: 'linear', prefix: 'fc' },
      { kind: 'activation', fn: 'softmax' },
    ];
    await expectTfjsRows(out, ids, LENGTHS, head, weights, { probs: (row) => row }, TIGHT);
  });

  it('sentiment: Embedding -> BiLSTM(layers=2, dropout) -> last -> Linear -> softmax', async () => {
    const random = seededRandom(2);
    const weights = new Map<string, ReferenceTensor>([
      ['embedding.weight', randomTensor(random, [9, 4], 1)],
      ...randomRecurrentWeights(random, 'lstm', 'lstm', { input: 4, hidden: 3, layers: 2, bidirectional: true }),
      ['fc.weight', randomTensor(random, [2, 6], 1)],
      ['fc.bias', randomTensor(random, [2], 1)],
    ]);
    const spec = `model Sentiment {
      input tokens: int64[batch, time]
      input lengths: lengths(tokens)
      tokens
        -> embedding: Embedding(vocab=9, dim=4, padding_idx=0)
        -> lstm: BiLSTM(hidden=3, layers=2, dropout=0.3)
        -> last
        -> fc: Linear(2)
        -> softmax
        -> output probs
    }`;
    const ids = [
      [8, 1, 2, 7, 3],
      [5, 5, 6, 0, 0],
      [4, 0, 0, 0, 0],
    ];
    const out = await runSpec(spec, weights, { tokens: int64Tensor(ids), lengths: lengthsTensor(LENGTHS) });
    const hidden = recurrent(
      'lstm',
      { hidden: 3, layers: 2, bidirectional: true },
      'lstm',
      weights,
      embedding(weights, 'embedding', ids),
      LENGTHS,
    );
    const probs = softmax(linear(weights, 'fc', lastOfBidirectional(hidden.hn, 2)));
    expectClose('probs', 'models vs float64', out['probs'], probs, TIGHT);
    const stack: TfjsLayerSpec[] = [
      { kind: 'embedding', prefix: 'embedding' },
      { kind: 'lstm', prefix: 'lstm', hidden: 3, layers: 2, bidirectional: true, returnSequences: false },
      { kind: 'linear', prefix: 'fc' },
      { kind: 'activation', fn: 'softmax' },
    ];
    await expectTfjsRows(out, ids, LENGTHS, stack, weights, { probs: (row) => row }, TIGHT);
  });

  it('Dropout is the identity, and `last` sees through it to the final states (BiRNN relu)', async () => {
    const random = seededRandom(3);
    const weights = new Map<string, ReferenceTensor>([
      ...randomRecurrentWeights(random, 'rnn', 'rnn', { input: FEATURES, hidden: 4, layers: 1, bidirectional: true }),
      ['fc.weight', randomTensor(random, [2, 8], 1)],
    ]);
    const spec = `model Drop {
      input x: float32[batch, time, ${FEATURES}]
      input lengths: lengths(x)
      x -> d0: Dropout(0.5) -> rnn: BiRNN(hidden=4, nonlinearity=relu) -> d1: Dropout(p=0.2) -> output seq
      d1 -> last -> d2: Dropout -> fc: Linear(2, bias=false) -> output y
    }`;
    const x = padded(randomArray(random, [3, TIME, FEATURES], 1.5) as number[][][], LENGTHS);
    const out = await runSpec(spec, weights, { x: floatTensor(x), lengths: lengthsTensor(LENGTHS) });
    const hidden = recurrent(
      'rnn',
      { hidden: 4, layers: 1, bidirectional: true, nonlinearity: 'relu' },
      'rnn',
      weights,
      x,
      LENGTHS,
    );
    expectClose('seq', 'models vs float64', out['seq'], hidden.output, TIGHT);
    // `last` of a bidirectional layer is forward final ++ backward final, not the step at length-1.
    const y = linear(weights, 'fc', lastOfBidirectional(hidden.hn, 1), { bias: false });
    expectClose('y', 'models vs float64', out['y'], y, TIGHT);
    const stack: TfjsLayerSpec[] = [
      { kind: 'rnn', prefix: 'rnn', hidden: 4, bidirectional: true, nonlinearity: 'relu', returnSequences: false },
      { kind: 'linear', prefix: 'fc', bias: false },
    ];
    await expectTfjsRows(out, x, LENGTHS, stack, weights, { y: (row) => row }, TIGHT);
  });

  it('different recurrent kinds stacked: BiLSTM -> stateful GRU -> last, with lengths', async () => {
    const random = seededRandom(18);
    const weights = new Map<string, ReferenceTensor>([
      ...randomRecurrentWeights(random, 'lstm', 'a', { input: FEATURES, hidden: 3, layers: 1, bidirectional: true }),
      ...randomRecurrentWeights(random, 'gru', 'b', { input: 6, hidden: 4, layers: 2, bidirectional: false }),
    ]);
    const spec = `model Mixed {
      input x: float32[batch, time, ${FEATURES}]
      input lengths: lengths(x)
      x -> a: BiLSTM(hidden=3) -> b: GRU(hidden=4, layers=2, stateful=true) -> last -> output y
      b -> output seq
    }`;
    const x = padded(randomArray(random, [3, TIME, FEATURES], 1.5) as number[][][], LENGTHS);
    const h0 = randomArray(random, [2, 3, 4], 0.8) as number[][][];
    const out = await runSpec(spec, weights, {
      x: floatTensor(x),
      lengths: lengthsTensor(LENGTHS),
      'b.h0': floatTensor(h0),
    });
    const first = recurrent('lstm', { hidden: 3, layers: 1, bidirectional: true }, 'a', weights, x, LENGTHS);
    const second = recurrent(
      'gru',
      { hidden: 4, layers: 2, bidirectional: false, h0 },
      'b',
      weights,
      first.output,
      LENGTHS,
    );
    expectClose('y', 'models vs float64', out['y'], second.hn[1]!, TIGHT);
    expectClose('seq', 'models vs float64', out['seq'], second.output, TIGHT);
    expectClose('b.hn', 'models vs float64', out['b.hn'], second.hn, TIGHT);
  });

  for (const withLengths of [true, false]) {
    it(`Linear on sequences and on pooled vectors, every activation, ${withLengths ? 'with' : 'without'} lengths`, async () => {
      const random = seededRandom(withLengths ? 4 : 5);
      const weights = new Map<string, ReferenceTensor>([
        ['fc.weight', randomTensor(random, [4, FEATURES], 1)],
        ['fc.bias', randomTensor(random, [4], 1)],
        ['pooled.weight', randomTensor(random, [3, 4], 1)],
        ['nobias.weight', randomTensor(random, [2, 4], 1)],
      ]);
      const spec = `model Heads {
        input x: float32[batch, time, ${FEATURES}]
        ${withLengths ? 'input lengths: lengths(x)' : ''}
        x -> fc: Linear(4) -> output lin
        fc -> relu -> output r
        fc -> tanh -> output t
        fc -> sigmoid -> output s
        fc -> softmax -> output sm
        fc -> log_softmax -> output lsm
        fc -> nobias: Linear(2, bias=false) -> output nb
        fc -> mean -> pooled: Linear(out=3, bias=false) -> output pl
        pooled -> relu -> output pr
        pooled -> tanh -> output pt
        pooled -> sigmoid -> output ps
        pooled -> softmax -> output psm
        pooled -> log_softmax -> output plsm
      }`;
      const lengths = withLengths ? LENGTHS : undefined;
      const x = padded(randomArray(random, [3, TIME, FEATURES], 2) as number[][][], lengths);
      const feeds: Feeds = { x: floatTensor(x) };
      if (lengths) feeds['lengths'] = lengthsTensor(lengths);
      const out = await runSpec(spec, weights, feeds);

      const fc = linear(weights, 'fc', x);
      const perToken = (v: number[][][]) => (lengths ? maskSteps(v, lengths) : v);
      const sequences: Record<string, NestedArray> = {
        lin: fc,
        r: relu(fc),
        t: tanh(fc),
        s: sigmoid(fc),
        sm: softmax(fc),
        lsm: logSoftmax(fc),
        nb: linear(weights, 'nobias', fc, { bias: false }),
      };
      for (const [name, expected] of Object.entries(sequences)) {
        expectClose(name, 'models vs float64', out[name], perToken(expected as number[][][]), TIGHT);
      }
      const pooled = linear(weights, 'pooled', pool('mean', fc, lengths), { bias: false });
      const vectors: Record<string, NestedArray> = {
        pl: pooled,
        pr: relu(pooled),
        pt: tanh(pooled),
        ps: sigmoid(pooled),
        psm: softmax(pooled),
        plsm: logSoftmax(pooled),
      };
      for (const [name, expected] of Object.entries(vectors))
        expectClose(name, 'models vs float64', out[name], expected, TIGHT);
      if (lengths) for (const name of Object.keys(sequences)) expectZeroPast(out[name]!, lengths);

      const rowLengths = lengths ?? x.map(() => TIME);
      for (const fn of ['relu', 'tanh', 'sigmoid', 'softmax'] as const) {
        const name = { relu: 'r', tanh: 't', sigmoid: 's', softmax: 'sm' }[fn];
        const stack: TfjsLayerSpec[] = [
          { kind: 'linear', prefix: 'fc' },
          { kind: 'activation', fn },
        ];
        await expectTfjsRows(out, x, rowLengths, stack, weights, { [name]: (rows) => rows }, TIGHT);
      }
      const pooledStack: TfjsLayerSpec[] = [
        { kind: 'linear', prefix: 'fc' },
        { kind: 'pool', fn: 'mean' },
        { kind: 'linear', prefix: 'pooled', bias: false },
        { kind: 'activation', fn: 'softmax' },
      ];
      await expectTfjsRows(out, x, rowLengths, pooledStack, weights, { psm: (row) => row }, TIGHT);
    });

    it(`every pool after a non-recurrent layer and on an input, ${withLengths ? 'with' : 'without'} lengths`, async () => {
      const random = seededRandom(withLengths ? 6 : 7);
      const weights = new Map<string, ReferenceTensor>([
        ['fc.weight', randomTensor(random, [3, FEATURES], 1)],
        ['fc.bias', randomTensor(random, [3], 1)],
      ]);
      const spec = `model Pools {
        input x: float32[batch, time, ${FEATURES}]
        ${withLengths ? 'input lengths: lengths(x)' : ''}
        x -> fc: Linear(3) -> last -> output l
        fc -> first -> output f
        fc -> mean -> output m
        fc -> max -> output mx
        x -> last -> output xl
        x -> first -> output xf
        x -> mean -> output xm
        x -> max -> output xmx
      }`;
      const lengths = withLengths ? LENGTHS : undefined;
      // Negative features, so that a zero leaking from padding would win `max`.
      const negative = (randomArray(random, [3, TIME, FEATURES], 1) as number[][][]).map((row) =>
        row.map((step) => step.map((v) => v - 2)),
      );
      const x = padded(negative, lengths);
      const feeds: Feeds = { x: floatTensor(x) };
      if (lengths) feeds['lengths'] = lengthsTensor(lengths);
      const out = await runSpec(spec, weights, feeds);
      const fc = linear(weights, 'fc', x);
      const kinds: [string, PoolKind][] = [
        ['l', 'last'],
        ['f', 'first'],
        ['m', 'mean'],
        ['mx', 'max'],
      ];
      for (const [name, kind] of kinds) {
        expectClose(name, 'models vs float64', out[name], pool(kind, fc, lengths), TIGHT);
        expectClose(`x${name}`, 'models vs float64', out[`x${name}`], pool(kind, x, lengths), TIGHT);
      }
      const rowLengths = lengths ?? x.map(() => TIME);
      for (const fn of ['mean', 'max'] as const) {
        const stack: TfjsLayerSpec[] = [
          { kind: 'linear', prefix: 'fc' },
          { kind: 'pool', fn },
        ];
        await expectTfjsRows(out, x, rowLengths, stack, weights, { [fn === 'mean' ? 'm' : 'mx']: (row) => row }, TIGHT);
      }
    });
  }

  for (const opset of [14, 16, 17, 18, 21]) {
    it(`LayerNorm on sequences and on pooled vectors at opset ${opset} (${opset < 17 ? 'decomposed' : 'LayerNormalization'})`, async () => {
      const random = seededRandom(8);
      const weights = new Map<string, ReferenceTensor>([
        ['fc.weight', randomTensor(random, [6, FEATURES], 1)],
        ['fc.bias', randomTensor(random, [6], 1)],
        ['ln.weight', randomTensor(random, [6], 1)],
        ['ln.bias', randomTensor(random, [6], 1)],
        ['ln2.weight', randomTensor(random, [6], 1)],
        ['ln2.bias', randomTensor(random, [6], 1)],
      ]);
      const spec = `model Norm {
        input x: float32[batch, time, ${FEATURES}]
        input lengths: lengths(x)
        x -> fc: Linear(6) -> ln: LayerNorm(eps=0.001) -> output y
        fc -> mean -> ln2: LayerNorm -> output z
      }`;
      const x = padded(randomArray(random, [3, TIME, FEATURES], 2) as number[][][], LENGTHS);
      const out = await runSpec(spec, weights, { x: floatTensor(x), lengths: lengthsTensor(LENGTHS) }, { opset });
      const fc = linear(weights, 'fc', x);
      expectClose('y', 'LayerNorm vs float64', out['y'], maskSteps(layerNorm(weights, 'ln', fc, 1e-3), LENGTHS), TIGHT);
      expectClose('z', 'LayerNorm vs float64', out['z'], layerNorm(weights, 'ln2', pool('mean', fc, LENGTHS)), TIGHT);
      const stack: TfjsLayerSpec[] = [
        { kind: 'linear', prefix: 'fc' },
        { kind: 'layerNorm', prefix: 'ln', eps: 1e-3 },
      ];
      await expectTfjsRows(out, x, LENGTHS, stack, weights, { y: (rows) => rows }, TIGHT);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Padding semantics and invariances, each anchored to the reference.

describe('padding, opsets and batching', () => {
  const richSpec = (withLengths: boolean) => `model Rich {
    input x: float32[batch, time, ${FEATURES}]
    ${withLengths ? 'input lengths: lengths(x)' : ''}
    x -> proj: Linear(4) -> tanh -> lstm: BiLSTM(hidden=3, layers=2) -> ln: LayerNorm -> output seq
    lstm -> last -> head: Linear(2) -> log_softmax -> output logp
    ln -> mean -> output avg
    ln -> max -> output peak
    x -> mean -> output raw_mean
  }`;
  const richWeights = (() => {
    const random = seededRandom(9);
    return new Map<string, ReferenceTensor>([
      ['proj.weight', randomTensor(random, [4, FEATURES], 1)],
      ['proj.bias', randomTensor(random, [4], 1)],
      ...randomRecurrentWeights(random, 'lstm', 'lstm', { input: 4, hidden: 3, layers: 2, bidirectional: true }),
      ['ln.weight', randomTensor(random, [6], 1)],
      ['ln.bias', randomTensor(random, [6], 1)],
      ['head.weight', randomTensor(random, [2, 6], 1)],
      ['head.bias', randomTensor(random, [2], 1)],
    ]);
  })();
  const richX = padded(randomArray(seededRandom(10), [3, TIME, FEATURES], 1.5) as number[][][], LENGTHS);

  function richReference(x: number[][][], lengths: readonly number[] | undefined): Record<string, NestedArray> {
    const projected = tanh(linear(richWeights, 'proj', x));
    const hidden = recurrent(
      'lstm',
      { hidden: 3, layers: 2, bidirectional: true },
      'lstm',
      richWeights,
      projected,
      lengths,
    );
    const normed = layerNorm(richWeights, 'ln', hidden.output);
    return {
      seq: lengths ? maskSteps(normed, lengths) : normed,
      logp: logSoftmax(linear(richWeights, 'head', lastOfBidirectional(hidden.hn, 2))),
      avg: pool('mean', normed, lengths),
      peak: pool('max', normed, lengths),
      raw_mean: pool('mean', x, lengths),
    };
  }

  for (const withLengths of [true, false]) {
    it(`opsets 14 to 21 give the reference's numbers and each other's, ${withLengths ? 'with' : 'without'} lengths`, async () => {
      const lengths = withLengths ? LENGTHS : undefined;
      const x = withLengths ? richX : (randomArray(seededRandom(11), [3, TIME, FEATURES], 1.5) as number[][][]);
      const expected = richReference(x, lengths);
      const feeds: Feeds = { x: floatTensor(x) };
      if (lengths) feeds['lengths'] = lengthsTensor(lengths);
      const byOpset = new Map<number, Outputs>();
      for (const opset of [14, 15, 16, 17, 18, 19, 20, 21]) {
        const out = await runSpec(richSpec(withLengths), richWeights, feeds, { opset });
        for (const [name, value] of Object.entries(expected))
          expectClose(`opset ${opset} ${name}`, 'opsets vs float64', out[name], value, TIGHT);
        byOpset.set(opset, out);
      }
      const base = byOpset.get(17)!;
      for (const [opset, out] of byOpset) {
        for (const name of Object.keys(expected)) {
          const diff = maxAbsDiff(Array.from(out[name]!.data), Array.from(base[name]!.data));
          record('opset N vs opset 17', diff);
          expect(diff, `opset ${opset} ${name}`).toBeLessThan(1e-6);
        }
      }
    });
  }

  it('a padded batch equals its rows run alone, trimmed to their lengths or padded', async () => {
    const model = await loadSpec(richSpec(true), richWeights);
    try {
      const batch = await model.run({ x: floatTensor(richX), lengths: lengthsTensor(LENGTHS) });
      for (const [name, value] of Object.entries(richReference(richX, LENGTHS))) {
        expectClose(name, 'models vs float64', batch[name], value, TIGHT);
      }
      for (let b = 0; b < LENGTHS.length; b++) {
        const length = LENGTHS[b]!;
        const trimmed = await model.run({
          x: floatTensor([richX[b]!.slice(0, length)]),
          lengths: lengthsTensor([length]),
        });
        const alone = await model.run({ x: floatTensor([richX[b]!]), lengths: lengthsTensor([length]) });
        for (const name of ['logp', 'avg', 'peak', 'raw_mean']) {
          const row = nested(batch[name]!)[b] as number[];
          expectClose(`${name} row ${b} trimmed`, 'batch vs rows', trimmed[name], [row], 1e-6);
          expectClose(`${name} row ${b} padded`, 'batch vs rows', alone[name], [row], 1e-6);
        }
        const seqRow = nested(batch['seq']!)[b] as number[][];
        expectClose(`seq row ${b} trimmed`, 'batch vs rows', trimmed['seq'], [seqRow.slice(0, length)], 1e-6);
        expectClose(`seq row ${b} padded`, 'batch vs rows', alone['seq'], [seqRow], 1e-6);
      }
    } finally {
      await model.release();
    }
  });

  it('changing padded features or padded tokens changes nothing', async () => {
    const model = await loadSpec(richSpec(true), richWeights);
    try {
      const before = await model.run({ x: floatTensor(richX), lengths: lengthsTensor(LENGTHS) });
      const random = seededRandom(12);
      const repadded = richX.map((row, b) =>
        row.map((step, t) => (t < LENGTHS[b]! ? step : step.map(() => (random() - 0.5) * 1e3))),
      );
      const after = await model.run({ x: floatTensor(repadded), lengths: lengthsTensor(LENGTHS) });
      for (const name of Object.keys(before))
        expect(Array.from(after[name]!.data), name).toEqual(Array.from(before[name]!.data));
    } finally {
      await model.release();
    }

    const random = seededRandom(13);
    const weights = new Map<string, ReferenceTensor>([
      ['embedding.weight', randomTensor(random, [6, 3], 1)],
      ...randomRecurrentWeights(random, 'gru', 'gru', { input: 3, hidden: 4, layers: 2, bidirectional: true }),
    ]);
    const spec = `model Tokens {
      input tokens: int64[batch, time]
      input lengths: lengths(tokens)
      tokens -> embedding: Embedding(vocab=6, dim=3, padding_idx=0) -> output vectors
      embedding -> gru: BiGRU(hidden=4, layers=2) -> output seq
      gru -> last -> output final
      gru -> max -> output peak
    }`;
    const ids = [
      [1, 2, 3, 4, 5],
      [5, 4, 3, 0, 0],
      [2, 0, 0, 0, 0],
    ];
    const other = ids.map((row, b) => row.map((id, t) => (t < LENGTHS[b]! ? id : 1 + ((t + b) % 5))));
    const tokensModel = await loadSpec(spec, weights);
    try {
      const first = await tokensModel.run({ tokens: int64Tensor(ids), lengths: lengthsTensor(LENGTHS) });
      const second = await tokensModel.run({ tokens: int64Tensor(other), lengths: lengthsTensor(LENGTHS) });
      const embedded = embedding(weights, 'embedding', ids);
      const hidden = recurrent('gru', { hidden: 4, layers: 2, bidirectional: true }, 'gru', weights, embedded, LENGTHS);
      expectClose('vectors', 'models vs float64', first['vectors'], maskSteps(embedded, LENGTHS), TIGHT);
      expectClose('seq', 'models vs float64', first['seq'], hidden.output, TIGHT);
      expectClose('final', 'models vs float64', first['final'], lastOfBidirectional(hidden.hn, 2), TIGHT);
      expectClose('peak', 'models vs float64', first['peak'], pool('max', hidden.output, LENGTHS), TIGHT);
      for (const name of Object.keys(first))
        expect(Array.from(second[name]!.data), name).toEqual(Array.from(first[name]!.data));
    } finally {
      await tokensModel.release();
    }
  });

  it("per-token outputs are zero past each row's length after Embedding, recurrent layers, Linear and activations", async () => {
    const random = seededRandom(14);
    const weights = new Map<string, ReferenceTensor>([
      ['embedding.weight', randomTensor(random, [5, 2], 1)],
      ['fc.weight', randomTensor(random, [3, 2], 1)],
      ['fc.bias', randomTensor(random, [3], 1)],
    ]);
    const spec = `model Masked {
      input tokens: int64[batch, time]
      input lengths: lengths(tokens)
      tokens -> embedding: Embedding(vocab=5, dim=2) -> output e
      embedding -> fc: Linear(3) -> sigmoid -> output s
      fc -> softmax -> output p
    }`;
    const ids = [
      [1, 2, 3, 4, 1],
      [4, 3, 2, 1, 1],
      [2, 1, 1, 1, 1],
    ];
    const out = await runSpec(spec, weights, { tokens: int64Tensor(ids), lengths: lengthsTensor(LENGTHS) });
    const embedded = embedding(weights, 'embedding', ids);
    const fc = linear(weights, 'fc', embedded);
    expectClose('e', 'models vs float64', out['e'], maskSteps(embedded, LENGTHS), TIGHT);
    expectClose('s', 'models vs float64', out['s'], maskSteps(sigmoid(fc), LENGTHS), TIGHT);
    expectClose('p', 'models vs float64', out['p'], maskSteps(softmax(fc), LENGTHS), TIGHT);
  });

  // A regression test: outputs whose value never passed through a layer that makes the sequence
  // time-major (an activation, Dropout or nothing at all straight after an input) used to skip the mask.
  it("per-token outputs are zero past each row's length when only activations or Dropout follow the input", async () => {
    const spec = `model Direct {
      input x: float32[batch, time, ${FEATURES}]
      input lengths: lengths(x)
      x -> tanh -> output t
      x -> d: Dropout(0.1) -> output same
    }`;
    const x = padded(randomArray(seededRandom(15), [3, TIME, FEATURES], 1) as number[][][], LENGTHS);
    const out = await runSpec(spec, new Map(), { x: floatTensor(x), lengths: lengthsTensor(LENGTHS) });
    expectClose('t', 'known bug: unmasked outputs', out['t'], maskSteps(tanh(x), LENGTHS), TIGHT);
    expectClose('same', 'known bug: unmasked outputs', out['same'], maskSteps(x, LENGTHS), TIGHT);
  });
});

// ---------------------------------------------------------------------------------------------
// Weights: half-precision safetensors files and seeded initialization.

describe('weights', () => {
  const spec = `model Half {
    input tokens: int64[batch, time]
    input lengths: lengths(tokens)
    tokens -> embedding: Embedding(vocab=7, dim=3, padding_idx=0) -> gru: BiGRU(hidden=4) -> ln: LayerNorm -> fc: Linear(2) -> output y
    gru -> last -> head: Linear(3) -> output z
  }`;
  const ids = [
    [1, 2, 3, 4, 5],
    [6, 5, 4, 0, 0],
    [3, 0, 0, 0, 0],
  ];

  for (const dtype of ['F16', 'BF16'] as const) {
    it(`loads ${dtype} safetensors weights: matches the reference run on the rounded weights`, async () => {
      const random = seededRandom(dtype === 'F16' ? 16 : 17);
      const weights = new Map<string, ReferenceTensor>([
        ['embedding.weight', randomTensor(random, [7, 3], 1)],
        ...randomRecurrentWeights(random, 'gru', 'gru', { input: 3, hidden: 4, layers: 1, bidirectional: true }),
        ['ln.weight', randomTensor(random, [8], 1)],
        ['ln.bias', randomTensor(random, [8], 1)],
        ['fc.weight', randomTensor(random, [2, 8], 1)],
        ['fc.bias', randomTensor(random, [2], 1)],
        ['head.weight', randomTensor(random, [3, 8], 1)],
        ['head.bias', randomTensor(random, [3], 1)],
      ]);
      const rounded = new Map([...weights].map(([name, t]) => [name, roundedTensor(t, dtype)]));
      const out = await runSpec(
        spec,
        weights,
        { tokens: int64Tensor(ids), lengths: lengthsTensor(LENGTHS) },
        { dtype },
      );

      const reference = (w: ReferenceWeights) => {
        const hidden = recurrent(
          'gru',
          { hidden: 4, layers: 1, bidirectional: true },
          'gru',
          w,
          embedding(w, 'embedding', ids),
          LENGTHS,
        );
        return {
          y: maskSteps(linear(w, 'fc', layerNorm(w, 'ln', hidden.output)), LENGTHS),
          z: linear(w, 'head', lastOfBidirectional(hidden.hn, 1)),
        };
      };
      const expected = reference(rounded);
      expectClose('y', `${dtype} weights vs float64 on rounded weights`, out['y'], expected.y, TIGHT);
      expectClose('z', `${dtype} weights vs float64 on rounded weights`, out['z'], expected.z, TIGHT);
      // The rounding is visible: the unrounded weights give clearly different numbers.
      const unrounded = reference(weights);
      const roundedError = maxAbsDiff(flatten(nested(out['z']!)), flatten(expected.z));
      expect(maxAbsDiff(flatten(nested(out['z']!)), flatten(unrounded.z))).toBeGreaterThan(10 * roundedError);
    });
  }

  it('seeded initialization zeroes the padding_idx row (positive and negative padding_idx)', async () => {
    const spec = `model Seeded {
      input tokens: int64[batch, time]
      tokens -> a: Embedding(vocab=6, dim=4, padding_idx=2) -> output ea
      tokens -> b: Embedding(vocab=6, dim=4, padding_idx=-1) -> output eb
    }`;
    for (const seed of [0, 7]) {
      const model = await loadSpec(spec, undefined, { seed });
      try {
        const out = await model.run({ tokens: int64Tensor([[0, 1, 2, 3, 4, 5]]) });
        const ea = nested(out['ea']!) as number[][][];
        const eb = nested(out['eb']!) as number[][][];
        expect(ea[0]![2]).toEqual([0, 0, 0, 0]);
        expect(eb[0]![5]).toEqual([0, 0, 0, 0]);
        for (const t of [0, 1, 3, 4, 5]) expect(ea[0]![t]!.some((v) => v !== 0)).toBe(true);
        for (const t of [0, 1, 2, 3, 4]) expect(eb[0]![t]!.some((v) => v !== 0)).toBe(true);
      } finally {
        await model.release();
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Helpers.

type Feeds = Record<string, ort.Tensor>;

interface Output {
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

type Outputs = Record<string, Output>;

interface LoadedModel {
  run(feeds: Feeds): Promise<Outputs>;
  release(): Promise<void>;
}

interface LoadOptions {
  readonly opset?: number;
  readonly seed?: number;
  /** The element type the weights file is written with; default F32. */
  readonly dtype?: 'F32' | 'F16' | 'BF16';
}

/** Compiles a spec, with weights written to safetensors when given, and opens it in onnxruntime-node. */
async function loadSpec(
  spec: string,
  weights: ReferenceWeights | undefined,
  options: LoadOptions = {},
): Promise<LoadedModel> {
  const dtype = options.dtype ?? 'F32';
  const bytes = weights && (dtype === 'F32' ? writeSafetensors(weights) : writeSafetensorsAs(weights, dtype));
  const result = compile(spec, {
    sourceName: 'numeric.seq',
    ...(bytes ? { weights: { bytes, name: 'weights.safetensors' } } : {}),
    ...(options.opset === undefined ? {} : { opset: options.opset }),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  });
  const errors = result.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code}: ${d.message}`);
  expect(errors).toEqual([]);
  expect(result.model).toBeDefined();
  // Severity 3 (errors only): ONNX Runtime warns about initializers it prunes, which is noise here.
  const session = await ort.InferenceSession.create(result.model!, { logSeverityLevel: 3 });
  return {
    async run(feeds) {
      const results = await session.run(feeds);
      const out: Outputs = {};
      for (const [name, value] of Object.entries(results)) {
        out[name] = { dims: value.dims.map(Number), data: Float32Array.from(value.data as Float32Array) };
      }
      return out;
    },
    release: () => session.release(),
  };
}

/** Compiles, runs once and releases. */
async function runSpec(
  spec: string,
  weights: ReferenceWeights | undefined,
  feeds: Feeds,
  options: LoadOptions = {},
): Promise<Outputs> {
  const model = await loadSpec(spec, weights, options);
  try {
    return await model.run(feeds);
  } finally {
    await model.release();
  }
}

function floatTensor(x: NestedArray): ort.Tensor {
  return new ort.Tensor('float32', Float32Array.from(flatten(x)), shapeOf(x));
}

/** Token ids [batch][time] as an int64 tensor. */
function int64Tensor(ids: number[][]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(flatten(ids).map((v) => BigInt(v))), shapeOf(ids));
}

function lengthsTensor(lengths: readonly number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(lengths.map((v) => BigInt(v))), [lengths.length]);
}

function shapeOf(x: NestedArray | number): number[] {
  if (typeof x === 'number') return [];
  return [x.length, ...(x.length > 0 ? shapeOf(x[0] as NestedArray | number) : [])];
}

function nested(output: Output): NestedArray {
  return nest(output.dims, output.data);
}

/** Largest error seen per kind of comparison, for the report. */
const worstErrors = new Map<string, number>();

function record(category: string, error: number): void {
  worstErrors.set(category, Math.max(worstErrors.get(category) ?? 0, error));
}

afterAll(() => {
  if (!process.env['SEQC_NUMERIC_REPORT']) return;
  const rows = [...worstErrors].sort(([a], [b]) => a.localeCompare(b));
  console.log(rows.map(([category, error]) => `${category.padEnd(48)} ${error.toExponential(2)}`).join('\n'));
});

function expectClose(
  what: string,
  category: string,
  actual: Output | undefined,
  expected: NestedArray,
  tolerance: number,
): void {
  expect(actual, `${what}: no such output`).toBeDefined();
  expect(actual!.dims, `${what}: dims`).toEqual(shapeOf(expected));
  const error = maxAbsDiff(Array.from(actual!.data), flatten(expected));
  record(category, error);
  expect(error, what).toBeLessThan(tolerance);
}

/** Every step at or past its row's length is exactly zero. */
function expectZeroPast(output: Output, lengths: readonly number[]): void {
  const rows = nested(output) as number[][][];
  rows.forEach((row, b) =>
    expect(
      flatten(row.slice(lengths[b])).every((v) => v === 0),
      `row ${b} past ${lengths[b]}`,
    ).toBe(true),
  );
}

/** Steps past each row's length become zero vectors. */
function maskSteps(x: number[][][], lengths: readonly number[]): number[][][] {
  return x.map((row, b) => row.map((step, t) => (t < lengths[b]! ? step : step.map(() => 0))));
}

/** Steps past each row's length are filled with PAD (when there are lengths). */
function padded(x: number[][][], lengths: readonly number[] | undefined): number[][][] {
  return lengths ? x.map((row, b) => row.map((step, t) => (t < lengths[b]! ? step : step.map(() => PAD)))) : x;
}

/** Selects from tfjs's result for one row what a seqc output's row must equal. */
type TfjsPick = (result: NestedArray, length: number) => NestedArray;

/**
 * Runs a tfjs stack on each row cut to its length and compares named seqc outputs row by row.
 * `pick` maps an output name to the part of tfjs's row result it must equal: for a sequence, the
 * row's steps (seqc's row is cut to the same length); for a vector, the row's vector.
 */
async function expectTfjsRows(
  out: Outputs,
  input: number[][] | number[][][],
  lengths: readonly number[],
  stack: readonly TfjsLayerSpec[],
  weights: ReferenceWeights,
  pick: Record<string, TfjsPick>,
  tolerance: number,
): Promise<void> {
  for (let b = 0; b < input.length; b++) {
    const length = lengths[b]!;
    const row = (input[b] as unknown[]).slice(0, length);
    const result = (await runTfjsStack(stack, weights, [row] as number[][] | number[][][]))[0] as NestedArray;
    for (const [name, select] of Object.entries(pick)) {
      const expected = select(result, length);
      const mine = nested(out[name]!)[b] as NestedArray;
      const isSequence = Array.isArray(mine[0]);
      const actual = isSequence ? (mine as NestedArray[]).slice(0, length) : mine;
      expect(shapeOf(actual as NestedArray), `${name} row ${b}: tfjs shape`).toEqual(shapeOf(expected));
      const error = maxAbsDiff(actual as NestedArray, expected);
      record(
        `${stack.some((s) => s.kind === 'rnn' || s.kind === 'lstm' || s.kind === 'gru') ? 'recurrent' : 'layers'} vs tfjs`,
        error,
      );
      expect(error, `${name} row ${b} vs tfjs`).toBeLessThan(tolerance);
    }
  }
}

/** A tensor rounded to F16 or BF16 (round to nearest even), computed here independently of seqc. */
function roundedTensor(t: ReferenceTensor, dtype: 'F16' | 'BF16'): ReferenceTensor {
  const [mantissaBits, minExponent] = dtype === 'F16' ? [10, -14] : [7, -126];
  return { shape: t.shape, data: t.data.map((v) => roundToPrecision(v, mantissaBits, minExponent)) };
}

/** Rounds to a binary float with `mantissaBits` fraction bits and smallest normal exponent `minExponent`. */
function roundToPrecision(x: number, mantissaBits: number, minExponent: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const magnitude = Math.abs(x);
  let exponent = Math.floor(Math.log2(magnitude));
  if (2 ** exponent > magnitude) exponent--;
  else if (2 ** (exponent + 1) <= magnitude) exponent++;
  const ulp = 2 ** (Math.max(exponent, minExponent) - mantissaBits);
  const units = magnitude / ulp;
  let whole = Math.floor(units);
  const fraction = units - whole;
  if (fraction > 0.5 || (fraction === 0.5 && whole % 2 === 1)) whole++;
  return Math.sign(x) * whole * ulp;
}
