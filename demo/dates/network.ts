// The Dates model of model.seq written out in TensorFlow.js ops from docs/seq2seq.md, with parameters held in PyTorch layout under state_dict names.
//
// The equations, batch-major, H_enc = 32, H = D = Q = 64:
// - encoder: a bidirectional PyTorch GRU (reset after: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)))
//   over the embedded source, honouring `src_lengths` like a packed sequence: each row's state
//   freezes after its last valid step, outputs past it are zero, and the backward direction runs
//   over each row reversed within its length. The memory is forward ++ backward, and the decoder's
//   initial state is the final forward state ++ the final backward state.
// - decoder step: e = Embedding(y); h' = GRU(e, h); Luong attention with the `general` score
//   s_j = (W_in h') · M_j, masked past `src_lengths`; α = softmax(s); ctx = Σ α_j M_j;
//   a = tanh(W_out [ctx ; h']); logits = W_gen a + b_gen.

import * as tf from '@tensorflow/tfjs';
import type { WeightMap, WeightTensor } from '../../src/weights/types.js';
import { bos, eos, seededRandom, sourceVocabulary, targetVocabulary, type Example } from './data.js';

/** The sizes in model.seq. */
export interface Sizes {
  readonly sourceVocab: number;
  readonly targetVocab: number;
  readonly sourceDim: number;
  readonly targetDim: number;
  /** Per direction; the decoder's hidden size and the memory's features are twice this. */
  readonly encoderHidden: number;
  readonly maxLength: number;
}

/** The sizes written in model.seq. */
export const demoSizes: Sizes = {
  sourceVocab: sourceVocabulary.length,
  targetVocab: targetVocabulary.length,
  sourceDim: 32,
  targetDim: 16,
  encoderHidden: 32,
  maxLength: 12,
};

/**
 * Selects a tfjs backend: `wasm` (XNNPACK, several times faster here) or `cpu` (pure JavaScript).
 * Both compute in float32; training results differ between them only by rounding.
 */
export async function useBackend(name: string): Promise<void> {
  if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  else if (name !== 'cpu') throw new Error(`the backend should be wasm or cpu, not ${name}`);
  if (!(await tf.setBackend(name))) throw new Error(`tfjs could not start the ${name} backend`);
  await tf.ready();
}

/** The fraction of examples whose generated ids are exactly the target, `eos` included. */
export function exactMatch(generated: readonly (readonly number[])[], examples: readonly Example[]): number {
  const right = examples.filter((e, i) => generated[i]!.join() === e.tgt.join()).length;
  return right / examples.length;
}

/** The model's parameters as tfjs variables, keyed by PyTorch state_dict names. */
export type Parameters = ReadonlyMap<string, tf.Variable>;

/** A padded batch of source rows: ids `[batch, src_time]` and each row's length. */
export interface SourceBatch {
  readonly ids: tf.Tensor2D;
  readonly lengths: readonly number[];
}

/** What the encoder gives the decoder. */
export interface Encoded {
  /** `[batch, src_time, 2·H_enc]`, zero past each row's length. */
  readonly memory: tf.Tensor3D;
  /** `[batch, 2·H_enc]`. */
  readonly h0: tf.Tensor2D;
  /** `[batch, 1, src_time]`: 0 at valid steps, −1e9 past the length, added to attention scores. */
  readonly scoreMask: tf.Tensor3D;
}

/** The parameter names and shapes of model.seq, in a fixed order (the order they are initialized in). */
export function parameterShapes(sizes: Sizes): [string, number[]][] {
  const h = sizes.encoderHidden;
  const hidden = 2 * h;
  const gru = (label: string, input: number, units: number, suffix: string): [string, number[]][] => [
    [`${label}.weight_ih_l0${suffix}`, [3 * units, input]],
    [`${label}.weight_hh_l0${suffix}`, [3 * units, units]],
    [`${label}.bias_ih_l0${suffix}`, [3 * units]],
    [`${label}.bias_hh_l0${suffix}`, [3 * units]],
  ];
  return [
    ['src_embedding.weight', [sizes.sourceVocab, sizes.sourceDim]],
    ...gru('encoder', sizes.sourceDim, h, ''),
    ...gru('encoder', sizes.sourceDim, h, '_reverse'),
    ['tgt_embedding.weight', [sizes.targetVocab, sizes.targetDim]],
    ...gru('decoder', sizes.targetDim, hidden, ''),
    ['attention.linear_in.weight', [hidden, hidden]],
    ['attention.linear_out.weight', [hidden, 2 * hidden]],
    ['generator.weight', [sizes.targetVocab, hidden]],
    ['generator.bias', [sizes.targetVocab]],
  ];
}

