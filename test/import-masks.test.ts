// `seqc import` of Keras masks: it writes the syntax of Keras masking (mask_zero, masking, go_backwards, merge, masked_output), and, once the language has it, the imported models compute what TF.js computes on pre-, post- and mixed-padded batches.

import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSource, compile, writeSafetensors } from '../src/index.js';
import { importKeras, type ImportResult, type KerasFileFormat } from '../src/import/keras.js';
import { decodeTfjsWeights, parseTfjsModel } from '../src/import/tfjs.js';
import { savedArtifacts } from './keras/files.js';

/** The model's files as TF.js saves them, edited by `edit`, imported in memory; returns the spec and tensors. */
async function importInMemory(
  model: tf.LayersModel,
  edit?: (json: { modelTopology: Record<string, unknown> }) => void,
): Promise<{ spec: string; weights: Uint8Array }> {
  const result = await importResult(model, edit);
  expect(result.diagnostics).toEqual([]);
  return { spec: result.spec!, weights: writeSafetensors(result.tensors!) };
}

/**
 * What `importKeras` makes of the model saved by TF.js and edited by `edit`: as the TF.js model.json
 * it is, or with `format: 'keras'` as the same config and weights read from a `.keras`/`.h5` file.
 */
async function importResult(
  model: tf.LayersModel,
  edit?: (json: { modelTopology: Record<string, unknown> }) => void,
  format: KerasFileFormat = 'tfjs-layers',
): Promise<ImportResult> {
  const saved = await savedArtifacts(model);
  const json = {
    modelTopology: JSON.parse(JSON.stringify(saved.modelTopology)) as Record<string, unknown>,
    weightsManifest: [{ paths: ['shard.bin'], weights: saved.weightSpecs }],
  };
  edit?.(json);
  const parsed = parseTfjsModel(JSON.stringify(json), 'model.json');
  expect(parsed.diagnostics).toEqual([]);
  const shards = new Map([['shard.bin', new Uint8Array(saved.weightData as ArrayBuffer)]]);
  const decoded = decodeTfjsWeights(parsed.model!, shards, 'model.json');
  expect(decoded.diagnostics).toEqual([]);
  return importKeras({ ...decoded.model!, format }, { source: 'model.json', modelName: 'masked' });
}

type Layers = { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };

