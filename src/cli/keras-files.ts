// Keras's own files for `seqc import`: `.keras` (Keras 3: a zip of config.json, metadata.json and model.weights.h5) and legacy `.h5` (Keras 2), read with h5wasm into a KerasModel.
//
// The layouts follow Keras's saving code. Keras 3 (keras/src/saving/saving_lib.py, 3.x): each layer
// of a Sequential model keeps its variables at `layers/<class in snake_case, _1, _2 … for repeats>/vars/<i>`,
// in the order the layer created them, and a layer's child layers below it by attribute name (an
// RNN's `cell`, a Bidirectional's `forward_layer` and `backward_layer`, a TimeDistributed's `layer`).
// Keras 2 (keras/saving/legacy/hdf5_format.py, 2.x): the root's `model_config` attribute holds the
// config as JSON, and `model_weights/<layer>` lists its `weight_names`, each a dataset at that path.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { KerasModel, KerasTensor } from '../import/keras.js';
import { tfjsLimits } from '../import/tfjs.js';
import { isMissingPackage } from '../runtime/node-ort.js';
import { entryBytes, listZipEntries } from '../weights/zip.js';

type H5 = typeof import('h5wasm');
type H5Group = InstanceType<H5['Group']>;

const h5Package = 'h5wasm';

let loading: Promise<{ h5?: H5; diagnostics: Diagnostic[] }> | undefined;

/**
 * Imports h5wasm once per process. It is an optional peer dependency (15 MB, needed only to read
 * `.keras` and `.h5` files), so when it is not installed the answer is SEQ609, which says what to install.
 */
async function loadH5wasm(): Promise<{ h5?: H5; diagnostics: Diagnostic[] }> {
  loading ??= importH5wasm();
  return loading;
}

/** Makes `seqc import` of Keras files answer as if h5wasm were not installed until the returned function is called (tests, docs/errors.md). */
export function pretendH5wasmIsMissing(): () => void {
  const before = loading;
  loading = Promise.resolve({ diagnostics: [h5wasmMissing()] });
  return () => {
    loading = before;
  };
}

async function importH5wasm(): Promise<{ h5?: H5; diagnostics: Diagnostic[] }> {
  try {
    const h5 = (await import(`${h5Package}/node`)).default as unknown as H5;
    await h5.ready;
    return { h5, diagnostics: [] };
  } catch (e) {
    if (isMissingPackage(e, h5Package)) return { diagnostics: [h5wasmMissing()] };
    const message = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
    return {
      diagnostics: [
        error(
          'SEQ609',
          spanOfWhole(h5Package),
          `h5wasm is installed but could not be loaded: ${message}`,
          'reinstall it with `npm install h5wasm`',
          { names: [h5Package], found: message },
        ),
      ],
    };
  }
}

function h5wasmMissing(): Diagnostic {
  return error(
    'SEQ609',
    spanOfWhole(h5Package),
    'importing a `.keras` or `.h5` file needs h5wasm, which is not installed',
    'install it next to seqc with `npm install h5wasm` (TensorFlow.js model.json imports without it)',
    { names: [h5Package], expected: 'installed', found: 'not installed' },
  );
}