/**
 * PyTorch's default initialization, drawn from a seeded xoshiro128** stream: embeddings N(0, 1)
 * with the source's padding row zero, recurrent tensors U(±1/√hidden), linear layers U(±1/√in).
 */
export function initialParameters(sizes: Sizes, seed: number): Parameters {
  const random = seededRandom(seed);
  const uniform = (bound: number) => (): number => (2 * random() - 1) * bound;
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const parameters = new Map<string, tf.Variable>();
  for (const [name, shape] of parameterShapes(sizes)) {
    let draw: () => number;
    if (name.endsWith('embedding.weight')) draw = normal;
    else if (name.startsWith('encoder.')) draw = uniform(1 / Math.sqrt(sizes.encoderHidden));
    else if (name.startsWith('decoder.')) draw = uniform(1 / Math.sqrt(2 * sizes.encoderHidden));
    else if (name.startsWith('generator.') || name === 'attention.linear_in.weight')
      draw = uniform(1 / Math.sqrt(2 * sizes.encoderHidden));
    else draw = uniform(1 / Math.sqrt(4 * sizes.encoderHidden));
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, draw);
    if (name === 'src_embedding.weight') data.fill(0, 0, sizes.sourceDim);
    parameters.set(
      name,
      tf.tidy(() => tf.variable(tf.tensor(data, shape))),
    );
  }
  return parameters;
}

/** Parameters from a weight map (such as a safetensors file), checked against the expected shapes. */
export function parametersFromWeights(sizes: Sizes, weights: WeightMap): Parameters {
  const parameters = new Map<string, tf.Variable>();
  for (const [name, shape] of parameterShapes(sizes)) {
    const tensor = weights.get(name);
    if (tensor === undefined || tensor.shape.join() !== shape.join()) {
      throw new Error(
        `the weights should have ${name} [${shape.join(', ')}], found ${tensor === undefined ? 'none' : `[${tensor.shape.join(', ')}]`}`,
      );
    }
    parameters.set(
      name,
      tf.tidy(() => tf.variable(tf.tensor(tensor.data, shape))),
    );
  }
  return parameters;
}

/** The parameters' current values, as safetensors stores them. */
export function parameterValues(parameters: Parameters): Map<string, WeightTensor> {
  return new Map([...parameters].map(([name, v]) => [name, { shape: v.shape, data: Float32Array.from(v.dataSync()) }]));
}

/** Pads source rows with 0 into a batch. */
export function sourceBatch(rows: readonly (readonly number[])[]): SourceBatch {
  const time = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * time);
  rows.forEach((row, b) => ids.set(row, b * time));
  return { ids: tf.tensor2d(ids, [rows.length, time], 'int32'), lengths: rows.map((r) => r.length) };
}

/** Runs the bidirectional encoder. */
export function encode(p: Parameters, src: SourceBatch): Encoded {
  const [batch, time] = src.ids.shape;
  const valid = Float32Array.from({ length: batch * time }, (_, i) =>
    i % time < src.lengths[Math.floor(i / time)]! ? 1 : 0,
  );
  const mask = tf.tensor2d(valid, [batch, time]);

  // padding_idx=0: the padding row is always zero, so it gets no gradient, as in PyTorch.
  const table = get(p, 'src_embedding.weight');
  const keepRows = tf.tensor2d(
    Float32Array.from({ length: table.shape[0] }, (_, i) => (i === 0 ? 0 : 1)),
    [table.shape[0], 1],
  );
  const embedded = lookup(tf.mul(table, keepRows), src.ids);

  const forward = maskedGru(p, 'encoder', '_l0', embedded, mask);
  // Reversing each row within its length permutes its steps; the permutation is its own inverse.
  // It is a product with a permutation matrix, whose gradient is cheap (unlike a gather's).
  const permutation = new Float32Array(batch * time * time);
  src.lengths.forEach((length, b) => {
    for (let t = 0; t < time; t++) permutation[(b * time + t) * time + (t < length ? length - 1 - t : t)] = 1;
  });
  const reversal = tf.tensor3d(permutation, [batch, time, time]);
  const reverse = (x: tf.Tensor3D): tf.Tensor3D => tf.matMul(reversal, x);
  const backward = maskedGru(p, 'encoder', '_l0_reverse', reverse(embedded), mask);

  const memory = tf.concat([forward.outputs, reverse(backward.outputs)], 2);
  const h0 = tf.concat([forward.last, backward.last], 1);
  const scoreMask = tf.reshape(tf.mul(tf.sub(1, mask), -1e9), [batch, 1, time]) as tf.Tensor3D;
  return { memory, h0, scoreMask };
}

