// A Keras Sequential model (its config and weights) as a seqc spec and the spec's tensors: the conversion `seqc import` runs.

import { builtinNames, layerKinds } from '../check/signatures.js';
import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { RecurrentCell } from '../ir/ir.js';
import {
  kerasDense,
  kerasEmbedding,
  kerasLayerNorm,
  kerasRecurrent,
  type ConvertedWeights,
  type KerasTensor,
} from './keras-weights.js';
import { baseName, cellArguments, isRecord, layerWeights, positiveInt, unsupportedOption } from './keras-layer.js';
import { claimName, sanitizeName } from './names.js';
import { importKerasSeq2seq, isFunctionalModel, type GenerationFlags } from './keras-seq2seq.js';

export type { KerasTensor } from './keras-weights.js';

/**
 * Which runs the file: TensorFlow.js Layers (a model.json) or Keras itself (`.keras`, `.h5`). Where
 * the two compute different things from the same config (GlobalAveragePooling1D over a mask), the
 * import follows the one that runs the file.
 */
export type KerasFileFormat = 'tfjs-layers' | 'keras';

/** What an importer reads from a file: the model's config, the Keras version that wrote it, its weights by name. */
export interface KerasModel {
  readonly format: KerasFileFormat;
  /** The Keras model config, `{ class_name, config }` (TF.js `modelTopology`, Keras 3 `config.json`). */
  readonly topology: unknown;
  /** `tfjs-layers 4.22.0`, `2.15.0`, `3.3.3`; absent when the file does not say. */
  readonly kerasVersion?: string;
  /** Weights by Keras name: `lstm/kernel`, `bi/forward_lstm/recurrent_kernel`, `lstm/lstm_cell/kernel:0`. */
  readonly weights: ReadonlyMap<string, KerasTensor>;
}

export interface ImportOptions {
  /** The model file, for diagnostics and the spec's header. */
  readonly source: string;
  /** The spec's model name (the output file's stem). */
  readonly modelName: string;
  /** `--map CLASS=builtin`: custom layer classes written as a seqc builtin. */
  readonly map?: ReadonlyMap<string, string>;
  /** `--bos`, `--eos`, `--max-length`: what an encoder–decoder (a functional Luong-attention model) needs. */
  readonly generation?: GenerationFlags;
}

export interface ImportResult {
  readonly spec?: string;
  /** The spec's parameters by seqc name, for NAME.safetensors. */
  readonly tensors?: ReadonlyMap<string, KerasTensor>;
  readonly diagnostics: readonly Diagnostic[];
}

/** Which Keras wrote the file decides what `hard_sigmoid` means: Keras 2 (and TF.js) clip(0.2·x + 0.5), Keras 3 relu6(x + 3)/6. */
export type KerasSemantics = 'keras2' | 'keras3';

export function kerasSemantics(version: string | undefined): KerasSemantics {
  return version !== undefined && /^3\./.test(version.trim()) ? 'keras3' : 'keras2';
}

