// `seqc import` of TensorFlow.js Layers models: built with tfjs, saved as model.json + shard, imported by the CLI, compiled and run in onnxruntime-node against model.predict.

import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { compile } from '../src/index.js';
import { saveTfjs as saveTfjsIn } from './keras/files.js';

const workspace = mkdtempSync(join(tmpdir(), 'seqc-import-'));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

let folders = 0;

/** Saves a tfjs model as model.json + one shard in a new folder; returns model.json's path. */
function saveTfjs(model: tf.LayersModel, edit?: (json: Record<string, unknown>) => void): Promise<string> {
  return saveTfjsIn(model, join(workspace, `m${folders++}`), edit);
}

async function seqc(...argv: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const status = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), color: false });
  return { status, out, err };
}

async function seqcJson(
  ...argv: string[]
): Promise<{ status: number; report: { diagnostics: { code: string; message: string; facts?: unknown }[] } }> {
  const { status, out } = await seqc(...argv, '--json');
  return { status, report: JSON.parse(out) };
}

/** Imports model.json with the CLI into OUT/name.seq and compiles what it wrote; returns the spec and a session. */
async function importAndCompile(
  modelJson: string,
  ...flags: string[]
): Promise<{ spec: string; session: ort.InferenceSession }> {
  const out = join(modelJson, '..', 'out', 'imported.seq');
  const run = await seqc('import', modelJson, '-o', out, ...flags);
  expect(run.err).toBe('');
  expect(run.status).toBe(0);
  const spec = readFileSync(out, 'utf8');
  const weights = readFileSync(join(modelJson, '..', 'out', 'imported.safetensors'));
  const compiled = compile(spec, {
    sourceName: 'imported.seq',
    weights: { bytes: weights, name: 'imported.safetensors' },
  });
  expect(compiled.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return { spec, session: await ort.InferenceSession.create(compiled.model!) };
}

/** A seeded stream in [-1, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

/**
 * A float batch [batch, time, features] whose rows are zero-padded at the front, at the back and
 * not at all (a model without masking sees the zeros as steps, in tfjs and in seqc alike).
 */
function paddedFloats(batch: number, time: number, features: number, seed: number): number[][][] {
  const next = random(seed);
  return Array.from({ length: batch }, (_, b) =>
    Array.from({ length: time }, (_, t) => {
      const padded = (b % 3 === 1 && t < 2) || (b % 3 === 2 && t >= time - 2);
      return Array.from({ length: features }, () => (padded ? 0 : next()));
    }),
  );
}

/** Token ids [batch, time] in [1, vocab), with 0 (padding) in front of row 1 and after row 2. */
function paddedIds(batch: number, time: number, vocab: number, seed: number): number[][] {
  const next = random(seed);
  return Array.from({ length: batch }, (_, b) =>
    Array.from({ length: time }, (_, t) => {
      const padded = (b % 3 === 1 && t < 2) || (b % 3 === 2 && t >= time - 2);
      return padded ? 0 : 1 + Math.floor(((next() + 1) / 2) * (vocab - 1));
    }),
  );
}

/** Runs both and returns the largest |seqc − tfjs| over the output. */
async function maxDifference(
  model: tf.LayersModel,
  session: ort.InferenceSession,
  x: number[][] | number[][][],
  feeds: Record<string, ort.Tensor> = {},
): Promise<number> {
  const ids = !Array.isArray(x[0]![0]);
  const expected = (model.predict(tf.tensor(x as number[][][])) as tf.Tensor).dataSync();
  const inputName = session.inputNames[0]!;
  const shape = ids
    ? [x.length, (x[0] as number[]).length]
    : [x.length, (x[0] as number[][]).length, (x[0]![0] as number[]).length];
  const flat = (x as unknown[]).flat(2) as number[];
  const tensor = ids
    ? new ort.Tensor('int64', BigInt64Array.from(flat.map(BigInt)), shape)
    : new ort.Tensor('float32', Float32Array.from(flat), shape);
  const outputs = await session.run({ [inputName]: tensor, ...feeds });
  // The model's output; a stateful layer's state outputs (`label.hn`) have a dot.
  const actual = outputs[session.outputNames.find((n) => !n.includes('.'))!]!.data as Float32Array;
  expect(actual.length).toBe(expected.length);
  let max = 0;
  for (let i = 0; i < actual.length; i++) max = Math.max(max, Math.abs(actual[i]! - expected[i]!));
  return max;
}

/** Measured max |Δ| per case, printed at the end for the record. */
const measured: [string, number][] = [];
afterAll(() => {
  console.log(measured.map(([name, d]) => `${name}: max |Δ| ${d.toExponential(2)}`).join('\n'));
});

async function expectSameFunction(
  name: string,
  model: tf.LayersModel,
  x: number[][] | number[][][],
  ...flags: string[]
): Promise<string> {
  const path = await saveTfjs(model);
  const { spec, session } = await importAndCompile(path, ...flags);
  const d = await maxDifference(model, session, x);
  measured.push([name, d]);
  expect(d).toBeLessThan(1e-5);
  return spec;
}

describe('seqc import: TF.js Layers models compute the same function after import', () => {
  it('Embedding → LSTM (hard_sigmoid gates, last) → Dense(softmax), and writes the spec a person would', async () => {
    const model = tf.sequential({ name: 'tagger' });
    model.add(tf.layers.embedding({ inputDim: 20, outputDim: 6, inputLength: 7, name: 'embed' }));
    model.add(tf.layers.lstm({ units: 5, name: 'encoder' }));
    model.add(tf.layers.dense({ units: 3, activation: 'softmax', name: 'probs' }));
    const spec = await expectSameFunction('Embedding+LSTM+Dense(softmax)', model, paddedIds(4, 7, 20, 1));
    expect(spec).toBe(readFileSync(join(import.meta.dirname, 'fixtures/import/tagger.seq'), 'utf8'));
  });

  it('Bidirectional(GRU, reset_after=false) sequences → SimpleRNN(relu) → LayerNormalization → TimeDistributed(Dense) → Dropout → Dense(tanh)', async () => {
    const model = tf.sequential();
    model.add(tf.layers.inputLayer({ batchInputShape: [null, 6, 4], name: 'frames' }));
    model.add(
      tf.layers.bidirectional({ layer: tf.layers.gru({ units: 3, returnSequences: true }) as tf.RNN, name: 'bi' }),
    );
    model.add(tf.layers.simpleRNN({ units: 4, activation: 'relu', returnSequences: true, name: 'rnn' }));
    model.add(tf.layers.layerNormalization({ name: 'norm', epsilon: 1e-4 }));
    model.add(tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 5 }), name: 'td' }));
    model.add(tf.layers.dropout({ rate: 0.3, name: 'drop' }));
    model.add(tf.layers.dense({ units: 2, activation: 'tanh', name: 'out' }));
    const spec = await expectSameFunction(
      'BiGRU(reset_after=false)+SimpleRNN(relu)+LN+TD(Dense)',
      model,
      paddedFloats(5, 6, 4, 2),
    );
    expect(spec).toContain('-> bi: BiGRU(3, recurrent_activation=hard_sigmoid, reset_after=false)');
    expect(spec).toContain('# from Keras drop (Dropout): the identity at inference, left out');
    expect(spec).toContain('-> norm: LayerNorm(eps=0.0001)');
  });

  it('recurrent activations: LSTM relu/sigmoid without bias, GRU linear/hard_sigmoid, SimpleRNN sigmoid and linear', async () => {
    const lstm = tf.sequential();
    lstm.add(
      tf.layers.lstm({
        units: 4,
        activation: 'relu',
        recurrentActivation: 'sigmoid',
        useBias: false,
        returnSequences: true,
        unitForgetBias: true,
        implementation: 2,
        batchInputShape: [null, 5, 3],
        name: 'lstm_relu',
      }),
    );
    lstm.add(
      tf.layers.lstm({ units: 3, activation: 'linear', recurrentActivation: 'hardSigmoid', name: 'lstm_linear' }),
    );
    const lstmSpec = await expectSameFunction('LSTM relu/sigmoid, linear/hard_sigmoid', lstm, paddedFloats(4, 5, 3, 3));
    expect(lstmSpec).toContain('LSTM(4, bias=false, activation=relu)');
    expect(lstmSpec).toContain('LSTM(3, recurrent_activation=hard_sigmoid, activation=linear) -> last');

    const gru = tf.sequential();
    gru.add(
      tf.layers.gru({
        units: 4,
        activation: 'linear',
        recurrentActivation: 'hardSigmoid',
        returnSequences: true,
        batchInputShape: [null, 5, 3],
        name: 'gru_linear',
      }),
    );
    gru.add(
      tf.layers.gru({ units: 3, activation: 'relu', recurrentActivation: 'tanh', useBias: false, name: 'gru_relu' }),
    );
    await expectSameFunction('GRU linear/hard_sigmoid, relu/tanh', gru, paddedFloats(4, 5, 3, 4));

    const rnn = tf.sequential();
    rnn.add(
      tf.layers.simpleRNN({ units: 4, activation: 'sigmoid', returnSequences: true, batchInputShape: [null, 5, 3] }),
    );
    rnn.add(tf.layers.simpleRNN({ units: 3, activation: 'linear', unroll: true }));
    rnn.add(tf.layers.activation({ activation: 'relu' }));
    await expectSameFunction('SimpleRNN sigmoid, linear + Activation(relu)', rnn, paddedFloats(4, 5, 3, 5));
  });

  it('Bidirectional(LSTM) without return_sequences: the forward last step ++ the backward final state', async () => {
    const model = tf.sequential();
    model.add(
      tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 4 }) as tf.RNN, inputShape: [6, 3], name: 'bilstm' }),
    );
    model.add(tf.layers.dense({ units: 2, activation: 'sigmoid', name: 'head' }));
    await expectSameFunction('BiLSTM last + Dense(sigmoid)', model, paddedFloats(4, 6, 3, 6));
  });

  it('stateful LSTM: the first batch from zero state', async () => {
    const model = tf.sequential();
    model.add(
      tf.layers.lstm({ units: 3, stateful: true, returnSequences: true, batchInputShape: [2, 4, 3], name: 'stream' }),
    );
    const path = await saveTfjs(model);
    const { spec, session } = await importAndCompile(path);
    expect(spec).toContain('LSTM(3, recurrent_activation=hard_sigmoid, stateful=true)');
    const zeros = new ort.Tensor('float32', new Float32Array(6), [1, 2, 3]);
    const d = await maxDifference(model, session, paddedFloats(2, 4, 3, 7), { 'stream.h0': zeros, 'stream.c0': zeros });
    measured.push(['stateful LSTM', d]);
    expect(d).toBeLessThan(1e-5);
  });

  it('an LSTM autoencoder: LSTM → RepeatVector → LSTM → TimeDistributed(Dense), with repeat(n)', async () => {
    const model = tf.sequential();
    model.add(tf.layers.lstm({ units: 4, inputShape: [5, 3], name: 'encode' }));
    model.add(tf.layers.repeatVector({ n: 5, name: 'repeat_vector' }));
    model.add(tf.layers.lstm({ units: 4, returnSequences: true, name: 'decode' }));
    model.add(tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 3 }), name: 'reconstruct' }));
    const spec = await expectSameFunction('LSTM autoencoder (RepeatVector)', model, paddedFloats(4, 5, 3, 8));
    expect(spec).toContain('# from Keras repeat_vector (RepeatVector)\n    -> repeat(5)');
  });

  it('GRU with reset_after=true (Keras 2.3+ files): bias [2, 3U] split into input and recurrent biases', async () => {
    // TF.js cannot build this GRU, so the test edits a reset_after=false model's files and checks against
    // Keras's equations written out here (z, r, h blocks; h = z ⊙ h + (1 − z) ⊙ ĥ).
    const units = 3;
    const features = 2;
    const built = tf.sequential();
    built.add(tf.layers.gru({ units, returnSequences: true, inputShape: [4, features], name: 'gru' }));
    const next = random(9);
    const kernel = Array.from({ length: features * 3 * units }, next);
    const recurrentKernel = Array.from({ length: units * 3 * units }, next);
    const bias = Array.from({ length: 2 * 3 * units }, next);
    const path = await saveTfjs(built, (json) => {
      const topology = json['modelTopology'] as { config: { layers: { config: Record<string, unknown> }[] } };
      topology.config.layers[0]!.config['reset_after'] = true;
      topology.config.layers[0]!.config['recurrent_activation'] = 'sigmoid';
      (json['weightsManifest'] as { weights: { name: string; shape: number[] }[] }[])[0]!.weights[2]!.shape = [
        2,
        3 * units,
      ];
    });
    writeFileSync(join(path, '..', 'group1-shard1of1.bin'), new Float32Array([...kernel, ...recurrentKernel, ...bias]));
    const { spec, session } = await importAndCompile(path);
    expect(spec).toContain('-> gru: GRU(3)\n');
    const x = paddedFloats(3, 4, features, 10);
    const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
    const expected = x.flatMap((row) => {
      let h = new Array<number>(units).fill(0);
      return row.flatMap((xt) => {
        const at = (w: number[], input: number[], cols: number, block: number, j: number) =>
          input.reduce((sum, v, i) => sum + v * w[i * cols + block * units + j]!, 0);
        const g = (block: number, j: number) => at(kernel, xt, 3 * units, block, j) + bias[block * units + j]!;
        const rec = (block: number, j: number) =>
          at(recurrentKernel, h, 3 * units, block, j) + bias[3 * units + block * units + j]!;
        const z = h.map((_, j) => sigmoid(g(0, j) + rec(0, j)));
        const r = h.map((_, j) => sigmoid(g(1, j) + rec(1, j)));
        const candidate = h.map((_, j) => Math.tanh(g(2, j) + r[j]! * rec(2, j)));
        h = h.map((hj, j) => z[j]! * hj + (1 - z[j]!) * candidate[j]!);
        return h;
      });
    });
    const input = new ort.Tensor('float32', Float32Array.from(x.flat(2)), [3, 4, features]);
    const out = (await session.run({ [session.inputNames[0]!]: input }))[session.outputNames[0]!]!.data as Float32Array;
    const d = Math.max(...expected.map((e, i) => Math.abs(e - out[i]!)));
    measured.push(['GRU reset_after=true (written-out Keras equations)', d]);
    expect(d).toBeLessThan(1e-5);
  });
});