describe('seqc import writes Keras masking as the language spells it', () => {
  it('mask_zero on the Embedding; TF.js layers over it keep the previous output (the default)', async () => {
    const model = tf.sequential();
    model.add(tf.layers.embedding({ inputDim: 10, outputDim: 4, maskZero: true, inputLength: 6, name: 'emb' }));
    model.add(tf.layers.lstm({ units: 3, returnSequences: true, name: 'l1' }));
    model.add(
      tf.layers.bidirectional({
        layer: tf.layers.gru({ units: 2, returnSequences: true }) as tf.RNN,
        name: 'bi',
        mergeMode: 'sum',
      }),
    );
    model.add(tf.layers.dense({ units: 2, name: 'out' }));
    const { spec } = await importInMemory(model);
    expect(spec).toContain('-> emb: Embedding(10, 4, mask_zero=true)');
    expect(spec).toContain('-> l1: LSTM(3, recurrent_activation=hard_sigmoid)\n');
    expect(spec).toContain('-> bi: BiGRU(2, recurrent_activation=hard_sigmoid, reset_after=false, merge=sum)\n');
    expect(spec).not.toContain('masked_output');
  });

  it('Masking as the masking builtin (its value when not 0), go_backwards, and merge ave and mul', async () => {
    const model = tf.sequential();
    model.add(tf.layers.masking({ maskValue: -1, inputShape: [5, 3], name: 'mask' }));
    model.add(tf.layers.gru({ units: 3, goBackwards: true, returnSequences: true, name: 'back' }));
    model.add(
      tf.layers.bidirectional({
        layer: tf.layers.lstm({ units: 2, returnSequences: true }) as tf.RNN,
        mergeMode: 'ave',
        name: 'avg',
      }),
    );
    model.add(
      tf.layers.bidirectional({ layer: tf.layers.simpleRNN({ units: 2 }) as tf.RNN, mergeMode: 'mul', name: 'prod' }),
    );
    const { spec } = await importInMemory(model);
    expect(spec).toContain('-> masking(value=-1)\n');
    expect(spec).toContain(
      '-> back: GRU(3, recurrent_activation=hard_sigmoid, reset_after=false, go_backwards=true)\n',
    );
    expect(spec).toContain('-> avg: BiLSTM(2, recurrent_activation=hard_sigmoid, merge=ave)\n');
    expect(spec).toContain('-> prod: BiRNN(2, merge=mul) -> last\n');

    const zero = tf.sequential();
    zero.add(tf.layers.masking({ inputShape: [5, 3], name: 'mask' }));
    zero.add(tf.layers.lstm({ units: 2, name: 'l' }));
    expect((await importInMemory(zero)).spec).toContain('    -> masking\n');
  });

  it("masked_output=zero for a Keras file's zero_output_for_mask and Bidirectional returning sequences; TF.js has neither", async () => {
    const model = tf.sequential();
    model.add(tf.layers.embedding({ inputDim: 10, outputDim: 4, maskZero: true, inputLength: 6, name: 'emb' }));
    model.add(tf.layers.lstm({ units: 3, returnSequences: true, name: 'l1' }));
    model.add(
      tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 2, returnSequences: true }) as tf.RNN, name: 'bi' }),
    );
    const zeroOutput = (json: { modelTopology: Record<string, unknown> }) => {
      (json.modelTopology as Layers).config.layers[1]!.config['zero_output_for_mask'] = true;
    };
    const keras = await importResult(model, zeroOutput, 'keras');
    expect(keras.diagnostics).toEqual([]);
    expect(keras.spec).toContain('-> l1: LSTM(3, recurrent_activation=hard_sigmoid, masked_output=zero)\n');
    expect(keras.spec).toContain('-> bi: BiLSTM(2, recurrent_activation=hard_sigmoid, masked_output=zero)\n');

    // tfjs-layers has no zeroOutputForMask and its Bidirectional sets none: a model.json keeps the
    // previous output, whichever Keras version its config names.
    for (const version of ['tfjs-layers 4.22.0', '2.15.0']) {
      const tfjs = await importInMemory(model, (json) => {
        zeroOutput(json);
        json.modelTopology['keras_version'] = version;
      });
      expect(tfjs.spec, version).toContain('-> l1: LSTM(3, recurrent_activation=hard_sigmoid)\n');
      expect(tfjs.spec, version).toContain('-> bi: BiLSTM(2, recurrent_activation=hard_sigmoid)\n');
    }
  });

  it("reads hard_sigmoid by the file's Keras version: Keras 2 clip(0.2x + 0.5), Keras 3 relu6(x + 3)/6", async () => {
    const model = tf.sequential();
    model.add(tf.layers.gru({ units: 2, inputShape: [4, 3], name: 'g' }));
    const keras3 = await importInMemory(model, (json) => {
      json.modelTopology['keras_version'] = '3.3.3';
    });
    expect(keras3.spec).toContain('-> g: GRU(2, recurrent_activation=hardsigmoid, reset_after=false) -> last');
    expect((await importInMemory(model)).spec).toContain('recurrent_activation=hard_sigmoid,');
  });
});

/** Whether this seqc compiles Keras masks yet (the syntax lands from another branch). */
const masksLanded =
  checkSource(
    'model P {\n  input t: int64[batch, time]\n  t -> Embedding(5, 2, mask_zero=true) -> LSTM(2, go_backwards=true) -> output y\n}\n',
  ).diagnostics.length === 0;

/** Token ids with 0 (masked) at the front, at the back, in the middle and nowhere. */
const idBatch = [
  [0, 0, 3, 4, 5, 6],
  [3, 4, 5, 6, 0, 0],
  [3, 0, 4, 0, 5, 6],
  [1, 2, 3, 4, 5, 6],
];

/** Measured max |Δ| per case, printed at the end for the record. */
const measured: [string, number][] = [];
afterAll(() => console.log(measured.map(([n, d]) => `${n}: max |Δ| ${d.toExponential(2)}`).join('\n')));

