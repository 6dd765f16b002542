// Keras-style model files for the import tests: a TF.js model saved as model.json + one shard (what
// `model.save()` writes), and a legacy Keras 2 .h5 in Keras's layout, written with h5wasm.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import h5wasm from 'h5wasm/node';
import type { KerasTensor } from '../../src/import/keras-weights.js';

/** What `model.save()` hands a save handler: the topology, the weight specs and one buffer of weights. */
export async function savedArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved!;
}

/**
 * Writes the model as TF.js does into `dir` (model.json and group1-shard1of1.bin), after `edit` has
 * changed the model.json object (its `modelTopology` is a deep copy); returns model.json's path.
 */
export async function saveTfjs(
  model: tf.LayersModel,
  dir: string,
  edit?: (json: Record<string, unknown> & { modelTopology: Record<string, unknown> }) => void,
): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const artifacts = await savedArtifacts(model);
  const json = {
    format: 'layers-model',
    generatedBy: 'TensorFlow.js tfjs-layers',
    modelTopology: JSON.parse(JSON.stringify(artifacts.modelTopology)) as Record<string, unknown>,
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: artifacts.weightSpecs }],
  };
  edit?.(json);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
  writeFileSync(join(dir, 'group1-shard1of1.bin'), new Uint8Array(artifacts.weightData as ArrayBuffer));
  return join(dir, 'model.json');
}

/**
 * A legacy Keras 2 .h5 (keras/saving/legacy/hdf5_format.py): `model_config` and `keras_version` on the
 * root, and under `model_weights/<layer>` its `weight_names`, each a float32 dataset at that path.
 * Call `await h5wasm.ready` first.
 */
export function writeLegacyH5(
  path: string,
  topology: unknown,
  weights: ReadonlyMap<string, KerasTensor>,
  layers: readonly string[],
): void {
  const file = new h5wasm.File(path, 'w');
  file.create_attribute('model_config', JSON.stringify(topology));
  file.create_attribute('keras_version', '2.15.0');
  file.create_attribute('backend', 'tensorflow');
  const root = file.create_group('model_weights');
  root.create_attribute('layer_names', [...layers]);
  for (const layer of layers) {
    const group = root.create_group(layer);
    const names = [...weights.keys()].filter((n) => n.startsWith(`${layer}/`));
    // h5wasm writes no empty list: a layer without weights gets one empty name, which Keras skips.
    group.create_attribute('weight_names', names.length > 0 ? names.map((n) => `${n}:0`) : ['']);
    for (const name of names) {
      const parts = `${name}:0`.split('/');
      let at = group;
      for (const part of parts.slice(0, -1)) at = (at.get(part) as typeof at | null) ?? at.create_group(part);
      const t = weights.get(name)!;
      at.create_dataset({ name: parts[parts.length - 1]!, data: t.data, shape: [...t.shape], dtype: '<f' });
    }
  }
  file.close();
}