/** Reads a `.keras` archive from its bytes. */
export async function readKerasArchive(
  bytes: Uint8Array,
  source: string,
): Promise<{ model?: KerasModel; diagnostics: Diagnostic[] }> {
  const listing = listZipEntries(bytes);
  if ('problem' in listing) return malformed(source, `${source} is not a .keras archive: ${listing.problem}`);
  const entry = (name: string): Uint8Array | undefined => {
    const e = listing.entries.get(name);
    if (e === undefined) return undefined;
    const stored = entryBytes(bytes, e);
    if (e.method === 0) return stored;
    if (e.method !== 8) return undefined;
    try {
      return inflateRawSync(stored, { maxOutputLength: tfjsLimits.elements * 4 });
    } catch {
      return undefined;
    }
  };
  const config = parseJson(entry('config.json'));
  const metadata = parseJson(entry('metadata.json'));
  const h5bytes = entry('model.weights.h5');
  if (config === undefined || h5bytes === undefined)
    return malformed(source, `${source} lacks a readable config.json or model.weights.h5`);
  const version =
    typeof metadata === 'object' && metadata !== null && 'keras_version' in metadata
      ? String((metadata as Record<string, unknown>)['keras_version'])
      : undefined;
  const folder = mkdtempSync(join(tmpdir(), 'seqc-keras-'));
  try {
    const path = join(folder, 'model.weights.h5');
    writeFileSync(path, h5bytes);
    return await withH5(path, source, (h5, root) => {
      const weights = new Map<string, KerasTensor>();
      const problem = keras3Weights(h5, root, config, weights);
      if (problem !== undefined) return weightsProblem(source, problem);
      return {
        model: {
          format: 'keras',
          topology: config,
          ...(version === undefined ? {} : { kerasVersion: version }),
          weights,
        },
        diagnostics: [],
      };
    });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** Reads a legacy Keras `.h5` file (the whole model: config and weights). */
export async function readKerasH5(
  path: string,
  source: string,
): Promise<{ model?: KerasModel; diagnostics: Diagnostic[] }> {
  return withH5(path, source, (h5, root) => {
    const config = parseJson(attributeText(root, 'model_config'));
    if (config === undefined)
      return malformed(
        source,
        `${source} has no \`model_config\` attribute: it holds weights only, not a whole Keras model`,
      );
    const version = attributeText(root, 'keras_version');
    const weightsGroup = root.get('model_weights');
    const group = weightsGroup instanceof h5.Group ? weightsGroup : root;
    const weights = new Map<string, KerasTensor>();
    for (const layer of stringList(group, 'layer_names')) {
      const layerGroup = group.get(layer);
      if (!(layerGroup instanceof h5.Group)) continue;
      for (const name of stringList(layerGroup, 'weight_names')) {
        const tensor = readDataset(h5, layerGroup.get(name));
        if (typeof tensor === 'string') return weightsProblem(source, `${layer}/${name}: ${tensor}`);
        weights.set(name, tensor);
      }
    }
    return {
      model: {
        format: 'keras',
        topology: config,
        ...(version === undefined ? {} : { kerasVersion: version }),
        weights,
      },
      diagnostics: [],
    };
  });
}

async function withH5(
  path: string,
  source: string,
  read: (h5: H5, root: H5Group) => { model?: KerasModel; diagnostics: Diagnostic[] },
): Promise<{ model?: KerasModel; diagnostics: Diagnostic[] }> {
  const { h5, diagnostics } = await loadH5wasm();
  if (h5 === undefined) return { diagnostics };
  let file: InstanceType<H5['File']> | undefined;
  try {
    file = new h5.File(path, 'r');
  } catch (e) {
    return malformed(source, `${source} is not an HDF5 file h5wasm can open: ${(e as Error).message}`);
  }
  try {
    return read(h5, file);
  } catch (e) {
    return malformed(source, `${source} could not be read as a Keras file: ${(e as Error).message}`);
  } finally {
    file.close();
  }
}

/** Where each Keras 3 layer class keeps its variables, in order, and their names. */
function keras3Weights(h5: H5, root: H5Group, config: unknown, weights: Map<string, KerasTensor>): string | undefined {
  const layers = layerConfigs(config);
  const used = new Map<string, number>();
  for (const layer of layers) {
    const base = snakeCase(layer.className);
    const seen = used.get(base);
    used.set(base, seen === undefined ? 0 : seen + 1);
    const key = `layers/${seen === undefined ? base : `${base}_${seen + 1}`}`;
    const parts = variableNames(layer.className, layer.config);
    if (layer.className === 'Bidirectional') {
      const inner = isRecord(layer.config['layer']) ? layer.config['layer'] : {};
      const innerClass = String(inner['class_name'] ?? '');
      const innerParts = variableNames(innerClass, isRecord(inner['config']) ? inner['config'] : {});
      for (const direction of ['forward', 'backward'] as const) {
        const problem = readVars(
          h5,
          root,
          `${key}/${direction}_layer/cell/vars`,
          innerParts,
          `${layer.name}/${direction}_${snakeCase(innerClass)}`,
          weights,
        );
        if (problem !== undefined) return problem;
      }
      continue;
    }
    const path =
      layer.className === 'TimeDistributed'
        ? `${key}/layer/vars`
        : ['LSTM', 'GRU', 'SimpleRNN'].includes(layer.className)
          ? `${key}/cell/vars`
          : `${key}/vars`;
    const innerConfig =
      layer.className === 'TimeDistributed' &&
      isRecord(layer.config['layer']) &&
      isRecord(layer.config['layer']['config'])
        ? layer.config['layer']['config']
        : layer.config;
    const names = layer.className === 'TimeDistributed' ? variableNames('Dense', innerConfig) : parts;
    const problem = readVars(h5, root, path, names, layer.name, weights);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function readVars(
  h5: H5,
  root: H5Group,
  path: string,
  names: readonly string[],
  prefix: string,
  weights: Map<string, KerasTensor>,
): string | undefined {
  if (names.length === 0) return undefined;
  const group = root.get(path);
  if (!(group instanceof h5.Group)) return `model.weights.h5 has no ${path}`;
  for (const [i, name] of names.entries()) {
    const tensor = readDataset(h5, group.get(String(i)));
    if (typeof tensor === 'string') return `${path}/${i}: ${tensor}`;
    weights.set(`${prefix}/${name}`, tensor);
  }
  return undefined;
}

/** The variables a Keras 3 layer creates, in order. */
function variableNames(className: string, config: Readonly<Record<string, unknown>>): string[] {
  const bias = config['use_bias'] !== false;
  switch (className) {
    case 'Dense':
      return ['kernel', ...(bias ? ['bias'] : [])];
    case 'Embedding':
      return ['embeddings'];
    case 'LSTM':
    case 'GRU':
    case 'SimpleRNN':
      return ['kernel', 'recurrent_kernel', ...(bias ? ['bias'] : [])];
    case 'LayerNormalization':
      return [...(config['scale'] !== false ? ['gamma'] : []), ...(config['center'] !== false ? ['beta'] : [])];
    default:
      return [];
  }
}

function readDataset(h5: H5, entity: unknown): KerasTensor | string {
  if (!(entity instanceof h5.Dataset)) return 'missing';
  const shape = entity.shape ?? [];
  if (shape.length > tfjsLimits.rank || shape.reduce((n, d) => n * d, 1) > tfjsLimits.elements)
    return `the shape [${shape.join(', ')}] is too large`;
  const value = entity.value;
  if (!(value instanceof Float32Array || value instanceof Float64Array || value instanceof Uint16Array))
    return `the element type ${JSON.stringify(entity.dtype)} is not a float`;
  if (value instanceof Uint16Array) return 'float16 or bfloat16 weights are not read yet';
  const data = Float32Array.from(value);
  if (!data.every((v) => Number.isFinite(v))) return 'it holds NaN or infinite values';
  return { shape, data };
}

function layerConfigs(
  config: unknown,
): { className: string; name: string; config: Readonly<Record<string, unknown>> }[] {
  if (!isRecord(config)) return [];
  const inner = config['config'];
  const list = Array.isArray(inner) ? inner : isRecord(inner) && Array.isArray(inner['layers']) ? inner['layers'] : [];
  return list.filter(isRecord).map((l) => {
    const c = isRecord(l['config']) ? l['config'] : {};
    return { className: String(l['class_name'] ?? ''), name: String(c['name'] ?? ''), config: c };
  });
}

/** Keras's naming.to_snake_case: `SimpleRNN` → `simple_rnn`, `LayerNormalization` → `layer_normalization`. */
function snakeCase(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

function attributeText(group: H5Group, name: string): string | undefined {
  const attribute = group.attrs[name];
  if (attribute === undefined) return undefined;
  const value = attribute.json_value;
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}

function stringList(group: H5Group, name: string): string[] {
  const value = group.attrs[name]?.json_value;
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? [value] : [];
}

function parseJson(data: Uint8Array | string | undefined): unknown {
  if (data === undefined) return undefined;
  try {
    return JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function malformed(source: string, message: string): { diagnostics: Diagnostic[] } {
  return {
    diagnostics: [
      error('SEQ600', spanOfWhole(source), message, 'give a model saved by `model.save()` of Keras (.keras or .h5)', {
        names: [source],
      }),
    ],
  };
}

function weightsProblem(source: string, message: string): { diagnostics: Diagnostic[] } {
  return {
    diagnostics: [
      error(
        'SEQ601',
        spanOfWhole(source),
        `the weights of ${source} cannot be read: ${message}`,
        'save the model again with `model.save()`',
        {
          names: [source],
          found: message,
        },
      ),
    ],
  };
}