async function maxDifference(
  name: string,
  model: tf.LayersModel,
  spec: string,
  weights: Uint8Array,
  batch: number[][] | number[][][] = idBatch,
): Promise<number> {
  const compiled = compile(spec, { weights: { bytes: weights, name: 'masked.safetensors' } });
  expect(compiled.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const session = await ort.InferenceSession.create(compiled.model!);
  const expected = (model.predict(tf.tensor(batch)) as tf.Tensor).dataSync();
  const ids = !Array.isArray(batch[0]![0]);
  const flat = (batch as unknown[]).flat(2) as number[];
  const input = ids
    ? new ort.Tensor('int64', BigInt64Array.from(flat.map(BigInt)), [batch.length, (batch[0] as number[]).length])
    : new ort.Tensor('float32', Float32Array.from(flat), [batch.length, (batch[0] as number[][]).length, 3]);
  const actual = (await session.run({ [session.inputNames[0]!]: input }))[session.outputNames[0]!]!
    .data as Float32Array;
  expect(actual.length).toBe(expected.length);
  const d = Math.max(...Array.from(actual, (a, i) => Math.abs(a - expected[i]!)));
  measured.push([name, d]);
  return d;
}

describe.skipIf(!masksLanded)('imported masked models compute what TF.js computes (once Keras masks land)', () => {
  it('mask_zero → LSTM → BiGRU(merge=sum) → Dense on pre-, post- and mixed padding', async () => {
    const model = tf.sequential();
    model.add(tf.layers.embedding({ inputDim: 10, outputDim: 4, maskZero: true, inputLength: 6, name: 'emb' }));
    model.add(tf.layers.lstm({ units: 3, returnSequences: true, name: 'l1' }));
    model.add(
      tf.layers.bidirectional({
        layer: tf.layers.gru({ units: 2, returnSequences: true }) as tf.RNN,
        name: 'bi',
        mergeMode: 'sum',
      }),
    );
    model.add(tf.layers.dense({ units: 2, name: 'out' }));
    const { spec, weights } = await importInMemory(model);
    expect(await maxDifference('mask_zero → LSTM → BiGRU(sum) → Dense', model, spec, weights)).toBeLessThan(1e-5);
  });

  it('mask_zero → GRU(go_backwards) → BiLSTM(merge=ave, mul) → last', async () => {
    const model = tf.sequential();
    model.add(tf.layers.embedding({ inputDim: 10, outputDim: 4, maskZero: true, inputLength: 6, name: 'emb' }));
    model.add(tf.layers.gru({ units: 3, goBackwards: true, returnSequences: true, name: 'back' }));
    model.add(
      tf.layers.bidirectional({
        layer: tf.layers.lstm({ units: 2, returnSequences: true }) as tf.RNN,
        mergeMode: 'ave',
        name: 'avg',
      }),
    );
    model.add(
      tf.layers.bidirectional({ layer: tf.layers.simpleRNN({ units: 2 }) as tf.RNN, mergeMode: 'mul', name: 'prod' }),
    );
    const { spec, weights } = await importInMemory(model);
    expect(
      await maxDifference('mask_zero → GRU(go_backwards) → BiLSTM(ave) → BiRNN(mul)', model, spec, weights),
    ).toBeLessThan(1e-5);
  });

  it('Masking(0) over float frames → LSTM(go_backwards) last → Dense, and a Bidirectional(GRU) last', async () => {
    const frames = idBatch.map((row) => row.map((id) => [0, 1, 2].map((f) => (id === 0 ? 0 : Math.sin(id * 3 + f)))));
    const back = tf.sequential();
    back.add(tf.layers.masking({ inputShape: [6, 3], name: 'mask' }));
    back.add(tf.layers.lstm({ units: 3, goBackwards: true, name: 'back' }));
    back.add(tf.layers.dense({ units: 2, name: 'out' }));
    const first = await importInMemory(back);
    expect(
      await maxDifference('Masking → LSTM(go_backwards) → Dense', back, first.spec, first.weights, frames),
    ).toBeLessThan(1e-5);
    const bi = tf.sequential();
    bi.add(tf.layers.masking({ inputShape: [6, 3], name: 'mask' }));
    bi.add(tf.layers.bidirectional({ layer: tf.layers.gru({ units: 2 }) as tf.RNN, name: 'bi' }));
    const second = await importInMemory(bi);
    expect(await maxDifference('Masking → BiGRU last', bi, second.spec, second.weights, frames)).toBeLessThan(1e-5);
  });
});

/** The rows of `y` [batch, time, F] averaged over every step (`plain`) or over the valid steps of `ids` only. */
function meanOverTime(y: number[][][], ids: number[][], which: 'plain' | 'valid'): number[][] {
  return y.map((row, b) => {
    const weights = ids[b]!.map((id): number => (which === 'plain' || id !== 0 ? 1 : 0));
    const count = weights.reduce((a, w) => a + w, 0);
    return row[0]!.map((_, f) => row.reduce((a, step, t) => a + weights[t]! * step[f]!, 0) / count);
  });
}

function largestDifference(a: ArrayLike<number>, b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  return Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));
}