describe('seqc import: more options and weight encodings', () => {
  it('LayerNormalization without center or scale (weight ones, bias zeros) on a vector, after GlobalAveragePooling1D', async () => {
    const model = tf.sequential();
    model.add(tf.layers.simpleRNN({ units: 4, returnSequences: true, inputShape: [5, 3], name: 'rnn' }));
    model.add(tf.layers.globalAveragePooling1d({ name: 'pool' }));
    model.add(tf.layers.layerNormalization({ center: false, scale: false, name: 'norm' }));
    model.add(tf.layers.dense({ units: 2, useBias: false, name: 'head' }));
    const spec = await expectSameFunction(
      'LayerNorm(center=false, scale=false) + mean',
      model,
      paddedFloats(3, 5, 3, 12),
    );
    expect(spec).toContain(
      '# from Keras norm (LayerNormalization); scale=false: weight ones, center=false: bias zeros',
    );
    expect(spec).toContain('# from Keras pool (GlobalAveragePooling1D)\n    -> mean\n');
    expect(spec).toContain('-> head: Linear(2, bias=false)');
  });

  it('reads uint8-quantized and float16 weights as TF.js dequantizes them (q · scale + min)', async () => {
    const model = tf.sequential();
    model.add(tf.layers.dense({ units: 2, inputShape: [3], name: 'fc' }));
    const path = await saveTfjs(model, (json) => {
      const [kernel, bias] = (json['weightsManifest'] as { weights: Record<string, unknown>[] }[])[0]!.weights;
      kernel!['quantization'] = { dtype: 'uint8', scale: 0.5, min: -1 };
      bias!['quantization'] = { dtype: 'float16' };
    });
    // kernel [3, 2] as uint8 0..5, bias [2] as float16 1.5 and -2.
    const shard = new Uint8Array(6 + 4);
    shard.set([0, 1, 2, 3, 4, 5]);
    new DataView(shard.buffer).setUint16(6, 0x3e00, true);
    new DataView(shard.buffer).setUint16(8, 0xc000, true);
    writeFileSync(join(path, '..', 'group1-shard1of1.bin'), shard);
    const out = join(path, '..', 'out', 'q.seq');
    expect((await seqc('import', path, '-o', out)).status).toBe(0);
    const { readSafetensors } = await import('../src/weights/safetensors.js');
    const tensors = readSafetensors(readFileSync(join(path, '..', 'out', 'q.safetensors')), 'q.safetensors');
    const weights = tensors.tensors;
    expect(Array.from(weights!.get('fc.weight')!.data)).toEqual([-1, 0, 1, -0.5, 0.5, 1.5]);
    expect(Array.from(weights!.get('fc.bias')!.data)).toEqual([1.5, -2]);
  });
});

