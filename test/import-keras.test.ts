// `seqc import` of Keras's own files: a legacy .h5 (Keras 2) and a .keras archive (Keras 3), written with h5wasm in Keras's layouts from a TF.js model's config and weights, imported by the CLI and compared with the TF.js model.

import * as tf from '@tensorflow/tfjs';
import h5wasm from 'h5wasm/node';
import * as ort from 'onnxruntime-node';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { compile } from '../src/index.js';
import type { KerasTensor } from '../src/import/keras.js';
import { decodeTfjsWeights, parseTfjsModel } from '../src/import/tfjs.js';
import { savedArtifacts, writeLegacyH5 } from './keras/files.js';

const workspace = mkdtempSync(join(tmpdir(), 'seqc-import-keras-'));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));
beforeAll(async () => {
  await h5wasm.ready;
});

type LayerConfig = { class_name: string; config: Record<string, unknown> };

/** A TF.js model's Keras config and its weights by TF.js name (`lstm/kernel`, `bi/forward_lstm_x/bias`). */
async function configAndWeights(model: tf.LayersModel): Promise<{
  topology: { class_name: string; config: { name: string; layers: LayerConfig[] } };
  weights: Map<string, KerasTensor>;
}> {
  const saved = await savedArtifacts(model);
  const json = {
    modelTopology: saved.modelTopology,
    weightsManifest: [{ paths: ['s'], weights: saved.weightSpecs }],
  };
  const parsed = parseTfjsModel(JSON.stringify(json), 'model.json');
  const decoded = decodeTfjsWeights(
    parsed.model!,
    new Map([['s', new Uint8Array(saved.weightData as ArrayBuffer)]]),
    'm',
  );
  return {
    topology: JSON.parse(JSON.stringify(saved.modelTopology)),
    weights: decoded.model!.weights as Map<string, KerasTensor>,
  };
}

function dataset(group: InstanceType<typeof h5wasm.Group>, name: string, t: KerasTensor): void {
  group.create_dataset({ name, data: t.data, shape: [...t.shape], dtype: '<f' });
}

/** Keras 3's model.weights.h5: layers/<class in snake_case>/[cell|layer|forward_layer/cell]/vars/<i>. */
function writeKeras3Weights(path: string, groups: [string, KerasTensor[]][]): void {
  const file = new h5wasm.File(path, 'w');
  for (const [where, tensors] of groups) {
    let at: InstanceType<typeof h5wasm.Group> = file;
    for (const part of `${where}/vars`.split('/')) at = (at.get(part) as typeof at | null) ?? at.create_group(part);
    tensors.forEach((t, i) => dataset(at, String(i), t));
  }
  file.close();
}

