// Keras masking, go_backwards and Bidirectional merge modes against TensorFlow.js Layers: the same models, the same weights, padded batches.
//
// Each case builds a tf.sequential model, gives it seeded weights, converts them with
// src/import/keras-weights.ts into the spec's parameter names, compiles the spec with them and runs
// both on the same batch: pre-, post- and mixed padding, a row with every step masked, rows with one
// valid step at either end, and a full row. TF.js is code nobody here wrote, so agreement means something.

import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import {
  kerasDense,
  kerasEmbedding,
  kerasRecurrent,
  type ConvertedWeights,
  type KerasTensor,
} from '../src/import/keras-weights.js';
import type { RecurrentCell } from '../src/ir/ir.js';

const tolerance = 1e-5;
/** The largest |Δ| seen against TF.js over all cases, for the report. */
let largestDifference = 0;

/** Token rows, 0 is padding: pre, post, mixed, all masked, one valid step last and first, full. */
const tokens = [
  [0, 0, 3, 4, 5, 6],
  [3, 4, 5, 6, 0, 0],
  [0, 3, 0, 4, 0, 5],
  [0, 0, 0, 0, 0, 0],
  [0, 0, 0, 0, 0, 2],
  [2, 0, 0, 0, 0, 0],
  [1, 2, 3, 4, 5, 6],
];
const batch = tokens.length;
const time = tokens[0]!.length;
const vocab = 7;
const dim = 4;
const hidden = 3;

/** A seeded stream in [−scale, scale): weights and float inputs are the same on every run. */
function seeded(seed: number): (scale: number) => number {
  let state = seed >>> 0;
  return (scale) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return ((state / 2 ** 32) * 2 - 1) * scale;
  };
}

/** A Keras layer of the test models, with the spec step it is and how its weights convert. */
interface Layer {
  readonly keras: tf.layers.Layer;
  readonly convert: (values: readonly KerasTensor[]) => ConvertedWeights;
}

function embedding(label: string): Layer {
  return {
    keras: tf.layers.embedding({ inputDim: vocab, outputDim: dim, maskZero: true }),
    convert: ([table]) => kerasEmbedding(label, table!),
  };
}

function dense(label: string, units: number): Layer {
  return { keras: tf.layers.dense({ units }), convert: ([kernel, bias]) => kerasDense(label, kernel!, bias) };
}

interface RecurrentOptions {
  readonly returnSequences: boolean;
  readonly goBackwards?: boolean;
}

function recurrentLayer(cell: RecurrentCell, options: RecurrentOptions): tf.layers.Layer {
  const common = { units: hidden, returnSequences: options.returnSequences, goBackwards: options.goBackwards ?? false };
  switch (cell) {
    case 'lstm':
      return tf.layers.lstm({ ...common, recurrentActivation: 'sigmoid' });
    case 'gru':
      return tf.layers.gru({ ...common, recurrentActivation: 'sigmoid' });
    case 'rnn':
      return tf.layers.simpleRNN(common);
  }
}

/** A Keras recurrent layer; `layer` is its index in a stack that the spec writes as one op with `layers=N`. */
function recurrent(label: string, cell: RecurrentCell, options: RecurrentOptions, layer = 0): Layer {
  return {
    keras: recurrentLayer(cell, options),
    convert: ([kernel, recurrentKernel, bias]) =>
      kerasRecurrent(
        { label, cell, layer, direction: 0 },
        { kernel: kernel!, recurrentKernel: recurrentKernel!, ...(bias === undefined ? {} : { bias }) },
      ),
  };
}

function bidirectional(
  label: string,
  cell: RecurrentCell,
  mergeMode: 'concat' | 'sum' | 'ave' | 'mul',
  returnSequences: boolean,
  layer = 0,
): Layer {
  return {
    keras: tf.layers.bidirectional({ layer: recurrentLayer(cell, { returnSequences }) as tf.RNN, mergeMode }),
    convert: (values) =>
      [0, 1].flatMap((direction) =>
        kerasRecurrent(
          { label, cell, layer, direction: direction as 0 | 1 },
          {
            kernel: values[3 * direction]!,
            recurrentKernel: values[3 * direction + 1]!,
            bias: values[3 * direction + 2]!,
          },
        ),
      ),
  };
}

