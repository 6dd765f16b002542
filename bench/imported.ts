// The imported models of bench/browser.ts: Keras-style TF.js Layers models built and saved in Node,
// imported with `seqc import` (the CLI's own entry point) and compiled for both targets.
//
// Each model is saved as a user's would be: `model.save(tf.io.withSaveHandler(…))` gives model.json
// and one weight shard, written to a folder; `seqc import model.json -o DIR/NAME.seq` turns them into
// a spec and its safetensors; the written spec is compiled with those weights, for the generic target
// and for `target: 'webgpu'`. The page loads the original model from the same model.json and shard
// with `tf.loadLayersModel`.

import * as tf from '@tensorflow/tfjs';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { main } from '../src/cli/main.js';
import { compile } from '../src/index.js';
import { seededRandom } from '../test/reference/float64.js';

/** One Keras-style model: Embedding → LSTM (last output) → Dense. */
export interface ImportedModelSpec {
  /** The model's name: its folder, its spec file and its label in the table. */
  readonly name: string;
  readonly vocab: number;
  readonly dim: number;
  readonly units: number;
  readonly classes: number;
  /** Keras's `mask_zero`: token id 0 is padding, which the LSTM skips. */
  readonly maskZero: boolean;
  readonly weightSeed: number;
}

export interface ImportedModel {
  readonly spec: ImportedModelSpec;
  /** The spec `seqc import` wrote. */
  readonly seqText: string;
  /** model.json and its shard, by file name, as saved. */
  readonly tfjsFiles: ReadonlyMap<string, Uint8Array>;
  readonly generic: Uint8Array;
  /** The webgpu target's graph, or the diagnostics with which seqc refused it. */
  readonly webgpu: { readonly model: Uint8Array } | { readonly refused: string };
}

/**
 * Builds the model in TF.js with seeded weights, saves it into `folder/NAME/`, imports it with the
 * CLI into `folder/NAME/seqc/NAME.seq`, and compiles what the import wrote.
 */
export async function buildAndImport(spec: ImportedModelSpec, folder: string): Promise<ImportedModel> {
  const modelFolder = path.join(folder, spec.name);
  mkdirSync(modelFolder, { recursive: true });
  const model = kerasModel(spec);
  await saveLayersModel(model, modelFolder);
  model.dispose();

  const modelJson = path.join(modelFolder, 'model.json');
  const seqPath = path.join(modelFolder, 'seqc', `${spec.name}.seq`);
  const cli = await runSeqc(['import', modelJson, '-o', seqPath]);
  if (cli.status !== 0) throw new Error(`seqc import ${modelJson} failed (${cli.status}):\n${cli.err}`);
  const seqText = readFileSync(seqPath, 'utf8');
  const weights = {
    bytes: readFileSync(path.join(modelFolder, 'seqc', `${spec.name}.safetensors`)),
    name: `${spec.name}.safetensors`,
  };
  const sourceName = `${spec.name}.seq`;

  const generic = compile(seqText, { sourceName, weights });
  if (generic.model === undefined) throw new Error(`seqc could not compile ${sourceName}:\n${messages(generic)}`);
  const webgpu = compile(seqText, { sourceName, weights, target: 'webgpu' });

  const tfjsFiles = new Map<string, Uint8Array>();
  for (const file of readdirSync(modelFolder, { withFileTypes: true }))
    if (file.isFile()) tfjsFiles.set(file.name, readFileSync(path.join(modelFolder, file.name)));
  return {
    spec,
    seqText,
    tfjsFiles,
    generic: generic.model,
    webgpu: webgpu.model === undefined ? { refused: firstError(webgpu) } : { model: webgpu.model },
  };
}

/**
 * The model as a Keras user writes it, with Keras's defaults where TF.js's differ: the LSTM's
 * recurrent activation is sigmoid (TF.js defaults to hard sigmoid, which the webgpu target refuses).
 * Every weight is then replaced by seeded uniform noise, PyTorch-style in scale.
 */
function kerasModel(spec: ImportedModelSpec): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.inputLayer({ name: 'tokens', batchInputShape: [null, null], dtype: 'int32' }),
      tf.layers.embedding({ name: 'embedding', inputDim: spec.vocab, outputDim: spec.dim, maskZero: spec.maskZero }),
      tf.layers.lstm({ name: 'lstm', units: spec.units, recurrentActivation: 'sigmoid', returnSequences: false }),
      tf.layers.dense({ name: 'logits', units: spec.classes }),
    ],
  });
  const random = seededRandom(spec.weightSeed);
  const seeded = model.getWeights().map((w) => {
    const scale = w.shape.length === 2 && w.shape[0] === spec.vocab ? 1 : 1 / Math.sqrt(spec.units);
    const data = Float32Array.from({ length: w.size }, () => (2 * random() - 1) * scale);
    return tf.tensor(data, w.shape);
  });
  model.setWeights(seeded);
  tf.dispose(seeded);
  return model;
}

/** Saves model.json and one shard into `folder`, as TF.js's own file handlers lay them out. */
async function saveLayersModel(model: tf.LayersModel, folder: string): Promise<void> {
  const shard = 'group1-shard1of1.bin';
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const json = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [shard], weights: artifacts.weightSpecs }],
      };
      writeFileSync(path.join(folder, 'model.json'), JSON.stringify(json));
      writeFileSync(path.join(folder, shard), new Uint8Array(artifacts.weightData as ArrayBuffer));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

/** The `seqc` command line, run in this process through the function bin/seqc.js calls. */
async function runSeqc(argv: readonly string[]): Promise<{ status: number; err: string }> {
  let err = '';
  const status = await main([...argv], { out: () => {}, err: (text) => (err += text), color: false });
  return { status, err };
}

/** The first error, `CODE: message`, as one line of the table. */
function firstError(compiled: ReturnType<typeof compile>): string {
  const d = compiled.diagnostics.find((d) => d.severity === 'error');
  return d === undefined ? 'no model and no error' : `seqc refuses --target webgpu: ${d.code}: ${d.message}`;
}

function messages(compiled: ReturnType<typeof compile>): string {
  return compiled.diagnostics
    .filter((d) => d.severity === 'error')
    .map((d) => `${d.code}: ${d.message}`)
    .join('; ');
}