describe.skipIf(!masksLanded)('where TF.js and Keras differ over a mask, the import follows the file', () => {
  /** Embedding(mask_zero) → LSTM(return_sequences) → GlobalAveragePooling1D, and the same model without the pool. */
  function pooledModel(): { pooled: tf.Sequential; sequences: tf.Sequential } {
    const sequences = tf.sequential();
    sequences.add(tf.layers.embedding({ inputDim: 10, outputDim: 4, maskZero: true, inputLength: 6, name: 'emb' }));
    sequences.add(tf.layers.lstm({ units: 3, returnSequences: true, name: 'l1' }));
    const pooled = tf.sequential();
    for (const layer of sequences.layers) pooled.add(layer);
    pooled.add(tf.layers.globalAveragePooling1d({ name: 'pool' }));
    return { pooled, sequences };
  }

  it("GlobalAveragePooling1D over a mask: TF.js's plain mean is refused (SEQ607), Keras's masked mean imports as `mean`", async () => {
    const { pooled, sequences } = pooledModel();
    const input = tf.tensor(idBatch, undefined, 'int32');
    const y = (sequences.predict(input) as tf.Tensor).arraySync() as number[][][];
    const tfjsMean = (pooled.predict(input) as tf.Tensor).dataSync();
    // TF.js averages every step, masked ones included; the rows with padding show it.
    expect(largestDifference(tfjsMean, meanOverTime(y, idBatch, 'plain').flat())).toBeLessThan(1e-6);
    expect(largestDifference(tfjsMean, meanOverTime(y, idBatch, 'valid').flat())).toBeGreaterThan(1e-3);

    const refused = await importResult(pooled);
    expect(refused.spec).toBeUndefined();
    expect(refused.diagnostics.map((d) => [d.code, d.facts?.names])).toEqual([
      ['SEQ607', ['pool', 'GlobalAveragePooling1D']],
    ]);
    expect(refused.diagnostics[0]!.message).toContain('TensorFlow.js averages over every step');

    // Keras (Python) averages the valid steps: Σ y·mask ÷ Σ mask, as seqc's `mean` over a masked value.
    const keras = await importResult(pooled, undefined, 'keras');
    expect(keras.diagnostics).toEqual([]);
    expect(keras.spec).toContain('# from Keras pool (GlobalAveragePooling1D)\n    -> mean\n');
    const compiled = compile(keras.spec!, {
      weights: { bytes: writeSafetensors(keras.tensors!), name: 'masked.safetensors' },
    });
    const session = await ort.InferenceSession.create(compiled.model!);
    const ids = new ort.Tensor('int64', BigInt64Array.from(idBatch.flat().map(BigInt)), [idBatch.length, 6]);
    const out = (await session.run({ [session.inputNames[0]!]: ids }))[session.outputNames[0]!]!.data as Float32Array;
    const d = largestDifference(out, meanOverTime(y, idBatch, 'valid').flat());
    measured.push(['Keras masked GlobalAveragePooling1D', d]);
    expect(d).toBeLessThan(1e-5);

    // Without a mask the two agree, and a TF.js model imports.
    const plain = tf.sequential();
    plain.add(tf.layers.embedding({ inputDim: 10, outputDim: 4, inputLength: 6, name: 'emb' }));
    plain.add(tf.layers.globalAveragePooling1d({ name: 'pool' }));
    expect((await importResult(plain)).diagnostics).toEqual([]);
  });

  it('zero_output_for_mask with return_sequences=false: refused in a Keras file (SEQ608), ignored in a model.json as TF.js does', async () => {
    const model = tf.sequential();
    model.add(tf.layers.embedding({ inputDim: 10, outputDim: 4, maskZero: true, inputLength: 6, name: 'emb' }));
    model.add(tf.layers.lstm({ units: 3, name: 'l1' }));
    const zeroOutput = (json: { modelTopology: Record<string, unknown> }) => {
      (json.modelTopology as Layers).config.layers[1]!.config['zero_output_for_mask'] = true;
    };
    const refused = await importResult(model, zeroOutput, 'keras');
    expect(refused.spec).toBeUndefined();
    expect(refused.diagnostics.map((d) => [d.code, d.facts?.names])).toEqual([
      ['SEQ608', ['l1', 'LSTM', 'zero_output_for_mask']],
    ]);

    // TF.js loads the option and ignores it: its last output is the final state, seqc's `last`.
    const topology = JSON.parse(JSON.stringify(model.toJSON(null, false))) as Layers;
    topology.config.layers[1]!.config['zero_output_for_mask'] = true;
    const loaded = await tf.models.modelFromJSON({
      modelTopology: topology as unknown as tf.io.ModelJSON['modelTopology'],
    });
    loaded.setWeights(model.getWeights());
    const tfjs = await importResult(model, zeroOutput);
    expect(tfjs.diagnostics).toEqual([]);
    expect(tfjs.spec).toContain('-> l1: LSTM(3, recurrent_activation=hard_sigmoid) -> last\n');
    expect(
      await maxDifference(
        'zero_output_for_mask in a model.json (ignored)',
        loaded,
        tfjs.spec!,
        writeSafetensors(tfjs.tensors!),
      ),
    ).toBeLessThan(1e-5);

    // Why: on the post-padded row, Keras's last output is zeros, and seqc's `last` (the final states,
    // masked_output=zero or not) is the output at the last valid step, which is not.
    const { spec, weights } = await importInMemory(model);
    const zeroSpec = spec.replace(
      '-> l1: LSTM(3, recurrent_activation=hard_sigmoid)',
      '-> l1: LSTM(3, recurrent_activation=hard_sigmoid, masked_output=zero)',
    );
    expect(zeroSpec).toContain('masked_output=zero) -> last');
    const compiled = compile(zeroSpec, { weights: { bytes: weights, name: 'masked.safetensors' } });
    const session = await ort.InferenceSession.create(compiled.model!);
    const ids = new ort.Tensor('int64', BigInt64Array.from(idBatch.flat().map(BigInt)), [idBatch.length, 6]);
    const out = (await session.run({ [session.inputNames[0]!]: ids }))[session.outputNames[0]!]!.data as Float32Array;
    const postPadded = 1;
    expect(Math.max(...Array.from(out.subarray(postPadded * 3, postPadded * 3 + 3), Math.abs))).toBeGreaterThan(1e-3);

    // Without a mask, returning sequences, or inside a Bidirectional (which sets zero_output_for_mask to
    // return_sequences), the option changes nothing seqc cannot say.
    const unmasked = tf.sequential();
    unmasked.add(tf.layers.embedding({ inputDim: 10, outputDim: 4, inputLength: 6, name: 'emb' }));
    unmasked.add(tf.layers.lstm({ units: 3, name: 'l1' }));
    expect((await importResult(unmasked, zeroOutput, 'keras')).diagnostics).toEqual([]);
    const bi = tf.sequential();
    bi.add(tf.layers.embedding({ inputDim: 10, outputDim: 4, maskZero: true, inputLength: 6, name: 'emb' }));
    bi.add(tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 2 }) as tf.RNN, name: 'bi' }));
    const biZero = (json: { modelTopology: Record<string, unknown> }) => {
      const inner = (json.modelTopology as Layers).config.layers[1]!.config['layer'] as {
        config: Record<string, unknown>;
      };
      inner.config['zero_output_for_mask'] = true;
    };
    expect((await importResult(bi, biZero, 'keras')).diagnostics).toEqual([]);
  });
});