describe('seqc import: custom layers, overwriting and malformed files', () => {
  it('--map CLASS=builtin writes a custom layer as the builtin, and without it the layer is SEQ602', async () => {
    const model = tf.sequential();
    model.add(tf.layers.lstm({ units: 4, inputShape: [5, 3], name: 'lstm' }));
    model.add(tf.layers.dense({ units: 2, name: 'head' }));
    const path = await saveTfjs(model, (json) => {
      const topology = json['modelTopology'] as {
        config: { layers: { class_name: string; config: Record<string, unknown> }[] };
      };
      topology.config.layers[0]!.config['return_sequences'] = true;
      topology.config.layers.splice(1, 0, { class_name: 'GetLastTimestepLayer', config: { name: 'get_last' } });
    });
    const refused = await seqcJson('import', path, '-o', join(path, '..', 'refused', 'm.seq'));
    expect(refused.status).toBe(1);
    expect(refused.report.diagnostics.map((d) => [d.code, d.facts])).toEqual([
      ['SEQ602', { names: ['get_last', 'GetLastTimestepLayer'], found: 'GetLastTimestepLayer' }],
    ]);
    const { spec, session } = await importAndCompile(path, '--map', 'GetLastTimestepLayer=last');
    expect(spec).toContain('# from Keras get_last (GetLastTimestepLayer), mapped by --map to `last`\n    -> last\n');
    const d = await maxDifference(model, session, paddedFloats(3, 5, 3, 11));
    measured.push(['--map GetLastTimestepLayer=last', d]);
    expect(d).toBeLessThan(1e-5);
  });

  it('refuses to replace NAME.seq or NAME.safetensors without --force (SEQ605), and replaces both with it', async () => {
    const model = tf.sequential();
    model.add(tf.layers.dense({ units: 2, inputShape: [3], name: 'fc' }));
    const path = await saveTfjs(model);
    const out = join(path, '..', 'out', 'fc.seq');
    expect((await seqc('import', path, '-o', out)).status).toBe(0);
    writeFileSync(out, '# edited by hand\n');
    const again = await seqcJson('import', path, '-o', out);
    expect(again.status).toBe(1);
    expect(again.report.diagnostics.map((d) => d.code)).toEqual(['SEQ605']);
    expect(readFileSync(out, 'utf8')).toBe('# edited by hand\n');
    expect((await seqc('import', path, '-o', out, '--force')).status).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('-> fc: Linear(2)');
  });

  it('reports malformed files as diagnostics, writing nothing', async () => {
    const model = tf.sequential();
    model.add(tf.layers.dense({ units: 2, inputShape: [3], name: 'fc' }));
    const path = await saveTfjs(model);
    const shard = join(path, '..', 'group1-shard1of1.bin');
    const good = readFileSync(path, 'utf8');
    const cases: [string, () => void, string][] = [
      ['bad JSON', () => writeFileSync(path, good.slice(0, 40)), 'SEQ600'],
      ['no modelTopology', () => writeFileSync(path, '{"weightsManifest": []}'), 'SEQ600'],
      [
        'a shard outside the folder',
        () => writeFileSync(path, good.replace('group1-shard1of1.bin', '../x.bin')),
        'SEQ600',
      ],
      ['an absurd shape', () => writeFileSync(path, good.replace('"shape":[3,2]', '"shape":[1e300,2]')), 'SEQ600'],
      [
        'a huge shape',
        () => writeFileSync(path, good.replace('"shape":[3,2]', '"shape":[1073741824,1073741824]')),
        'SEQ601',
      ],
      ['a missing shard', () => rmSync(shard), 'SEQ601'],
      ['a short shard', () => writeFileSync(shard, new Uint8Array(12)), 'SEQ601'],
      [
        'a weight of the wrong shape',
        () => writeFileSync(path, good.replace('"shape":[3,2]', '"shape":[2,3]')),
        'SEQ601',
      ],
      [
        'a functional model without input_layers and output_layers',
        () => writeFileSync(path, good.replace('"Sequential"', '"Functional"')),
        'SEQ600',
      ],
    ];
    const bytes = readFileSync(shard);
    for (const [what, corrupt, code] of cases) {
      writeFileSync(path, good);
      writeFileSync(shard, bytes);
      corrupt();
      const out = join(path, '..', 'bad', 'm.seq');
      const run = await seqcJson('import', path, '-o', out);
      expect(run.status, what).toBe(1);
      expect(
        run.report.diagnostics.map((d) => d.code),
        what,
      ).toEqual([code]);
      expect(() => readFileSync(out), what).toThrow();
    }
  });

  it('names the layer, its class and the option it cannot import (SEQ603)', async () => {
    const model = tf.sequential();
    model.add(tf.layers.lstm({ units: 2, inputShape: [4, 3], name: 'enc' }));
    const path = await saveTfjs(model, (json) => {
      const topology = json['modelTopology'] as { config: { layers: { config: Record<string, unknown> }[] } };
      topology.config.layers[0]!.config['activation'] = 'elu';
    });
    const run = await seqcJson('import', path, '-o', join(path, '..', 'out', 'm.seq'));
    expect(run.report.diagnostics.map((d) => [d.code, d.facts])).toEqual([
      [
        'SEQ603',
        {
          names: ['enc', 'LSTM', 'activation'],
          found: '"elu"',
          expected: ['tanh', 'relu', 'sigmoid', 'hard_sigmoid', 'linear'],
        },
      ],
    ]);
  });
});

