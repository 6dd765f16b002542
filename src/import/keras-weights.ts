// Keras (and TF.js Layers) weights in seqc's parameter names and PyTorch layouts: pure functions, one per layer kind.
//
// Keras stores a Dense kernel as [in, out] and recurrent kernels as [in, gates·U] and [U, gates·U],
// gate blocks along the columns: LSTM i,f,c,o; GRU z,r,h; SimpleRNN one block. seqc's parameters are
// PyTorch's: [gates·U, in] row blocks, LSTM i,f,g,o (the same order, c is g), GRU r,z,n. A Keras LSTM
// or SimpleRNN has one bias, which becomes bias_ih with bias_hh zero; a GRU with reset_after=true has
// two bias rows [2, 3U] (input, recurrent), which map to bias_ih and bias_hh, and with
// reset_after=false one [3U], whose sum seqc's Keras-variant GRU reads (grammar/README.md).

import { layerParameterName, recurrentParameterName } from '../ir/parameters.js';
import type { RecurrentCell } from '../ir/ir.js';

/** A row-major float32 tensor, as both Keras's weight lists and seqc's weights hold them. */
export interface KerasTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** seqc parameter name → tensor, in PyTorch layout; what `writeSafetensors` takes. */
export type ConvertedWeights = readonly (readonly [string, KerasTensor])[];

/** The weights of a Keras recurrent layer (one direction): `kernel`, `recurrent_kernel` and `bias` when it has one. */
export interface KerasRecurrentWeights {
  readonly kernel: KerasTensor;
  readonly recurrentKernel: KerasTensor;
  readonly bias?: KerasTensor;
}

/** Where the converted tensors go: the layer's label, and the stacked layer and direction of a seqc recurrent op. */
export interface RecurrentTarget {
  readonly label: string;
  readonly cell: RecurrentCell;
  /** The stacked layer (Keras: the index of the layer in a stack written as one seqc op); 0 for one layer. */
  readonly layer: number;
  /** 0 forward, 1 the backward half of a Bidirectional (seqc's `_reverse` names). */
  readonly direction: 0 | 1;
}

/** `Embedding`: `embeddings` [vocab, dim] is `L.weight` as it is. */
export function kerasEmbedding(label: string, embeddings: KerasTensor): ConvertedWeights {
  return [[layerParameterName(label, 'weight'), copy(embeddings)]];
}

/** `Dense`: `kernel` [in, out] → `L.weight` [out, in], `bias` [out] → `L.bias`. */
export function kerasDense(label: string, kernel: KerasTensor, bias?: KerasTensor): ConvertedWeights {
  const weights: [string, KerasTensor][] = [[layerParameterName(label, 'weight'), transpose(kernel)]];
  if (bias !== undefined) weights.push([layerParameterName(label, 'bias'), copy(bias)]);
  return weights;
}

/**
 * `LayerNormalization`: `gamma` → `L.weight`, `beta` → `L.bias`. A layer with `scale=false` has no
 * gamma and one with `center=false` no beta: seqc's LayerNorm then gets ones and zeros, which
 * compute the same.
 */
export function kerasLayerNorm(
  label: string,
  features: number,
  weights: { readonly gamma?: KerasTensor; readonly beta?: KerasTensor },
): ConvertedWeights {
  const gamma = weights.gamma === undefined ? ones([features]) : copy(weights.gamma);
  const beta = weights.beta === undefined ? zeros([features]) : copy(weights.beta);
  expectShape(gamma, [features], 'gamma');
  expectShape(beta, [features], 'beta');
  return [
    [layerParameterName(label, 'weight'), gamma],
    [layerParameterName(label, 'bias'), beta],
  ];
}

/**
 * One direction of an `LSTM`, `GRU` or `SimpleRNN` (a `Bidirectional`'s forward_layer is direction
 * 0, its backward_layer direction 1): weight_ih, weight_hh and, with a bias, bias_ih and bias_hh.
 * Without one (`use_bias=false`, seqc's `bias=false`) there are no bias tensors. The merge mode of a
 * Bidirectional changes no weight.
 */
export function kerasRecurrent(target: RecurrentTarget, weights: KerasRecurrentWeights): ConvertedWeights {
  const name = (w: 'weight_ih' | 'weight_hh' | 'bias_ih' | 'bias_hh'): string =>
    recurrentParameterName(target.label, w, target.layer, target.direction);
  const gates = target.cell === 'lstm' ? 4 : target.cell === 'gru' ? 3 : 1;
  const units = weights.recurrentKernel.shape[0]!;
  expectShape(weights.kernel, [weights.kernel.shape[0]!, gates * units], 'kernel');
  expectShape(weights.recurrentKernel, [units, gates * units], 'recurrent_kernel');
  const order = target.cell === 'gru' ? [1, 0, 2] : Array.from({ length: gates }, (_, i) => i);
  const result: [string, KerasTensor][] = [
    [name('weight_ih'), reorderRows(transpose(weights.kernel), units, order)],
    [name('weight_hh'), reorderRows(transpose(weights.recurrentKernel), units, order)],
  ];
  const bias = weights.bias;
  if (bias === undefined) return result;
  const size = gates * units;
  if (bias.shape.length === 2) {
    // GRU reset_after=true: [input bias; recurrent bias].
    expectShape(bias, [2, size], 'bias');
    const input = { shape: [size], data: bias.data.slice(0, size) };
    const recurrent = { shape: [size], data: bias.data.slice(size, 2 * size) };
    result.push(
      [name('bias_ih'), reorderRows(input, units, order)],
      [name('bias_hh'), reorderRows(recurrent, units, order)],
    );
  } else {
    expectShape(bias, [size], 'bias');
    result.push([name('bias_ih'), reorderRows(copy(bias), units, order)], [name('bias_hh'), zeros([size])]);
  }
  return result;
}

/** A matrix [r, c] as [c, r]. */
function transpose(t: KerasTensor): KerasTensor {
  const [rows, cols] = t.shape as [number, number];
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c]!;
  return { shape: [cols, rows], data: out };
}

/** Row blocks of `units` rows, taken in `order`: block i of the result is block order[i] of `t`. */
function reorderRows(t: KerasTensor, units: number, order: readonly number[]): KerasTensor {
  const rowSize = t.shape.length === 1 ? 1 : t.shape[1]!;
  const block = units * rowSize;
  const out = new Float32Array(t.data.length);
  order.forEach((from, to) => out.set(t.data.subarray(from * block, (from + 1) * block), to * block));
  return { shape: [...t.shape], data: out };
}

function copy(t: KerasTensor): KerasTensor {
  return { shape: [...t.shape], data: Float32Array.from(t.data) };
}

function ones(shape: readonly number[]): KerasTensor {
  const t = zeros(shape);
  t.data.fill(1);
  return t;
}

function zeros(shape: readonly number[]): KerasTensor {
  return { shape: [...shape], data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
}

/** A layout the Keras layer cannot have; a caller that checked the model's config never meets it. */
function expectShape(t: KerasTensor, shape: readonly number[], what: string): void {
  const matches = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
  const size = shape.reduce((a, b) => a * b, 1);
  if (!matches || t.data.length !== size) {
    throw new Error(`Keras ${what} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
}