/** A zip of stored entries, as Python's zipfile.ZipFile(path, "w") writes it. */
function zip(files: Record<string, Uint8Array>): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (data: Uint8Array) => {
    let c = 0xffffffff;
    for (const byte of data) c = crcTable[(c ^ byte) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(files)) {
    const nameBytes = new TextEncoder().encode(name);
    const local = new Uint8Array(30 + nameBytes.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint32(14, crc32(data), true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, nameBytes.length, true);
    local.set(nameBytes, 30);
    const central = new Uint8Array(46 + nameBytes.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint32(16, crc32(data), true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint32(42, offset, true);
    central.set(nameBytes, 46);
    locals.push(local, data);
    centrals.push(central);
    offset += local.length + data.length;
  }
  const centralSize = centrals.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, centrals.length, true);
  ev.setUint16(10, centrals.length, true);
  ev.setUint32(12, centralSize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + centralSize + 22);
  let at = 0;
  for (const part of [...locals, ...centrals, end]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

async function importAndRun(
  modelPath: string,
  x: number[][] | number[][][],
): Promise<{ spec: string; output: Float32Array }> {
  const out = join(modelPath, '..', 'out', 'imported.seq');
  let err = '';
  const status = await main(['import', modelPath, '-o', out], { out: () => {}, err: (t) => (err += t), color: false });
  expect(err).toBe('');
  expect(status).toBe(0);
  const spec = readFileSync(out, 'utf8');
  const weights = readFileSync(join(modelPath, '..', 'out', 'imported.safetensors'));
  const compiled = compile(spec, { weights: { bytes: weights, name: 'imported.safetensors' } });
  const session = await ort.InferenceSession.create(compiled.model!);
  const ids = !Array.isArray(x[0]![0]);
  const shape = ids
    ? [x.length, (x[0] as number[]).length]
    : [x.length, (x[0] as number[][]).length, (x[0]![0] as number[]).length];
  const flat = (x as unknown[]).flat(2) as number[];
  const input = ids
    ? new ort.Tensor('int64', BigInt64Array.from(flat.map(BigInt)), shape)
    : new ort.Tensor('float32', Float32Array.from(flat), shape);
  const outputs = await session.run({ [session.inputNames[0]!]: input });
  return { spec, output: outputs[session.outputNames[0]!]!.data as Float32Array };
}

function maxDelta(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  return Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));
}

const measured: [string, number][] = [];
afterAll(() => console.log(measured.map(([n, d]) => `${n}: max |Δ| ${d.toExponential(2)}`).join('\n')));

describe("seqc import of Keras's own files", () => {
  it('a legacy Keras 2 .h5: Embedding → LSTM (hard_sigmoid) → Dense(softmax)', async () => {
    const model = tf.sequential();
    model.add(tf.layers.embedding({ inputDim: 12, outputDim: 4, inputLength: 5, name: 'embedding' }));
    model.add(tf.layers.lstm({ units: 3, name: 'lstm' }));
    model.add(tf.layers.dense({ units: 2, activation: 'softmax', name: 'dense' }));
    const { topology, weights } = await configAndWeights(model);
    const dir = join(workspace, 'h5');
    mkdirSync(dir, { recursive: true });
    writeLegacyH5(join(dir, 'model.h5'), topology, weights, ['embedding', 'lstm', 'dense']);
    const x = [
      [0, 0, 3, 4, 5],
      [3, 4, 5, 0, 0],
      [1, 2, 3, 4, 11],
    ];
    const { spec, output } = await importAndRun(join(dir, 'model.h5'), x);
    expect(spec).toContain('(Keras 2.15.0, Keras 2 semantics)');
    expect(spec).toContain('-> lstm: LSTM(3, recurrent_activation=hard_sigmoid) -> last');
    const d = maxDelta(output, (model.predict(tf.tensor(x)) as tf.Tensor).dataSync());
    measured.push(['legacy .h5', d]);
    expect(d).toBeLessThan(1e-5);
  });

  it('a Keras 3 .keras: Bidirectional(LSTM) → GRU → LayerNormalization → TimeDistributed(Dense) → SimpleRNN → Dense', async () => {
    const model = tf.sequential();
    model.add(tf.layers.inputLayer({ batchInputShape: [null, 5, 3], name: 'frames' }));
    model.add(
      tf.layers.bidirectional({
        layer: tf.layers.lstm({ units: 3, returnSequences: true, recurrentActivation: 'sigmoid' }) as tf.RNN,
        name: 'bi',
      }),
    );
    model.add(tf.layers.gru({ units: 4, returnSequences: true, recurrentActivation: 'sigmoid', name: 'gru' }));
    model.add(tf.layers.layerNormalization({ name: 'norm' }));
    model.add(tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 3 }), name: 'td' }));
    model.add(tf.layers.simpleRNN({ units: 2, name: 'rnn' }));
    model.add(tf.layers.dense({ units: 2, name: 'head' }));
    const { topology, weights } = await configAndWeights(model);
    // Keras 3 spells the input shape batch_shape.
    const input = topology.config.layers[0]!.config;
    input['batch_shape'] = input['batch_input_shape'];
    delete input['batch_input_shape'];
    // Keras 3 writes the backward layer of every Bidirectional: the forward one, reading backwards.
    const bi = topology.config.layers[1]!.config as Record<string, unknown>;
    const forward = bi['layer'] as { class_name: string; config: Record<string, unknown> };
    bi['backward_layer'] = {
      ...forward,
      config: { ...forward.config, name: `backward_${String(forward.config['name'])}`, go_backwards: true },
    };
    const byName = (prefix: string, parts: string[]) =>
      parts.map((p) => [...weights.entries()].find(([n]) => n.startsWith(prefix) && n.endsWith(`/${p}`))![1]);
    const cell = ['kernel', 'recurrent_kernel', 'bias'];
    const dir = join(workspace, 'keras3');
    mkdirSync(dir, { recursive: true });
    const h5Path = join(dir, 'model.weights.h5');
    writeKeras3Weights(h5Path, [
      ['layers/bidirectional/forward_layer/cell', byName('bi/forward', cell)],
      ['layers/bidirectional/backward_layer/cell', byName('bi/backward', cell)],
      ['layers/gru/cell', byName('gru/', cell)],
      ['layers/layer_normalization', byName('norm/', ['gamma', 'beta'])],
      ['layers/time_distributed/layer', byName('td/', ['kernel', 'bias'])],
      ['layers/simple_rnn/cell', byName('rnn/', cell)],
      ['layers/dense', byName('head/', ['kernel', 'bias'])],
    ]);
    const archive = zip({
      'metadata.json': new TextEncoder().encode(JSON.stringify({ keras_version: '3.3.3', date_saved: '2026-01-01' })),
      'config.json': new TextEncoder().encode(JSON.stringify(topology)),
      'model.weights.h5': readFileSync(h5Path),
    });
    writeFileSync(join(dir, 'model.keras'), archive);
    const x = Array.from({ length: 3 }, (_, b) =>
      Array.from({ length: 5 }, (_, t) => Array.from({ length: 3 }, (_, f) => Math.sin(b * 7 + t * 3 + f))),
    );
    const { spec, output } = await importAndRun(join(dir, 'model.keras'), x);
    expect(spec).toContain('(Keras 3.3.3, Keras 3 semantics)');
    expect(spec).toContain('-> bi: BiLSTM(3)\n');
    const d = maxDelta(output, (model.predict(tf.tensor(x)) as tf.Tensor).dataSync());
    measured.push(['.keras (Keras 3)', d]);
    expect(d).toBeLessThan(1e-5);
  });

  it('reports a .keras that is not a zip and an .h5 without a model config', async () => {
    const dir = join(workspace, 'bad');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'broken.keras'), 'not a zip');
    const weightsOnly = new h5wasm.File(join(dir, 'weights.h5'), 'w');
    weightsOnly.create_group('dense');
    weightsOnly.close();
    for (const [file, code] of [
      ['broken.keras', 'SEQ600'],
      ['weights.h5', 'SEQ600'],
    ] as const) {
      let out = '';
      const status = await main(['import', join(dir, file), '-o', join(dir, 'out.seq'), '--json'], {
        out: (t) => (out += t),
        err: () => {},
        color: false,
      });
      expect(status, file).toBe(1);
      expect(
        (JSON.parse(out) as { diagnostics: { code: string }[] }).diagnostics.map((d) => d.code),
        file,
      ).toEqual([code]);
    }
  });
});