/** Converts a Keras Sequential model; every layer or option it cannot express exactly is a diagnostic. */
export function importKeras(model: KerasModel, options: ImportOptions): ImportResult {
  if (isFunctionalModel(model.topology))
    return importKerasSeq2seq(model, {
      ...options,
      semantics: kerasSemantics(model.kerasVersion),
      tfjs: model.kerasVersion?.startsWith('tfjs') === true,
    });
  const ctx: Context = {
    options,
    semantics: kerasSemantics(model.kerasVersion),
    tfjs: model.kerasVersion?.startsWith('tfjs') === true,
    format: model.format,
    weights: model.weights,
    diagnostics: [],
    tensors: new Map(),
    taken: new Set(),
    avoid: new Set<string>([...layerKinds, ...builtinNames, 'repeat', 'masking', 'concat', 'add']),
    lines: [],
  };
  const layers = sequentialLayers(ctx, model.topology);
  if (layers === undefined) return { diagnostics: ctx.diagnostics };
  const input = inputOf(ctx, layers);
  if (input === undefined) return { diagnostics: ctx.diagnostics };
  let value = input.value;
  for (const layer of layers) {
    if (layer.className === 'InputLayer') continue;
    const next = convertLayer(ctx, layer, value);
    if (next === undefined) break;
    value = next;
  }
  if (ctx.diagnostics.some((d) => d.severity === 'error')) return { diagnostics: ctx.diagnostics };
  const last = layers[layers.length - 1]!;
  // An output may share a label's name, but not an input's.
  const outputName = claimName(new Set([input.name]), new Set(), last.name);
  const version =
    model.kerasVersion === undefined
      ? 'an unstated Keras version'
      : ctx.tfjs
        ? model.kerasVersion
        : `Keras ${model.kerasVersion}`;
  const spec = [
    `# Imported by \`seqc import\` from ${baseName(options.source)} (${version}, ${ctx.semantics === 'keras3' ? 'Keras 3' : 'Keras 2'} semantics).`,
    `model ${sanitizeName(options.modelName)} {`,
    `  input ${input.name}: ${input.declaration}`,
    '',
    `  ${input.name}`,
    ...ctx.lines.map((l) => `    ${l}`),
    `    -> output ${outputName}`,
    '}',
    '',
  ].join('\n');
  return { spec, tensors: ctx.tensors, diagnostics: ctx.diagnostics };
}

interface Context {
  readonly options: ImportOptions;
  readonly semantics: KerasSemantics;
  /** Whether TF.js Layers wrote the file. */
  readonly tfjs: boolean;
  readonly format: KerasFileFormat;
  readonly weights: ReadonlyMap<string, KerasTensor>;
  readonly diagnostics: Diagnostic[];
  readonly tensors: Map<string, KerasTensor>;
  readonly taken: Set<string>;
  readonly avoid: ReadonlySet<string>;
  /** The chain's lines after the input: comments and `-> step` lines. */
  readonly lines: string[];
}

/** One layer of the config: its class, its name and its config object. */
interface KerasLayer {
  readonly className: string;
  readonly name: string;
  readonly config: Readonly<Record<string, unknown>>;
}

/** What flows between layers, as far as the conversion needs it. */
interface Flow {
  readonly dtype: 'int64' | 'float32';
  /** Whether the value has a time axis ([batch, time, F]) or not ([batch, F]). */
  readonly time: boolean;
  /** The feature size; for token ids, undefined. */
  readonly features?: number;
  /** Whether the value carries a Keras mask (from `mask_zero` or `Masking`), which recurrent layers honour. */
  readonly masked?: boolean;
}

const span = (ctx: Context) => spanOfWhole(ctx.options.source);

/** The layers of a Sequential config, or a diagnostic for anything else. */
function sequentialLayers(ctx: Context, topology: unknown): KerasLayer[] | undefined {
  const model = isRecord(topology) && isRecord(topology['model_config']) ? topology['model_config'] : topology;
  if (!isRecord(model) || typeof model['class_name'] !== 'string') {
    ctx.diagnostics.push(
      error(
        'SEQ600',
        span(ctx),
        'the model config is not a Keras model: it has no `class_name`',
        'give the model.json that `model.save()` of TensorFlow.js Layers wrote (with `modelTopology`)',
        { names: [ctx.options.source], expected: '{ class_name, config }' },
      ),
    );
    return undefined;
  }
  const className = model['class_name'];
  if (className !== 'Sequential') {
    ctx.diagnostics.push(
      error(
        'SEQ604',
        span(ctx),
        `the model is a Keras ${className}; seqc imports Sequential models`,
        className === 'Functional' || className === 'Model'
          ? 'rebuild the model as `tf.sequential()` / `keras.Sequential`, or write the spec by hand'
          : 'only Sequential models are imported',
        { names: [className], found: className, expected: 'Sequential' },
      ),
    );
    return undefined;
  }
  const config = model['config'];
  const list = Array.isArray(config) ? config : isRecord(config) ? config['layers'] : undefined;
  if (!Array.isArray(list) || list.length === 0) {
    ctx.diagnostics.push(
      error('SEQ600', span(ctx), 'the Sequential model lists no layers', 'the config needs `config.layers`', {
        names: [ctx.options.source],
        expected: 'config.layers',
      }),
    );
    return undefined;
  }
  const layers: KerasLayer[] = [];
  for (const [index, entry] of list.entries()) {
    const layer = kerasLayer(entry);
    if (layer === undefined) {
      ctx.diagnostics.push(
        error(
          'SEQ600',
          span(ctx),
          `layer ${index} of the Sequential model is not a Keras layer config`,
          'each layer is `{ class_name, config: { name, … } }`',
          { names: [String(index)], expected: '{ class_name, config }' },
        ),
      );
      return undefined;
    }
    layers.push(layer);
  }
  return layers;
}

