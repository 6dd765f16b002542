// TensorFlow.js Layers as an oracle: builds a tfjs model equivalent to a PyTorch-layout layer
// stack, loads the same PyTorch state_dict-named weights into it, and runs it on the pure-JS CPU
// backend. tfjs is code nobody here wrote, so agreement with it means something.
//
// Conversions (PyTorch → Keras/tfjs):
// - recurrent kernel = weight_ih^T [in, gates·H], recurrent_kernel = weight_hh^T [H, gates·H];
// - LSTM gates are i,f,g,o in PyTorch and i,f,c,o in Keras: the same order, so only transpose;
// - GRU gates are r,z,n in PyTorch and z,r,h in Keras: swap the first two blocks;
// - bias = bias_ih + bias_hh. For LSTM and SimpleRNN that is exact. For GRU it is exact only for
//   reset_after=False (the only GRU tfjs has), where b_hn sits outside the reset gate;
// - Dense kernel = weight^T; Embedding and LayerNorm weights are used as they are.
// tfjs's default recurrent activation is hard sigmoid, so it is always set explicitly here.
// Models run without masking: compare padded batches row by row at each row's true length.

import * as tf from '@tensorflow/tfjs';
import type { NestedArray, ReferenceTensor, ReferenceWeights } from './float64.js';

/** One layer of a stack; parameters are read from `weights` under `prefix` with PyTorch names. */
export type TfjsLayerSpec =
  | { readonly kind: 'embedding'; readonly prefix: string }
  | TfjsRecurrentSpec
  | { readonly kind: 'linear'; readonly prefix: string; readonly bias?: boolean }
  | { readonly kind: 'layerNorm'; readonly prefix: string; readonly eps?: number }
  | { readonly kind: 'activation'; readonly fn: 'relu' | 'tanh' | 'sigmoid' | 'softmax' }
  /** Mean or max over the time axis of [batch, time, feature], over all steps (no masking). */
  | { readonly kind: 'pool'; readonly fn: 'mean' | 'max' };

export interface TfjsRecurrentSpec {
  readonly kind: 'rnn' | 'lstm' | 'gru';
  readonly prefix: string;
  readonly hidden: number;
  /** Stacked layers, each fed the previous one's full sequence (fwd ++ bwd); default 1. */
  readonly layers?: number;
  readonly bidirectional?: boolean;
  /** SimpleRNN activation; default tanh. */
  readonly nonlinearity?: 'tanh' | 'relu';
  /** LSTM/GRU gate activation; default 'sigmoid' (unlike tfjs, whose default is hard sigmoid). */
  readonly recurrentActivation?: 'sigmoid' | 'hard_sigmoid';
  /** Default true. */
  readonly bias?: boolean;
  /**
   * Whether the top layer returns every step ([batch, time, H·dirs]) or only the final one
   * ([batch, H·dirs]; for a bidirectional layer that is forward final ++ backward final).
   */
  readonly returnSequences: boolean;
}

/** Selects tfjs's pure-JS CPU backend (call once before running models). */
export async function useTfjsCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

/**
 * Builds the stack in tfjs, loads the PyTorch-layout weights and runs it on `input`: token ids
 * [batch][time] when the first layer is an embedding, features [batch][time][feature] otherwise.
 * Returns the last layer's output as nested arrays.
 */
export async function runTfjsStack(
  layers: readonly TfjsLayerSpec[],
  weights: ReferenceWeights,
  input: number[][] | number[][][],
): Promise<NestedArray> {
  if (tf.getBackend() !== 'cpu') await useTfjsCpu();
  const startsWithIds = layers[0]?.kind === 'embedding';
  const x = startsWithIds
    ? tf.tensor2d(input as number[][], undefined, 'int32')
    : tf.tensor3d(input as number[][][], undefined, 'float32');
  const symbolicInput = tf.input({ shape: x.shape.slice(1), dtype: startsWithIds ? 'int32' : 'float32' });
  let symbolic: tf.SymbolicTensor = symbolicInput;
  const pending: { layer: tf.layers.Layer; values: tf.Tensor[] }[] = [];
  for (const spec of layers) {
    for (const { layer, values } of buildLayers(spec, weights)) {
      symbolic = layer.apply(symbolic) as tf.SymbolicTensor;
      pending.push({ layer, values });
    }
  }
  // Layers get their variables when applied, so the weights can only be set afterwards.
  for (const { layer, values } of pending) {
    layer.setWeights(values);
    tf.dispose(values);
  }
  const model = tf.model({ inputs: symbolicInput, outputs: symbolic });
  const y = model.predict(x) as tf.Tensor;
  const result = (await y.array()) as NestedArray;
  tf.dispose([x, y]);
  model.layers.forEach((layer) => layer.dispose());
  return result;
}

// ---------------------------------------------------------------------------------------------

interface BuiltLayer {
  readonly layer: tf.layers.Layer;
  /** The values for layer.setWeights, in tfjs's order. */
  readonly values: tf.Tensor[];
}

