// What both Keras importers (Sequential in keras.ts, the Luong encoder–decoder in keras-seq2seq.ts) check per layer:
// its weights against the shapes its config implies, its integer and activation options, and the SEQ601/SEQ603
// diagnostics that name the layer, its class and the option.

import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { KerasTensor } from './keras-weights.js';

/** What a layer check reads and writes: the model file (for the span), its weights and the diagnostics. */
export interface LayerCheck {
  readonly options: { readonly source: string };
  readonly weights: ReadonlyMap<string, KerasTensor>;
  readonly diagnostics: Diagnostic[];
}

/** One layer of a Keras config: its class, its name and its config object. */
export interface NamedLayer {
  readonly className: string;
  readonly name: string;
  readonly config: Readonly<Record<string, unknown>>;
}

export function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/**
 * The weights a layer owns, by their last name part (`kernel`, `bias`), checked against the shapes
 * the config implies (SEQ601). Inside a Bidirectional, `direction` picks the `forward_…` or `backward_…` layer's.
 */
export function layerWeights(
  ctx: LayerCheck,
  layer: NamedLayer,
  expected: Readonly<Record<string, readonly number[]>>,
  direction?: 'forward' | 'backward',
): Record<string, KerasTensor> | undefined {
  const owned = [...ctx.weights.entries()].filter(([name]) => {
    if (!name.startsWith(`${layer.name}/`)) return false;
    if (direction === undefined) return true;
    return name.split('/').some((part) => part.startsWith(`${direction}_`));
  });
  const span = spanOfWhole(ctx.options.source);
  const found: Record<string, KerasTensor> = {};
  for (const [part, shape] of Object.entries(expected)) {
    const match = owned.find(([name]) => name.split('/').pop()!.replace(/:\d+$/, '') === part);
    const where = `${layer.name}${direction === undefined ? '' : ` (${direction})`}`;
    const implied = `[${shape.join(', ')}]`;
    if (match === undefined) {
      ctx.diagnostics.push(
        error(
          'SEQ601',
          span,
          `the weights have no \`${part}\` for the ${layer.className} layer ${where}`,
          `the weights manifest should list \`${layer.name}/…/${part}\`; was the model saved with its weights?`,
          { names: [layer.name, layer.className, part], expected: implied },
        ),
      );
      return undefined;
    }
    const [name, tensor] = match;
    const size = shape.reduce((a, b) => a * b, 1);
    if (
      tensor.shape.length !== shape.length ||
      tensor.shape.some((d, i) => d !== shape[i]) ||
      tensor.data.length !== size
    ) {
      const actual = `[${tensor.shape.join(', ')}]`;
      ctx.diagnostics.push(
        error(
          'SEQ601',
          span,
          `the weight ${name} of the ${layer.className} layer ${where} has shape ${actual}, but its config implies ${implied}`,
          'the weights do not belong to this config',
          { names: [layer.name, layer.className, name], found: actual, expected: implied },
        ),
      );
      return undefined;
    }
    found[part] = tensor;
  }
  return found;
}

/** A layer option seqc cannot express exactly: SEQ603, naming the layer, its class and the option. */
export function unsupportedOption(
  ctx: LayerCheck,
  layer: NamedLayer,
  option: string,
  found: unknown,
  expected: readonly (string | number | boolean)[],
): undefined {
  const text = JSON.stringify(found) ?? 'undefined';
  ctx.diagnostics.push(
    error(
      'SEQ603',
      spanOfWhole(ctx.options.source),
      `cannot import the ${layer.className} layer ${layer.name}: ${option}=${text} has no exact seqc equivalent`,
      `seqc imports ${option} = ${expected.map((e) => String(e)).join(', ')}`,
      { names: [layer.name, layer.className, option], found: text, expected: expected.map((e) => String(e)) },
    ),
  );
  return undefined;
}

/** An option that must be a positive integer (`units`, `input_dim`), read from `config` (the layer's own by default). */
export function positiveInt(
  ctx: LayerCheck,
  layer: NamedLayer,
  option: string,
  config: Readonly<Record<string, unknown>> = layer.config,
): number | undefined {
  const v = config[option];
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 2 ** 31) return v;
  return unsupportedOption(ctx, layer, option, v, ['a positive integer']);
}

/**
 * A recurrent cell's Keras activation as seqc's. `hard_sigmoid` depends on the Keras that wrote the file:
 * clip(0.2·x + 0.5, 0, 1) before Keras 3, relu6(x + 3)/6 (`hardsigmoid`) from Keras 3. Undefined after SEQ603.
 */
function cellActivation(
  ctx: LayerCheck,
  layer: NamedLayer,
  option: string,
  fn: unknown,
  semantics: 'keras2' | 'keras3',
): string | undefined {
  const name = fn === null ? 'linear' : fn;
  switch (name) {
    case 'tanh':
    case 'relu':
    case 'sigmoid':
    case 'linear':
      return name as string;
    case 'hard_sigmoid':
      return semantics === 'keras3' ? 'hardsigmoid' : 'hard_sigmoid';
    default:
      return unsupportedOption(ctx, layer, option, fn, ['tanh', 'relu', 'sigmoid', 'hard_sigmoid', 'linear']);
  }
}

/** A recurrent cell's options as seqc arguments: the units, `bias=false`, the activations and GRU's `reset_after=false`. */
export interface CellArguments {
  readonly args: string[];
  readonly activation: string;
  readonly useBias: boolean;
  readonly resetAfter: boolean;
}

/**
 * The options every Keras LSTM, GRU and SimpleRNN shares, as the arguments of seqc's layer (after `units`):
 * activations by the file's Keras version, `use_bias`, and GRU's `reset_after` (TF.js's GRU has
 * reset_after=false and cannot take true; Keras's default is true since 2.3). Undefined after SEQ603 on `layer`.
 */
export function cellArguments(
  ctx: LayerCheck,
  layer: NamedLayer,
  cell: 'LSTM' | 'GRU' | 'SimpleRNN',
  config: Readonly<Record<string, unknown>>,
  file: { readonly semantics: 'keras2' | 'keras3'; readonly tfjs: boolean },
  units: number,
): CellArguments | undefined {
  const activation = cellActivation(ctx, layer, 'activation', config['activation'] ?? 'tanh', file.semantics);
  const gate =
    cell === 'SimpleRNN'
      ? 'sigmoid'
      : cellActivation(ctx, layer, 'recurrent_activation', config['recurrent_activation'] ?? 'sigmoid', file.semantics);
  if (activation === undefined || gate === undefined) return undefined;
  const useBias = config['use_bias'] !== false;
  const resetAfter = cell !== 'GRU' || (config['reset_after'] ?? !file.tfjs) === true;
  const args = [String(units)];
  if (!useBias) args.push('bias=false');
  if (cell === 'SimpleRNN') {
    if (activation !== 'tanh') args.push(`nonlinearity=${activation}`);
  } else {
    if (gate !== 'sigmoid') args.push(`recurrent_activation=${gate}`);
    if (activation !== 'tanh') args.push(`activation=${activation}`);
  }
  if (cell === 'GRU' && !resetAfter) args.push('reset_after=false');
  return { args, activation, useBias, resetAfter };
}