function kerasLayer(entry: unknown): KerasLayer | undefined {
  if (!isRecord(entry) || typeof entry['class_name'] !== 'string' || !isRecord(entry['config'])) return undefined;
  const config = entry['config'];
  const name = typeof config['name'] === 'string' ? config['name'] : entry['class_name'].toLowerCase();
  return { className: entry['class_name'], name, config };
}

/** The graph input: its name (the InputLayer's, or Keras's `FIRST_input`), declaration and flow. */
function inputOf(
  ctx: Context,
  layers: readonly KerasLayer[],
): { name: string; declaration: string; value: Flow } | undefined {
  const first = layers[0]!;
  const shape = first.config['batch_input_shape'] ?? first.config['batch_shape'];
  const name = first.className === 'InputLayer' ? first.name : `${first.name}_input`;
  const consumer = layers.find((l) => l.className !== 'InputLayer');
  if (!Array.isArray(shape) || (shape.length !== 2 && shape.length !== 3)) {
    ctx.diagnostics.push(
      error(
        'SEQ604',
        span(ctx),
        `the model's input shape is ${Array.isArray(shape) ? `[${shape.map(String).join(', ')}]` : 'not stated'}; seqc imports inputs [batch, time] of token ids, [batch, time, features] or [batch, features]`,
        'build the model with an input shape: `inputShape` on the first layer, or an InputLayer',
        { names: [first.name], found: Array.isArray(shape) ? shape.length : 'none', expected: ['2', '3'] },
      ),
    );
    return undefined;
  }
  const dims = shape.map((d) => (typeof d === 'number' && Number.isInteger(d) && d > 0 ? d : undefined));
  const id = claimName(ctx.taken, ctx.avoid, name);
  const time = dims[1] ?? 'time';
  if (consumer?.className === 'Embedding') {
    if (shape.length !== 2) {
      ctx.diagnostics.push(
        error(
          'SEQ604',
          span(ctx),
          `the Embedding ${consumer.name} reads an input of shape [${shape.map(String).join(', ')}]; seqc's Embedding reads token ids [batch, time]`,
          'give the model an input shape [time] (batch_input_shape [null, time])',
          { names: [consumer.name, 'Embedding'], found: shape.length, expected: 2 },
        ),
      );
      return undefined;
    }
    return { name: id, declaration: `int64[batch, ${time}]`, value: { dtype: 'int64', time: true } };
  }
  const features = dims[dims.length - 1];
  if (features === undefined) {
    ctx.diagnostics.push(
      error(
        'SEQ604',
        span(ctx),
        `the model's input has no fixed feature size: [${shape.map(String).join(', ')}]`,
        'seqc needs the size of the last axis; give the input shape with it',
        { names: [first.name], found: String(shape[shape.length - 1]), expected: 'a positive integer' },
      ),
    );
    return undefined;
  }
  return shape.length === 3
    ? {
        name: id,
        declaration: `float32[batch, ${time}, ${features}]`,
        value: { dtype: 'float32', time: true, features },
      }
    : { name: id, declaration: `float32[batch, ${features}]`, value: { dtype: 'float32', time: false, features } };
}