/**
 * Teacher-forced decoding: the logits `[batch, tgt_time, V]` for the tokens `tgtIn` `[batch,
 * tgt_time]` fed at each step (starting with `bos`), as the bundle's scoring graph computes them.
 */
export function decodeTeacherForced(p: Parameters, encoded: Encoded, tgtIn: tf.Tensor2D): tf.Tensor3D {
  const [batch, time] = tgtIn.shape;
  const embedded = lookup(get(p, 'tgt_embedding.weight'), tgtIn);
  const ones = tf.ones([batch, time]) as tf.Tensor2D;
  const { outputs } = gruFrom(p, 'decoder', '_l0', embedded, ones, encoded.h0);
  return attendAndGenerate(p, encoded, outputs);
}

/** One decoder step, as the bundle's step graph computes it: logits `[batch, V]` and the new state. */
export function decodeStep(
  p: Parameters,
  encoded: Encoded,
  tokens: tf.Tensor1D,
  h: tf.Tensor2D,
): { logits: tf.Tensor2D; h: tf.Tensor2D } {
  const batch = tokens.shape[0];
  const embedded = lookup(get(p, 'tgt_embedding.weight'), tf.reshape(tokens, [batch, 1]) as tf.Tensor2D);
  const { outputs, last } = gruFrom(p, 'decoder', '_l0', embedded, tf.ones([batch, 1]) as tf.Tensor2D, h);
  const logits = attendAndGenerate(p, encoded, outputs);
  return { logits: tf.reshape(logits, [batch, -1]) as tf.Tensor2D, h: last };
}

/**
 * Greedy decoding, as the bundle's greedy graph does it: at each step the most probable id (the
 * lowest among equals), for up to `maxLength` steps. Returns each row's ids up to and including `eos`.
 */
export function greedyDecode(p: Parameters, rows: readonly (readonly number[])[], maxLength: number): number[][] {
  return tf.tidy(() => {
    const encoded = encode(p, sourceBatch(rows));
    let h = encoded.h0;
    let tokens = tf.fill([rows.length], bos, 'int32') as tf.Tensor1D;
    const out: number[][] = rows.map(() => []);
    const done = rows.map(() => false);
    for (let step = 0; step < maxLength && done.includes(false); step++) {
      const next = decodeStep(p, encoded, tokens, h);
      h = next.h;
      tokens = tf.argMax(next.logits, 1) as tf.Tensor1D;
      const ids = tokens.dataSync();
      ids.forEach((id, b) => {
        if (done[b]) return;
        out[b]!.push(id);
        if (id === eos) done[b] = true;
      });
    }
    return out;
  });
}

/**
 * The training loss: cross-entropy of the teacher-forced logits against `tgt` (each row's target
 * ids ending with `eos`), averaged over the valid target positions.
 */
export function loss(p: Parameters, src: SourceBatch, targets: readonly (readonly number[])[]): tf.Scalar {
  const batch = targets.length;
  const time = Math.max(...targets.map((t) => t.length));
  const tgtIn = new Int32Array(batch * time);
  const tgtOut = new Int32Array(batch * time);
  const weights = new Float32Array(batch * time);
  targets.forEach((row, b) => {
    row.forEach((id, t) => {
      tgtIn[b * time + t] = t === 0 ? bos : row[t - 1]!;
      tgtOut[b * time + t] = id;
      weights[b * time + t] = 1;
    });
  });
  const logits = decodeTeacherForced(p, encode(p, src), tf.tensor2d(tgtIn, [batch, time], 'int32'));
  const vocab = logits.shape[2];
  const logProbs = tf.logSoftmax(tf.reshape(logits, [batch * time, vocab]));
  const picked = tf.sum(tf.mul(logProbs, tf.oneHot(tf.tensor1d(tgtOut, 'int32'), vocab)), 1);
  const weight = tf.tensor1d(weights);
  return tf.div(tf.neg(tf.sum(tf.mul(picked, weight))), tf.sum(weight)) as tf.Scalar;
}

// Internals.

/** Embedding lookup as a one-hot product: `[batch, time]` ids → `[batch, time, dim]`. */
function lookup(table: tf.Tensor2D | tf.Variable, ids: tf.Tensor2D): tf.Tensor3D {
  const [batch, time] = ids.shape;
  const [vocab, dim] = table.shape as [number, number];
  const oneHot = tf.oneHot(tf.reshape(ids, [batch * time]) as tf.Tensor1D, vocab);
  return tf.reshape(tf.matMul(oneHot, table), [batch, time, dim]) as tf.Tensor3D;
}