describe('a Bidirectional with its backward_layer written out (as Keras 3 writes every one)', () => {
  async function withBackward(edit: (backward: Record<string, unknown>) => void): Promise<string> {
    const model = tf.sequential();
    model.add(
      tf.layers.bidirectional({
        layer: tf.layers.lstm({ units: 2, recurrentActivation: 'sigmoid' }) as tf.RNN,
        inputShape: [4, 3],
        name: 'bi',
      }),
    );
    return saveTfjs(model, (json) => {
      const topology = json['modelTopology'] as { config: { layers: { config: Record<string, unknown> }[] } };
      const bi = topology.config.layers[0]!.config;
      const forward = bi['layer'] as { class_name: string; config: Record<string, unknown> };
      const backward = { ...forward.config, name: 'backward_lstm', go_backwards: true };
      edit(backward);
      bi['backward_layer'] = { class_name: forward.class_name, config: backward };
    });
  }

  it('imports the mirror of `layer` as the same BiLSTM', async () => {
    const path = await withBackward(() => {});
    const out = join(path, '..', 'out', 'm.seq');
    expect((await seqc('import', path, '-o', out)).status).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('-> bi: BiLSTM(2)');
  });

  it.each([
    ['units', 3, 'backward_layer.units', '3', ['2']],
    ['activation', 'relu', 'backward_layer.activation', '"relu"', ['"tanh"']],
    ['go_backwards', false, 'backward_layer.go_backwards', 'false', ['true']],
  ] as const)('refuses one whose %s differs (SEQ603)', async (option, value, named, found, expected) => {
    const path = await withBackward((backward) => {
      backward[option] = value;
    });
    const run = await seqcJson('import', path, '-o', join(path, '..', 'out', 'm.seq'));
    expect(run.report.diagnostics.map((d) => [d.code, d.facts])).toEqual([
      ['SEQ603', { names: ['bi', 'Bidirectional', named], found, expected: [...expected] }],
    ]);
  });
});