/** Builds the model on `input`'s shape, gives every weight seeded values and returns the spec's weights file. */
function prepare(layers: readonly Layer[], inputShape: number[], dtype: 'int32' | 'float32', seed: number) {
  const model = tf.sequential();
  model.add(tf.layers.inputLayer({ inputShape, dtype }));
  for (const layer of layers) model.add(layer.keras);
  const random = seeded(seed);
  const converted: (readonly [string, KerasTensor])[] = [];
  for (const layer of layers) {
    const values = layer.keras.getWeights().map((w) => {
      const data = Float32Array.from({ length: w.size }, () => random(0.8));
      return { shape: w.shape, data };
    });
    layer.keras.setWeights(values.map((v) => tf.tensor(v.data, [...v.shape])));
    converted.push(...layer.convert(values));
  }
  return { model, weights: writeSafetensors(converted) };
}

/** Compiles `spec` with `weights`, runs it on the feeds and returns every output. */
async function runSeqc(
  spec: string,
  weights: Uint8Array,
  feeds: Record<string, ort.Tensor>,
): Promise<Record<string, { dims: number[]; data: Float32Array }>> {
  const result = compile(spec, { sourceName: 'keras.seq', weights: { bytes: weights, name: 'keras.safetensors' } });
  expect(result.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code}: ${d.message}`)).toEqual([]);
  const session = await ort.InferenceSession.create(result.model!, { logSeverityLevel: 3 });
  try {
    const out = await session.run(feeds);
    return Object.fromEntries(
      Object.entries(out).map(([name, t]) => [
        name,
        { dims: t.dims.map(Number), data: Float32Array.from(t.data as Float32Array) },
      ]),
    );
  } finally {
    await session.release();
  }
}

function tokenFeed(): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(tokens.flat().map(BigInt)), [batch, time]);
}

function expectClose(actual: { dims: number[]; data: Float32Array }, expected: tf.Tensor, what: string): void {
  expect(actual.dims, `${what}: shape`).toEqual(expected.shape);
  const want = expected.dataSync();
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(actual.data[i]! - want[i]!));
  largestDifference = Math.max(largestDifference, worst);
  expect(worst, `${what}: max |Δ| against TF.js`).toBeLessThanOrEqual(tolerance);
}

const tokensSpec = (body: string): string =>
  `model K {\n  input tokens: int64[batch, time]\n  tokens -> emb: Embedding(vocab=${vocab}, dim=${dim}, mask_zero=true) ${body}\n}\n`;

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('Keras masking on native recurrent nodes, against TF.js Layers', () => {
  const cells: readonly { cell: RecurrentCell; step: string }[] = [
    { cell: 'lstm', step: 'LSTM' },
    { cell: 'gru', step: 'GRU' },
    { cell: 'rnn', step: 'RNN' },
  ];
  const gruArgs = (cell: RecurrentCell): string => (cell === 'gru' ? ', reset_after=false' : '');

  it.each(cells)('$step over mask_zero: sequence and final state, pre/post/mixed padding', async ({ cell, step }) => {
    const sequences = prepare(
      [embedding('emb'), recurrent('rnn', cell, { returnSequences: true })],
      [time],
      'int32',
      1,
    );
    const finals = prepare([embedding('emb'), recurrent('rnn', cell, { returnSequences: false })], [time], 'int32', 1);
    const spec = tokensSpec(`-> rnn: ${step}(hidden=${hidden}${gruArgs(cell)}) -> output y\n  rnn -> last -> output h`);
    const out = await runSeqc(spec, sequences.weights, { tokens: tokenFeed() });
    const input = tf.tensor2d(tokens, undefined, 'int32');
    expectClose(out.y!, sequences.model.predict(input) as tf.Tensor, `${step} sequence`);
    expectClose(out.h!, finals.model.predict(input) as tf.Tensor, `${step} last`);
  });

  it.each(cells)('$step with go_backwards: reversed sequence and final state', async ({ cell, step }) => {
    const sequences = prepare(
      [embedding('emb'), recurrent('rnn', cell, { returnSequences: true, goBackwards: true })],
      [time],
      'int32',
      2,
    );
    const finals = prepare(
      [embedding('emb'), recurrent('rnn', cell, { returnSequences: false, goBackwards: true })],
      [time],
      'int32',
      2,
    );
    const spec = tokensSpec(
      `-> rnn: ${step}(hidden=${hidden}${gruArgs(cell)}, go_backwards=true) -> output y\n  rnn -> last -> output h`,
    );
    const out = await runSeqc(spec, sequences.weights, { tokens: tokenFeed() });
    const input = tf.tensor2d(tokens, undefined, 'int32');
    expectClose(out.y!, sequences.model.predict(input) as tf.Tensor, `${step} go_backwards sequence`);
    expectClose(out.h!, finals.model.predict(input) as tf.Tensor, `${step} go_backwards last`);
  });

  for (const merge of ['concat', 'sum', 'ave', 'mul'] as const) {
    it.each(cells)(`Bi$step merge=${merge}: sequence and final states`, async ({ cell, step }) => {
      const sequences = prepare([embedding('emb'), bidirectional('bi', cell, merge, true)], [time], 'int32', 3);
      const finals = prepare([embedding('emb'), bidirectional('bi', cell, merge, false)], [time], 'int32', 3);
      const spec = tokensSpec(
        `-> bi: Bi${step}(hidden=${hidden}${gruArgs(cell)}${merge === 'concat' ? '' : `, merge=${merge}`}) -> output y\n  bi -> last -> output h`,
      );
      const out = await runSeqc(spec, sequences.weights, { tokens: tokenFeed() });
      const input = tf.tensor2d(tokens, undefined, 'int32');
      expectClose(out.y!, sequences.model.predict(input) as tf.Tensor, `Bi${step} ${merge} sequence`);
      expectClose(out.h!, finals.model.predict(input) as tf.Tensor, `Bi${step} ${merge} last`);
    });
  }

  it('stacked layers keep the mask: Embedding → BiLSTM → Dense → GRU → last → Dense', async () => {
    const layers = [
      embedding('emb'),
      bidirectional('bi', 'lstm', 'concat', true),
      dense('proj', 4),
      recurrent('gru', 'gru', { returnSequences: false }),
      dense('fc', 2),
    ];
    const { model, weights } = prepare(layers, [time], 'int32', 4);
    const spec = tokensSpec(
      '-> bi: BiLSTM(hidden=3) -> proj: Linear(4) -> gru: GRU(hidden=3, reset_after=false) -> last -> fc: Linear(2) -> output y',
    );
    const out = await runSeqc(spec, weights, { tokens: tokenFeed() });
    expectClose(out.y!, model.predict(tf.tensor2d(tokens, undefined, 'int32')) as tf.Tensor, 'stack');
  });

  it.each([
    { title: 'LSTM(layers=2)', step: 'LSTM(hidden=3, layers=2)', cell: 'lstm' as const, bi: false },
    { title: 'BiGRU(layers=2)', step: 'BiGRU(hidden=3, layers=2, reset_after=false)', cell: 'gru' as const, bi: true },
  ])('$title, one op, equals two masked Keras layers', async ({ step, cell, bi }) => {
    const layers = [0, 1].map((layer) =>
      bi ? bidirectional('rnn', cell, 'concat', true, layer) : recurrent('rnn', cell, { returnSequences: true }, layer),
    );
    const { model, weights } = prepare([embedding('emb'), ...layers], [time], 'int32', 5);
    const out = await runSeqc(tokensSpec(`-> rnn: ${step} -> output y\n  rnn -> last -> output h`), weights, {
      tokens: tokenFeed(),
    });
    const input = tf.tensor2d(tokens, undefined, 'int32');
    expectClose(out.y!, model.predict(input) as tf.Tensor, `${step} sequence`);
    // The top layer's final states: its output at each row's last valid step (forward), and at the first (backward).
    const y = (model.predict(input) as tf.Tensor).arraySync() as number[][][];
    const finals = tokens.map((row, b) => {
      const valid = row.flatMap((t, i) => (t === 0 ? [] : [i]));
      const at = (i: number | undefined, from: number, to: number): number[] =>
        i === undefined ? new Array<number>(to - from).fill(0) : y[b]![i]!.slice(from, to);
      return bi ? [...at(valid.at(-1), 0, hidden), ...at(valid[0], hidden, 2 * hidden)] : at(valid.at(-1), 0, hidden);
    });
    expectClose(out.h!, tf.tensor2d(finals), `${step} last`);
  });

  it('masking(value=0) on float frames: Masking → LSTM → last', async () => {
    const features = 3;
    const random = seeded(9);
    const frames = tokens.map((row) =>
      row.map((t) => Array.from({ length: features }, () => (t === 0 ? 0 : random(1)))),
    );
    const layers: Layer[] = [
      { keras: tf.layers.masking({ maskValue: 0 }), convert: () => [] },
      recurrent('rnn', 'lstm', { returnSequences: true }),
    ];
    const { model, weights } = prepare(layers, [time, features], 'float32', 6);
    const spec = `model K {\n  input x: float32[batch, time, ${features}]\n  x -> masking(value=0) -> rnn: LSTM(hidden=3) -> output y\n}\n`;
    const feed = new ort.Tensor('float32', Float32Array.from(frames.flat(2)), [batch, time, features]);
    const out = await runSeqc(spec, weights, { x: feed });
    expectClose(out.y!, model.predict(tf.tensor3d(frames)) as tf.Tensor, 'masking');
  });

  it('max pools over every step as GlobalMaxPooling1D does; mean over the valid steps as GlobalAveragePooling1D', async () => {
    const sequences = prepare(
      [embedding('emb'), recurrent('rnn', 'lstm', { returnSequences: true })],
      [time],
      'int32',
      7,
    );
    const pooled = tf.sequential();
    pooled.add(tf.layers.inputLayer({ inputShape: [time], dtype: 'int32' }));
    for (const layer of sequences.model.layers) if (layer.getClassName() !== 'InputLayer') pooled.add(layer);
    pooled.add(tf.layers.globalMaxPooling1d({}));
    const spec = tokensSpec(
      '-> rnn: LSTM(hidden=3) -> output y\n  rnn -> top: max -> output top\n  rnn -> avg: mean -> output avg',
    );
    const out = await runSeqc(spec, sequences.weights, { tokens: tokenFeed() });
    const input = tf.tensor2d(tokens, undefined, 'int32');
    expectClose(out.top!, pooled.predict(input) as tf.Tensor, 'max');
    // Keras's masked mean: Σ y·mask ÷ Σ mask, NaN for the row without a valid step (TF.js's own
    // GlobalAveragePooling1D ignores the mask, so the reference is written out here).
    const y = (sequences.model.predict(input) as tf.Tensor).arraySync() as number[][][];
    const mean = tokens.map((row, b) => {
      const valid = row.map((t): number => (t === 0 ? 0 : 1));
      const count = valid.reduce((a, v) => a + v, 0);
      return Array.from({ length: hidden }, (_, f) => valid.reduce((a, v, t) => a + v * y[b]![t]![f]!, 0) / count);
    });
    const empty = tokens.findIndex((row) => row.every((t) => t === 0));
    expect(Array.from(out.avg!.data.subarray(empty * hidden, (empty + 1) * hidden)).every(Number.isNaN)).toBe(true);
    const finite = tf.tensor2d(mean.map((row, b) => (b === empty ? [0, 0, 0] : row)));
    out.avg!.data.fill(0, empty * hidden, (empty + 1) * hidden);
    expectClose(out.avg!, finite, 'masked mean');
  });

  it('masked_output=zero outputs zeros at masked steps and the same values at valid ones', async () => {
    const { model, weights } = prepare(
      [embedding('emb'), bidirectional('bi', 'gru', 'concat', true)],
      [time],
      'int32',
      8,
    );
    const spec = tokensSpec(
      '-> bi: BiGRU(hidden=3, reset_after=false, masked_output=zero) -> output y\n  bi -> last -> output h',
    );
    const out = await runSeqc(spec, weights, { tokens: tokenFeed() });
    const previous = (model.predict(tf.tensor2d(tokens, undefined, 'int32')) as tf.Tensor).arraySync() as number[][][];
    const zeroed = previous.map((row, b) => row.map((step, t) => step.map((v) => (tokens[b]![t] === 0 ? 0 : v))));
    expectClose(out.y!, tf.tensor3d(zeroed), 'masked_output=zero');
  });

  it('stateful with a mask: rows without a valid step keep h0 and c0 as their final state', async () => {
    const { weights } = prepare(
      [embedding('emb'), recurrent('rnn', 'lstm', { returnSequences: true })],
      [time],
      'int32',
      10,
    );
    const spec = tokensSpec('-> rnn: LSTM(hidden=3, stateful=true) -> output y');
    const h0 = Float32Array.from({ length: batch * hidden }, (_, i) => (i % 5) / 10 - 0.2);
    const c0 = Float32Array.from({ length: batch * hidden }, (_, i) => (i % 3) / 10 - 0.1);
    const out = await runSeqc(spec, weights, {
      tokens: tokenFeed(),
      'rnn.h0': new ort.Tensor('float32', h0, [1, batch, hidden]),
      'rnn.c0': new ort.Tensor('float32', c0, [1, batch, hidden]),
    });
    const empty = tokens.findIndex((row) => row.every((t) => t === 0));
    const rowOf = (data: Float32Array): number[] => Array.from(data.subarray(empty * hidden, (empty + 1) * hidden));
    expect(rowOf(out['rnn.hn']!.data)).toEqual(rowOf(h0));
    expect(rowOf(out['rnn.cn']!.data)).toEqual(rowOf(c0));
    // A row with valid steps moves away from h0.
    expect(out['rnn.hn']!.data[0]).not.toBeCloseTo(h0[0]!, 3);
  });

  it('GRU with reset_after=true (no TF.js form): the Keras cell equations, written out, over the masked batch', async () => {
    // Keras's GRUCell with reset_after=True, gate blocks z, r, h along the kernel's columns and a
    // [2, 3U] bias (input row, recurrent row); masked steps keep the state and repeat the output.
    const random = seeded(11);
    const tensor = (shape: number[]): KerasTensor => ({
      shape,
      data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random(0.8)),
    });
    const table = tensor([vocab, dim]);
    const kernel = tensor([dim, 3 * hidden]);
    const recurrentKernel = tensor([hidden, 3 * hidden]);
    const bias = tensor([2, 3 * hidden]);
    const weights = writeSafetensors([
      ...kerasEmbedding('emb', table),
      ...kerasRecurrent({ label: 'rnn', cell: 'gru', layer: 0, direction: 0 }, { kernel, recurrentKernel, bias }),
    ]);
    const at = (t: KerasTensor, r: number, c: number): number => t.data[r * t.shape[1]! + c]!;
    const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
    const expected = tokens.map((row) => {
      let h = new Array<number>(hidden).fill(0);
      return row.map((token) => {
        if (token === 0) return h;
        const x = Array.from({ length: dim }, (_, i) => at(table, token, i));
        const gate = (block: number, j: number, input: readonly number[], w: KerasTensor, biasRow: number): number =>
          input.reduce((a, v, i) => a + v * at(w, i, block * hidden + j), 0) + at(bias, biasRow, block * hidden + j);
        h = Array.from({ length: hidden }, (_, j) => {
          const z = sigmoid(gate(0, j, x, kernel, 0) + gate(0, j, h, recurrentKernel, 1));
          const r = sigmoid(gate(1, j, x, kernel, 0) + gate(1, j, h, recurrentKernel, 1));
          const candidate = Math.tanh(gate(2, j, x, kernel, 0) + r * gate(2, j, h, recurrentKernel, 1));
          return z * h[j]! + (1 - z) * candidate;
        });
        return h;
      });
    });
    const out = await runSeqc(tokensSpec('-> rnn: GRU(hidden=3) -> output y'), weights, { tokens: tokenFeed() });
    expectClose(out.y!, tf.tensor3d(expected), 'GRU reset_after=true');
  });

  it('an encoder with mask_zero: memory and initial state equal a TF.js LSTM with returnState', async () => {
    const embed = embedding('src_embedding');
    const lstm = tf.layers.lstm({
      units: hidden,
      returnSequences: true,
      returnState: true,
      recurrentActivation: 'sigmoid',
    });
    const input = tf.input({ shape: [time], dtype: 'int32' });
    const [memory, h, c] = lstm.apply(embed.keras.apply(input)) as tf.SymbolicTensor[];
    const model = tf.model({ inputs: input, outputs: [memory!, h!, c!] });
    const random = seeded(12);
    const fill = (w: tf.Tensor): KerasTensor => ({
      shape: w.shape,
      data: Float32Array.from({ length: w.size }, () => random(0.8)),
    });
    const tableValues = embed.keras.getWeights().map(fill);
    const lstmValues = lstm.getWeights().map(fill);
    embed.keras.setWeights(tableValues.map((v) => tf.tensor(v.data, [...v.shape])));
    lstm.setWeights(lstmValues.map((v) => tf.tensor(v.data, [...v.shape])));
    const decoderTensor = (shape: number[]): KerasTensor => ({
      shape,
      data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random(0.5)),
    });
    const weights = writeSafetensors([
      ...embed.convert(tableValues),
      ...kerasRecurrent(
        { label: 'encoder', cell: 'lstm', layer: 0, direction: 0 },
        { kernel: lstmValues[0]!, recurrentKernel: lstmValues[1]!, bias: lstmValues[2]! },
      ),
      ['tgt_embedding.weight', decoderTensor([vocab, dim])],
      ['decoder.weight_ih_l0', decoderTensor([4 * hidden, dim])],
      ['decoder.weight_hh_l0', decoderTensor([4 * hidden, hidden])],
      ['decoder.bias_ih_l0', decoderTensor([4 * hidden])],
      ['decoder.bias_hh_l0', decoderTensor([4 * hidden])],
      ['generator.weight', decoderTensor([vocab, hidden])],
      ['generator.bias', decoderTensor([vocab])],
    ]);
    const spec = `model T {
  input src: int64[batch, src_time]
  encoder {
    src -> src_embedding: Embedding(vocab=${vocab}, dim=${dim}, mask_zero=true) -> encoder: LSTM(hidden=${hidden})
  }
  decoder(bos=1, eos=2, max_length=5) {
    -> tgt_embedding: Embedding(vocab=${vocab}, dim=${dim})
    -> decoder: LSTM(hidden=${hidden})
    -> generator: Linear(${vocab})
  }
}
`;
    const result = compile(spec, { sourceName: 'keras.seq', weights: { bytes: weights, name: 'keras.safetensors' } });
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const encoder = result.bundle!.files.find((f) => f.role === 'encoder')!;
    const session = await ort.InferenceSession.create(encoder.bytes, { logSeverityLevel: 3 });
    const src = new ort.Tensor('int64', BigInt64Array.from(tokens.flat().map(BigInt)), [batch, time]);
    const out = await session.run({ src });
    await session.release();
    const expected = model.predict(tf.tensor2d(tokens, undefined, 'int32')) as tf.Tensor[];
    const asOutput = (t: ort.Tensor): { dims: number[]; data: Float32Array } => ({
      dims: t.dims.map(Number),
      data: Float32Array.from(t.data as Float32Array),
    });
    expectClose(asOutput(out.memory!), expected[0]!, 'encoder memory');
    expectClose(asOutput(out.h0!), expected[1]!.expandDims(0), 'encoder h0');
    expectClose(asOutput(out.c0!), expected[2]!.expandDims(0), 'encoder c0');
  });

  it('reports the largest difference seen', () => {
    console.log(`keras-mask: max |Δ| against TF.js = ${largestDifference.toExponential(2)}`);
    expect(largestDifference).toBeGreaterThan(0);
  });
});