function get(p: Parameters, name: string): tf.Variable {
  const v = p.get(name);
  if (v === undefined) throw new Error(`no parameter ${name}`);
  return v;
}

/** A GRU over `[batch, time, in]` from a zero state, freezing each row's state past its length (mask `[batch, time]`). */
function maskedGru(
  p: Parameters,
  label: string,
  suffix: string,
  x: tf.Tensor3D,
  mask: tf.Tensor2D,
): { outputs: tf.Tensor3D; last: tf.Tensor2D } {
  const hidden = get(p, `${label}.weight_hh${suffix}`).shape[1]!;
  return gruFrom(p, label, suffix, x, mask, tf.zeros([x.shape[0], hidden]) as tf.Tensor2D);
}

/**
 * PyTorch's GRU (gates r, z, n; reset after) from state `h0`. Where `mask` is 0 the state is kept
 * and the output is zero. Returns the outputs `[batch, time, hidden]` and the last state.
 */
function gruFrom(
  p: Parameters,
  label: string,
  suffix: string,
  x: tf.Tensor3D,
  mask: tf.Tensor2D,
  h0: tf.Tensor2D,
): { outputs: tf.Tensor3D; last: tf.Tensor2D } {
  const [batch, time, input] = x.shape;
  const wih = get(p, `${label}.weight_ih${suffix}`);
  const whh = get(p, `${label}.weight_hh${suffix}`);
  const bih = get(p, `${label}.bias_ih${suffix}`);
  const bhh = get(p, `${label}.bias_hh${suffix}`);
  const hidden = whh.shape[1]!;
  const block = (t: tf.Tensor, gate: number): tf.Tensor =>
    t.rank === 1 ? tf.slice(t, [gate * hidden], [hidden]) : tf.slice(t, [gate * hidden, 0], [hidden, -1]);
  // Time-major, so that one step's rows are contiguous.
  const steps = tf.reshape(tf.transpose(x, [1, 0, 2]), [time * batch, input]);
  // The input projections of every step at once, per gate block r, z, n.
  const [xr, xz, xn] = [0, 1, 2].map(
    (gate) =>
      tf.unstack(
        tf.reshape(tf.add(tf.matMul(steps, block(wih, gate), false, true), block(bih, gate)), [time, batch, hidden]),
      ) as tf.Tensor2D[],
  );
  const [wr, wz, wn] = [0, 1, 2].map((gate) => tf.transpose(block(whh, gate)) as tf.Tensor2D);
  const [br, bz, bn] = [0, 1, 2].map((gate) => block(bhh, gate));
  const masks = tf.unstack(tf.reshape(tf.transpose(mask), [time, batch, 1])) as tf.Tensor2D[];
  let h = h0;
  const outputs: tf.Tensor2D[] = [];
  for (let t = 0; t < time; t++) {
    const r = tf.sigmoid(tf.add(xr![t]!, tf.add(tf.matMul(h, wr!), br!)));
    const z = tf.sigmoid(tf.add(xz![t]!, tf.add(tf.matMul(h, wz!), bz!)));
    const n = tf.tanh(tf.add(xn![t]!, tf.mul(r, tf.add(tf.matMul(h, wn!), bn!))));
    const candidate = tf.add(n, tf.mul(z, tf.sub(h, n))) as tf.Tensor2D;
    const m = masks[t]!;
    h = tf.add(h, tf.mul(m, tf.sub(candidate, h)));
    outputs.push(tf.mul(m, candidate));
  }
  return { outputs: tf.stack(outputs, 1) as tf.Tensor3D, last: h };
}

/** Luong attention with the general score over the memory, then the generator, for decoder outputs `[batch, time, H]`. */
function attendAndGenerate(p: Parameters, encoded: Encoded, o: tf.Tensor3D): tf.Tensor3D {
  const [batch, time, hidden] = o.shape;
  const flat = tf.reshape(o, [batch * time, hidden]);
  const query = tf.reshape(tf.matMul(flat, get(p, 'attention.linear_in.weight'), false, true), [batch, time, -1]);
  const scores = tf.add(tf.matMul(query, encoded.memory, false, true), encoded.scoreMask);
  const context = tf.matMul(tf.softmax(scores), encoded.memory);
  const joined = tf.concat([tf.reshape(context, [batch * time, -1]), flat], 1);
  const attentional = tf.tanh(tf.matMul(joined, get(p, 'attention.linear_out.weight'), false, true));
  const logits = tf.add(tf.matMul(attentional, get(p, 'generator.weight'), false, true), get(p, 'generator.bias'));
  return tf.reshape(logits, [batch, time, -1]) as tf.Tensor3D;
}