/** Layers that are the identity at inference, and are left out of the spec. */
const inferenceIdentity = new Set(['Dropout', 'SpatialDropout1D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

/** Keras activations that are a seqc builtin step (`linear` is none). */
const activationSteps: Readonly<Record<string, string | null>> = {
  linear: null,
  relu: 'relu',
  tanh: 'tanh',
  sigmoid: 'sigmoid',
  softmax: 'softmax',
};

/** Converts one layer: adds its lines and tensors, returns what it gives, or undefined after a diagnostic. */
function convertLayer(ctx: Context, layer: KerasLayer, value: Flow): Flow | undefined {
  const mapped = ctx.options.map?.get(layer.className);
  if (mapped !== undefined) return mappedLayer(ctx, layer, mapped, value);
  switch (layer.className) {
    case 'Embedding':
      return embedding(ctx, layer, value);
    case 'LSTM':
    case 'GRU':
    case 'SimpleRNN':
      return recurrent(ctx, layer, layer, value, undefined);
    case 'Bidirectional':
      return bidirectional(ctx, layer, value);
    case 'Dense':
      return dense(ctx, layer, layer.config, value);
    case 'TimeDistributed': {
      const inner = kerasLayer(layer.config['layer']);
      if (inner?.className !== 'Dense') {
        return unsupportedLayer(
          ctx,
          layer,
          `TimeDistributed(${inner?.className ?? '?'})`,
          'seqc imports TimeDistributed(Dense) only',
        );
      }
      return dense(ctx, layer, inner.config, value);
    }
    case 'LayerNormalization':
      return layerNorm(ctx, layer, value);
    case 'Activation': {
      const fn = layer.config['activation'] ?? 'linear';
      const step = typeof fn === 'string' ? activationSteps[fn] : undefined;
      if (step === undefined) return unsupportedOption(ctx, layer, 'activation', fn, Object.keys(activationSteps));
      if (!expectFloat(ctx, layer, value)) return undefined;
      ctx.lines.push(comment(layer), ...(step === null ? [] : [`-> ${step}`]));
      return value;
    }
    case 'RepeatVector': {
      const n = layer.config['n'];
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1)
        return unsupportedOption(ctx, layer, 'n', n, ['a positive integer']);
      if (value.time || !expectFloat(ctx, layer, value)) return shapeProblem(ctx, layer, value, '[batch, features]');
      ctx.lines.push(comment(layer), `-> repeat(${n})`);
      return { ...value, time: true, masked: false };
    }
    case 'Masking': {
      const v = layer.config['mask_value'] ?? 0;
      if (typeof v !== 'number' || !Number.isFinite(v))
        return unsupportedOption(ctx, layer, 'mask_value', v, ['a number']);
      if (!value.time || !expectFloat(ctx, layer, value))
        return shapeProblem(ctx, layer, value, '[batch, time, features]');
      ctx.lines.push(comment(layer), v === 0 ? '-> masking' : `-> masking(value=${numberText(v)})`);
      return { ...value, masked: true };
    }
    case 'GlobalAveragePooling1D':
    case 'GlobalMaxPooling1D': {
      if (!value.time || !expectFloat(ctx, layer, value))
        return shapeProblem(ctx, layer, value, '[batch, time, features]');
      if (layer.className === 'GlobalAveragePooling1D' && value.masked === true && ctx.format === 'tfjs-layers')
        return unmaskedMean(ctx, layer);
      ctx.lines.push(comment(layer), `-> ${layer.className === 'GlobalAveragePooling1D' ? 'mean' : 'max'}`);
      return { ...value, time: false, masked: false };
    }
    default:
      if (inferenceIdentity.has(layer.className)) {
        ctx.lines.push(`# from Keras ${layer.name} (${layer.className}): the identity at inference, left out`);
        return value;
      }
      return unsupportedLayer(
        ctx,
        layer,
        layer.className,
        `map a custom layer to a builtin with \`--map ${layer.className}=BUILTIN\` (builtins: ${builtinNames.filter((b) => b !== 'repeat').join(', ')})`,
      );
  }
}

function comment(layer: KerasLayer): string {
  return `# from Keras ${layer.name} (${layer.className})`;
}

/** `--map CLASS=builtin`: a custom layer written as a builtin; it must own no weights. */
function mappedLayer(ctx: Context, layer: KerasLayer, builtin: string, value: Flow): Flow | undefined {
  const owned = [...ctx.weights.keys()].filter((k) => k.startsWith(`${layer.name}/`));
  if (owned.length > 0) {
    ctx.diagnostics.push(
      error(
        'SEQ606',
        span(ctx),
        `--map ${layer.className}=${builtin}: the layer ${layer.name} owns weights (${owned.slice(0, 3).join(', ')}), which a builtin cannot take`,
        'only layers without weights can be mapped to a builtin',
        { names: [layer.name, layer.className, builtin], found: owned.length, expected: 0 },
      ),
    );
    return undefined;
  }
  const pools = ['last', 'first', 'mean', 'max'];
  if (pools.includes(builtin) && !value.time) return shapeProblem(ctx, layer, value, '[batch, time, features]');
  if (!expectFloat(ctx, layer, value)) return undefined;
  ctx.lines.push(`# from Keras ${layer.name} (${layer.className}), mapped by --map to \`${builtin}\``, `-> ${builtin}`);
  return pools.includes(builtin) ? { ...value, time: false, masked: false } : value;
}

function embedding(ctx: Context, layer: KerasLayer, value: Flow): Flow | undefined {
  if (value.dtype !== 'int64') return shapeProblem(ctx, layer, value, 'token ids: an Embedding is the first layer');
  const vocab = positiveInt(ctx, layer, 'input_dim');
  const dim = positiveInt(ctx, layer, 'output_dim');
  if (vocab === undefined || dim === undefined) return undefined;
  const weights = layerWeights(ctx, layer, { embeddings: [vocab, dim] });
  if (weights === undefined) return undefined;
  const label = claimName(ctx.taken, ctx.avoid, layer.name);
  addTensors(ctx, kerasEmbedding(label, weights['embeddings']!));
  const mask = layer.config['mask_zero'] === true ? ', mask_zero=true' : '';
  ctx.lines.push(comment(layer), `-> ${label}: Embedding(${vocab}, ${dim}${mask})`);
  return { dtype: 'float32', time: true, features: dim, masked: layer.config['mask_zero'] === true };
}

function dense(
  ctx: Context,
  layer: KerasLayer,
  config: Readonly<Record<string, unknown>>,
  value: Flow,
): Flow | undefined {
  if (!expectFloat(ctx, layer, value) || value.features === undefined) return undefined;
  const units = config['units'];
  if (typeof units !== 'number' || !Number.isInteger(units) || units < 1)
    return unsupportedOption(ctx, layer, 'units', units, ['a positive integer']);
  const fn = config['activation'] ?? 'linear';
  const step = typeof fn === 'string' ? activationSteps[fn] : undefined;
  if (step === undefined) return unsupportedOption(ctx, layer, 'activation', fn, Object.keys(activationSteps));
  const useBias = config['use_bias'] !== false;
  const weights = layerWeights(ctx, layer, {
    kernel: [value.features, units],
    ...(useBias ? { bias: [units] } : {}),
  });
  if (weights === undefined) return undefined;
  const label = claimName(ctx.taken, ctx.avoid, layer.name);
  addTensors(ctx, kerasDense(label, weights['kernel']!, weights['bias']));
  ctx.lines.push(
    comment(layer),
    `-> ${label}: Linear(${units}${useBias ? '' : ', bias=false'})${step === null ? '' : ` -> ${step}`}`,
  );
  return { ...value, features: units };
}

function layerNorm(ctx: Context, layer: KerasLayer, value: Flow): Flow | undefined {
  if (!expectFloat(ctx, layer, value) || value.features === undefined) return undefined;
  const rank = value.time ? 3 : 2;
  const axis = layer.config['axis'] ?? -1;
  const axes = Array.isArray(axis) ? axis : [axis];
  if (axes.length !== 1 || (axes[0] !== -1 && axes[0] !== rank - 1))
    return unsupportedOption(ctx, layer, 'axis', axis, ['-1 (the feature axis)']);
  const eps = layer.config['epsilon'] ?? 1e-3;
  if (typeof eps !== 'number' || !(eps > 0))
    return unsupportedOption(ctx, layer, 'epsilon', eps, ['a positive number']);
  const center = layer.config['center'] !== false;
  const scale = layer.config['scale'] !== false;
  const f = value.features;
  const weights = layerWeights(ctx, layer, { ...(scale ? { gamma: [f] } : {}), ...(center ? { beta: [f] } : {}) });
  if (weights === undefined) return undefined;
  const label = claimName(ctx.taken, ctx.avoid, layer.name);
  addTensors(ctx, kerasLayerNorm(label, f, { gamma: weights['gamma'], beta: weights['beta'] }));
  const notes = [...(scale ? [] : ['scale=false: weight ones']), ...(center ? [] : ['center=false: bias zeros'])];
  ctx.lines.push(
    `${comment(layer)}${notes.length === 0 ? '' : `; ${notes.join(', ')}`}`,
    `-> ${label}: LayerNorm(${eps === 1e-5 ? '' : `eps=${numberText(eps)}`})`,
  );
  return value;
}

function bidirectional(ctx: Context, layer: KerasLayer, value: Flow): Flow | undefined {
  const inner = kerasLayer(layer.config['layer']);
  if (inner === undefined || !['LSTM', 'GRU', 'SimpleRNN'].includes(inner.className))
    return unsupportedLayer(
      ctx,
      layer,
      `Bidirectional(${inner?.className ?? '?'})`,
      'seqc imports Bidirectional(LSTM | GRU | SimpleRNN)',
    );
  const backward = layer.config['backward_layer'];
  if (backward !== undefined && backward !== null && !isMirror(ctx, layer, inner, backward)) return undefined;
  const mode = layer.config['merge_mode'] === undefined ? 'concat' : layer.config['merge_mode'];
  if (mode !== 'concat' && mode !== 'sum' && mode !== 'ave' && mode !== 'mul')
    return unsupportedOption(ctx, layer, 'merge_mode', mode, ['concat', 'sum', 'ave', 'mul']);
  return recurrent(ctx, layer, inner, value, mode);
}

/** The options of a recurrent layer that change what it computes, besides `go_backwards`. */
const mirroredOptions = [
  'units',
  'activation',
  'recurrent_activation',
  'use_bias',
  'reset_after',
  'return_sequences',
  'return_state',
  'stateful',
  'time_major',
  'zero_output_for_mask',
] as const;

/**
 * Whether a Bidirectional's `backward_layer` is the mirror of its `layer`, as Keras builds it when none
 * is given: the same class and options, reading backwards. Keras 3 writes it into every Bidirectional's
 * config; a different one (another size or activation) is SEQ603, naming the option.
 */
function isMirror(ctx: Context, outer: KerasLayer, inner: KerasLayer, config: unknown): boolean {
  const backward = kerasLayer(config);
  if (backward === undefined || backward.className !== inner.className) {
    unsupportedOption(ctx, outer, 'backward_layer', backward?.className ?? config, [inner.className]);
    return false;
  }
  if (backward.config['go_backwards'] !== (inner.config['go_backwards'] !== true)) {
    unsupportedOption(ctx, outer, 'backward_layer.go_backwards', backward.config['go_backwards'], [
      inner.config['go_backwards'] !== true,
    ]);
    return false;
  }
  for (const option of mirroredOptions) {
    const forward = inner.config[option];
    if (JSON.stringify(backward.config[option]) === JSON.stringify(forward)) continue;
    unsupportedOption(ctx, outer, `backward_layer.${option}`, backward.config[option], [
      JSON.stringify(forward) ?? 'undefined',
    ]);
    return false;
  }
  return true;
}

type Cell = 'LSTM' | 'GRU' | 'SimpleRNN';

/** Gate blocks per cell: LSTM i,f,c,o; GRU z,r,h; SimpleRNN one. */
const gateCounts: Readonly<Record<Cell, number>> = { LSTM: 4, GRU: 3, SimpleRNN: 1 };

const recurrentCells: Readonly<Record<Cell, RecurrentCell>> = { LSTM: 'lstm', GRU: 'gru', SimpleRNN: 'rnn' };

/**
 * An LSTM, GRU or SimpleRNN, alone (`merge` undefined) or inside a Bidirectional (`outer`): labels
 * and weights come from the outer layer, options from the inner.
 */
function recurrent(
  ctx: Context,
  outer: KerasLayer,
  inner: KerasLayer,
  value: Flow,
  merge: 'concat' | 'sum' | 'ave' | 'mul' | undefined,
): Flow | undefined {
  if (!value.time || !expectFloat(ctx, outer, value) || value.features === undefined)
    return shapeProblem(ctx, outer, value, '[batch, time, features]');
  const cell = inner.className as Cell;
  const c = inner.config;
  const units = c['units'];
  if (typeof units !== 'number' || !Number.isInteger(units) || units < 1)
    return unsupportedOption(ctx, outer, 'units', units, ['a positive integer']);
  for (const option of ['return_state', 'time_major'] as const) {
    if (c[option] === true) return unsupportedOption(ctx, outer, option, true, [false]);
  }
  if (merge !== undefined && c['go_backwards'] === true)
    return unsupportedOption(ctx, outer, 'go_backwards', true, [false]);
  const cellArgs = cellArguments(ctx, outer, cell, c, ctx, units);
  if (cellArgs === undefined) return undefined;
  const { args, useBias, resetAfter } = cellArgs;
  const bidirectional = merge !== undefined;
  const kind = `${bidirectional ? 'Bi' : ''}${cell === 'SimpleRNN' ? 'RNN' : cell}`;
  if (c['stateful'] === true) args.push('stateful=true');
  if (c['go_backwards'] === true) args.push('go_backwards=true');
  if (merge !== undefined && merge !== 'concat') args.push(`merge=${merge}`);
  const returnSequences = c['return_sequences'] === true;
  // Over a mask, a masked step outputs the previous output, or zeros with Keras's zero_output_for_mask,
  // which Keras's Bidirectional sets to return_sequences on both its layers. TF.js ignores the option
  // (tfjs-layers has no zeroOutputForMask), so a model.json that carries it keeps the previous output.
  const zeroMasked =
    ctx.format === 'keras' && (merge === undefined ? c['zero_output_for_mask'] === true : returnSequences);
  if (value.masked === true && zeroMasked && !returnSequences) return zeroLastOutput(ctx, outer);
  if (value.masked === true && zeroMasked) args.push('masked_output=zero');

  const rows = gateCounts[cell] * units;
  const directions = bidirectional ? (['forward', 'backward'] as const) : ([undefined] as const);
  const label = claimName(ctx.taken, ctx.avoid, outer.name);
  for (const direction of directions) {
    const biasShape = cell === 'GRU' && resetAfter ? [2, rows] : [rows];
    const weights = layerWeights(
      ctx,
      outer,
      { kernel: [value.features, rows], recurrent_kernel: [units, rows], ...(useBias ? { bias: biasShape } : {}) },
      direction,
    );
    if (weights === undefined) return undefined;
    const target = {
      label,
      cell: recurrentCells[cell],
      layer: 0,
      direction: direction === 'backward' ? 1 : 0,
    } as const;
    addTensors(
      ctx,
      kerasRecurrent(target, {
        kernel: weights['kernel']!,
        recurrentKernel: weights['recurrent_kernel']!,
        ...(useBias ? { bias: weights['bias']! } : {}),
      }),
    );
  }
  ctx.lines.push(comment(outer), `-> ${label}: ${kind}(${args.join(', ')})${returnSequences ? '' : ' -> last'}`);
  const width = merge === undefined || merge === 'concat' ? units * directions.length : units;
  return { dtype: 'float32', time: returnSequences, features: width, masked: returnSequences && value.masked === true };
}

/** A layer's converted tensors, under seqc's parameter names. */
function addTensors(ctx: Context, converted: ConvertedWeights): void {
  for (const [name, tensor] of converted) ctx.tensors.set(name, tensor);
}

function expectFloat(ctx: Context, layer: KerasLayer, value: Flow): boolean {
  if (value.dtype === 'float32') return true;
  shapeProblem(ctx, layer, value, 'float32 values; token ids go through an Embedding first');
  return false;
}

function numberText(v: number): string {
  return String(v);
}

function shapeProblem(ctx: Context, layer: KerasLayer, value: Flow, expected: string): undefined {
  const found =
    value.dtype === 'int64' ? 'token ids [batch, time]' : value.time ? '[batch, time, features]' : '[batch, features]';
  ctx.diagnostics.push(
    error(
      'SEQ604',
      span(ctx),
      `the ${layer.className} layer ${layer.name} reads ${found}, but seqc expects ${expected} there`,
      'seqc imports the layer orders a Sequential model of these layers can have; see `seqc import --help`',
      { names: [layer.name, layer.className], found, expected },
    ),
  );
  return undefined;
}

/**
 * SEQ607: TF.js's GlobalAveragePooling1D ignores the mask and averages every step (tfjs-layers
 * `GlobalAveragePooling1D.call` is a plain `mean` over the time axis), while seqc's `mean` over a
 * masked value, like Keras's layer, averages the valid steps only. seqc has no mean that ignores a
 * mask, so the model is refused rather than imported as something else.
 */
function unmaskedMean(ctx: Context, layer: KerasLayer): undefined {
  ctx.diagnostics.push(
    error(
      'SEQ607',
      span(ctx),
      `cannot import the ${layer.className} layer ${layer.name}: TensorFlow.js averages over every step, masked ones included, but seqc's \`mean\` over a masked value averages the valid steps only`,
      "import the model's Keras file (.keras or .h5) instead, where GlobalAveragePooling1D takes the masked mean as seqc's `mean` does; seqc has no mean that counts masked steps",
      {
        names: [layer.name, layer.className],
        found: 'a masked value in a TensorFlow.js model',
        expected: 'an unmasked value, or a Keras file',
      },
    ),
  );
  return undefined;
}

/**
 * SEQ608: with `zero_output_for_mask` and `return_sequences=False`, Keras returns the output of the
 * last step it reads, which is zeros where that step is masked (post-padding), whereas seqc's `last`
 * gives the final states (the output at the last valid step). seqc cannot say Keras's form.
 */
function zeroLastOutput(ctx: Context, layer: KerasLayer): undefined {
  ctx.diagnostics.push(
    error(
      'SEQ608',
      span(ctx),
      `cannot import the ${layer.className} layer ${layer.name}: with zero_output_for_mask=true and return_sequences=false Keras returns zeros for a row whose last step is masked, but seqc's \`last\` gives the final states`,
      "save the model with zero_output_for_mask=false (its last output is then the final states, seqc's `last`) or with return_sequences=true, and import it again",
      {
        names: [layer.name, layer.className, 'zero_output_for_mask'],
        found: 'zero_output_for_mask=true, return_sequences=false over a mask',
        expected: 'zero_output_for_mask=false, or return_sequences=true',
      },
    ),
  );
  return undefined;
}

function unsupportedLayer(ctx: Context, layer: KerasLayer, what: string, hint: string): undefined {
  ctx.diagnostics.push(
    error('SEQ602', span(ctx), `cannot import the layer ${layer.name}: seqc has no ${what}`, hint, {
      names: [layer.name, layer.className],
      found: what,
    }),
  );
  return undefined;
}