function buildLayers(spec: TfjsLayerSpec, weights: ReferenceWeights): BuiltLayer[] {
  switch (spec.kind) {
    case 'embedding': {
      const table = tensorOf(weights, name(spec.prefix, 'weight'));
      const [vocab, dim] = table.shape as [number, number];
      return [
        {
          layer: tf.layers.embedding({ inputDim: vocab, outputDim: dim }),
          values: [tf.tensor2d(table.data, [vocab, dim])],
        },
      ];
    }
    case 'linear': {
      const weight = tensorOf(weights, name(spec.prefix, 'weight'));
      const useBias = spec.bias !== false;
      const values: tf.Tensor[] = [transposed(weight)];
      if (useBias) values.push(tf.tensor1d(tensorOf(weights, name(spec.prefix, 'bias')).data));
      return [{ layer: tf.layers.dense({ units: weight.shape[0]!, useBias }), values }];
    }
    case 'layerNorm': {
      const gamma = tensorOf(weights, name(spec.prefix, 'weight'));
      const beta = tensorOf(weights, name(spec.prefix, 'bias'));
      return [
        {
          layer: tf.layers.layerNormalization({ axis: -1, epsilon: spec.eps ?? 1e-5 }),
          values: [tf.tensor1d(gamma.data), tf.tensor1d(beta.data)],
        },
      ];
    }
    case 'activation':
      return [{ layer: tf.layers.activation({ activation: spec.fn }), values: [] }];
    case 'pool':
      return [
        {
          layer: spec.fn === 'mean' ? tf.layers.globalAveragePooling1d({}) : tf.layers.globalMaxPooling1d({}),
          values: [],
        },
      ];
    case 'rnn':
    case 'lstm':
    case 'gru':
      return buildRecurrent(spec, weights);
    default:
      return assertNever(spec);
  }
}

function buildRecurrent(spec: TfjsRecurrentSpec, weights: ReferenceWeights): BuiltLayer[] {
  const layerCount = spec.layers ?? 1;
  const built: BuiltLayer[] = [];
  for (let l = 0; l < layerCount; l++) {
    const returnSequences = l < layerCount - 1 || spec.returnSequences;
    const directions = spec.bidirectional ? ['', '_reverse'] : [''];
    const values = directions.flatMap((suffix) => recurrentValues(spec, weights, `_l${l}${suffix}`));
    const cell = recurrentLayer(spec, returnSequences);
    const layer = spec.bidirectional ? tf.layers.bidirectional({ layer: cell, mergeMode: 'concat' }) : cell;
    built.push({ layer, values });
  }
  return built;
}

function recurrentLayer(spec: TfjsRecurrentSpec, returnSequences: boolean): tf.RNN {
  const common = { units: spec.hidden, returnSequences, useBias: spec.bias !== false };
  const recurrentActivation = spec.recurrentActivation === 'hard_sigmoid' ? 'hardSigmoid' : 'sigmoid';
  switch (spec.kind) {
    case 'rnn':
      return tf.layers.simpleRNN({ ...common, activation: spec.nonlinearity ?? 'tanh' });
    case 'lstm':
      return tf.layers.lstm({ ...common, activation: 'tanh', recurrentActivation });
    case 'gru':
      return tf.layers.gru({ ...common, activation: 'tanh', recurrentActivation });
    default:
      return assertNever(spec.kind);
  }
}

/** [kernel, recurrent_kernel, bias?] for one direction of one layer, converted from PyTorch layout. */
function recurrentValues(spec: TfjsRecurrentSpec, weights: ReferenceWeights, suffix: string): tf.Tensor[] {
  // GRU: PyTorch blocks r,z,n → Keras z,r,h. LSTM and RNN keep their order.
  const order = spec.kind === 'gru' ? [1, 0, 2] : spec.kind === 'lstm' ? [0, 1, 2, 3] : [0];
  const H = spec.hidden;
  const wih = tensorOf(weights, name(spec.prefix, `weight_ih${suffix}`));
  const whh = tensorOf(weights, name(spec.prefix, `weight_hh${suffix}`));
  const values: tf.Tensor[] = [transposed(reorderRows(wih, order, H)), transposed(reorderRows(whh, order, H))];
  if (spec.bias !== false) {
    const bih = tensorOf(weights, name(spec.prefix, `bias_ih${suffix}`));
    const bhh = tensorOf(weights, name(spec.prefix, `bias_hh${suffix}`));
    const sum = { shape: bih.shape, data: bih.data.map((v, i) => v + bhh.data[i]!) };
    values.push(tf.tensor1d(reorderRows(sum, order, H).data));
  }
  return values;
}

/** Reorders blocks of H rows (the first axis) of a PyTorch matrix or vector. */
function reorderRows(t: ReferenceTensor, order: readonly number[], H: number): ReferenceTensor {
  const rowSize = t.shape.length === 2 ? t.shape[1]! : 1;
  const block = H * rowSize;
  const data = new Float32Array(t.data.length);
  order.forEach((from, to) => data.set(t.data.subarray(from * block, (from + 1) * block), to * block));
  return { shape: t.shape, data };
}

/** A PyTorch [rows, cols] matrix as a tfjs [cols, rows] tensor. */
function transposed(t: ReferenceTensor): tf.Tensor2D {
  const [rows, cols] = t.shape as [number, number];
  return tf.tidy(() => tf.transpose(tf.tensor2d(t.data, [rows, cols])) as tf.Tensor2D);
}

function tensorOf(weights: ReferenceWeights, key: string): ReferenceTensor {
  const t = weights.get(key);
  if (!t) throw new Error(`tfjs oracle: missing parameter ${key}`);
  return t;
}

function name(prefix: string, parameter: string): string {
  return prefix === '' ? parameter : `${prefix}.${parameter}`;
}

function assertNever(value: never): never {
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
}