describe('seqc import never throws on a mangled config', () => {
  it('gives a spec or diagnostics for 400 random mutations of a model.json', async () => {
    const model = tf.sequential();
    model.add(tf.layers.embedding({ inputDim: 10, outputDim: 4, inputLength: 5, name: 'emb' }));
    model.add(
      tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 3, returnSequences: true }) as tf.RNN, name: 'bi' }),
    );
    model.add(tf.layers.layerNormalization({ name: 'norm' }));
    model.add(tf.layers.gru({ units: 2, name: 'gru' }));
    model.add(tf.layers.repeatVector({ n: 3, name: 'rep' }));
    model.add(tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 2, activation: 'relu' }), name: 'td' }));
    const path = await saveTfjs(model);
    const good = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    const shard = new Uint8Array(readFileSync(join(path, '..', 'group1-shard1of1.bin')));
    const next = random(42);
    const oddValues: unknown[] = [null, -1, 0, 1e9, 'x', '', true, [], {}, [null], { class_name: 'LSTM' }, 2.5, -0.5];
    /** Every object and array in the JSON, to pick a place to mutate. */
    const containers = (v: unknown, out: (Record<string, unknown> | unknown[])[] = []) => {
      if (typeof v === 'object' && v !== null) {
        out.push(v as Record<string, unknown>);
        for (const child of Object.values(v)) containers(child, out);
      }
      return out;
    };
    const { importKeras } = await import('../src/import/keras.js');
    const { decodeTfjsWeights, parseTfjsModel } = await import('../src/import/tfjs.js');
    let specs = 0;
    for (let i = 0; i < 400; i++) {
      const mangled = structuredClone(good);
      for (let k = 0; k < 1 + Math.floor(((next() + 1) / 2) * 3); k++) {
        const all = containers(mangled);
        const target = all[Math.floor(((next() + 1) / 2) * all.length)]!;
        const keys = Object.keys(target);
        if (keys.length === 0) continue;
        const key = keys[Math.floor(((next() + 1) / 2) * keys.length)]!;
        if (next() < -0.6) delete (target as Record<string, unknown>)[key];
        else (target as Record<string, unknown>)[key] = oddValues[Math.floor(((next() + 1) / 2) * oddValues.length)];
      }
      const parsed = parseTfjsModel(JSON.stringify(mangled), 'model.json');
      if (parsed.model === undefined) {
        expect(parsed.diagnostics.length).toBeGreaterThan(0);
        continue;
      }
      const paths = parsed.model.groups.flatMap((g) => g.paths);
      const decoded = decodeTfjsWeights(parsed.model, new Map(paths.map((p) => [p, shard])), 'model.json');
      if (decoded.model === undefined) {
        expect(decoded.diagnostics.length).toBeGreaterThan(0);
        continue;
      }
      const result = importKeras(decoded.model, { source: 'model.json', modelName: 'fuzzed' });
      if (result.spec === undefined) expect(result.diagnostics.length).toBeGreaterThan(0);
      else {
        specs++;
        // What the importer writes is a spec that compiles: it reports what it cannot express itself.
        expect(compile(result.spec).diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      }
    }
    expect(specs).toBeGreaterThan(0);
  });
});
