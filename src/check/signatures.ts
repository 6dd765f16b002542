// The signature of every layer and builtin a step may name: arguments, their types, ranges and defaults.

import { recurrentActivationValues } from '../ir/ir.js';

export type ArgType =
  | { readonly kind: 'int'; readonly min?: number; readonly max?: number }
  | { readonly kind: 'float'; readonly min?: number; readonly below?: number; readonly above?: number }
  | { readonly kind: 'bool' }
  | { readonly kind: 'enum'; readonly values: readonly string[] };

export type ArgValue = number | boolean | string;

export interface ParamSignature {
  readonly name: string;
  readonly type: ArgType;
  /** Absent for a required argument. */
  readonly default?: ArgValue;
  /** An argument without a default that may still be left out (Embedding's `padding_idx`). */
  readonly optional?: true;
  readonly doc: string;
}

/** The value an argument of this type binds to: a number, a boolean, or one of the enum's strings. */
export type ValueOfType<T extends ArgType> = T extends { readonly kind: 'int' | 'float' }
  ? number
  : T extends { readonly kind: 'bool' }
    ? boolean
    : T extends { readonly kind: 'enum'; readonly values: readonly (infer V)[] }
      ? V
      : never;

type RequiredParam<P extends ParamSignature> = P extends { readonly optional: true } ? never : P['name'];
type OptionalParam<P extends ParamSignature> = P extends { readonly optional: true } ? P['name'] : never;

/**
 * The bound arguments of a parameter list, read off the table: every argument with a default or
 * without one is present, and an `optional` one may be absent.
 */
export type ArgumentsOf<Params extends readonly ParamSignature[]> = {
  readonly [N in RequiredParam<Params[number]>]: ValueOfType<Extract<Params[number], { readonly name: N }>['type']>;
} & {
  readonly [N in OptionalParam<Params[number]>]?: ValueOfType<Extract<Params[number], { readonly name: N }>['type']>;
};

/** What binding needs of a signature; layers and the `decoder(…)` block both have one. */
export interface ArgumentSignature {
  readonly kind: string;
  readonly positional: readonly string[];
  readonly params: readonly ParamSignature[];
}

/** The bound arguments of a signature, tagged with its kind; a union of signatures gives a discriminated union. */
export type BoundArguments<S extends ArgumentSignature> = S extends unknown
  ? { readonly kind: S['kind'] } & ArgumentsOf<S['params']>
  : never;

export type LayerKind =
  | 'Embedding'
  | 'RNN'
  | 'LSTM'
  | 'GRU'
  | 'BiRNN'
  | 'BiLSTM'
  | 'BiGRU'
  | 'Linear'
  | 'Dropout'
  | 'LayerNorm'
  | 'Attention'
  | 'Conv1d'
  | 'CRF';

export interface LayerSignature {
  readonly kind: LayerKind;
  /**
   * The arguments that values without a name bind to, in order: the leading arguments of PyTorch's
   * constructor that seqc does not infer (`Embedding(10, 4)` is nn.Embedding(10, 4)).
   */
  readonly positional: readonly string[];
  readonly params: readonly ParamSignature[];
  /** Whether the layer owns parameters, and therefore needs a label that is unique. */
  readonly hasParameters: boolean;
  readonly doc: string;
}

const hidden = {
  name: 'hidden',
  type: { kind: 'int', min: 1 },
  doc: 'size of the hidden state',
} as const satisfies ParamSignature;
const layers = {
  name: 'layers',
  type: { kind: 'int', min: 1, max: 64 },
  default: 1,
  doc: 'stacked layers',
} as const satisfies ParamSignature;
const dropout = {
  name: 'dropout',
  type: { kind: 'float', min: 0, below: 1 },
  default: 0,
  doc: 'dropout between stacked layers (training only; inference graphs ignore it)',
} as const satisfies ParamSignature;
const bias = {
  name: 'bias',
  type: { kind: 'bool' },
  default: true,
  doc: 'learn bias vectors',
} as const satisfies ParamSignature;
const stateful = {
  name: 'stateful',
  type: { kind: 'bool' },
  default: false,
  doc: 'add LABEL.h0 (and LABEL.c0) inputs and LABEL.hn (and LABEL.cn) outputs, [layers·directions, batch, hidden]',
} as const satisfies ParamSignature;
const bidirectional = {
  name: 'bidirectional',
  type: { kind: 'bool' },
  default: false,
  doc: 'run a second layer backwards over time and concatenate (the Bi* forms set this)',
} as const satisfies ParamSignature;
const recurrentActivation = {
  name: 'recurrent_activation',
  type: { kind: 'enum', values: recurrentActivationValues },
  default: 'sigmoid',
  doc: "gate activation; trained Keras 2 models use hard_sigmoid (clip(0.2·x + 0.5, 0, 1)), Keras 3's is hardsigmoid (relu6(x + 3)/6)",
} as const satisfies ParamSignature;
const activation = {
  name: 'activation',
  type: { kind: 'enum', values: recurrentActivationValues },
  default: 'tanh',
  doc: "candidate and output activation (Keras's `activation`: LSTM g and tanh(c), GRU n)",
} as const satisfies ParamSignature;
const nonlinearity = {
  name: 'nonlinearity',
  type: { kind: 'enum', values: recurrentActivationValues },
  default: 'tanh',
  doc: 'activation of the plain RNN (PyTorch has tanh and relu; the others are for Keras SimpleRNN)',
} as const satisfies ParamSignature;
const resetAfter = {
  name: 'reset_after',
  type: { kind: 'bool' },
  default: true,
  doc: 'true: PyTorch GRU (reset gate applied after the recurrent matmul); false: the Keras variant',
} as const satisfies ParamSignature;

const proj = {
  name: 'proj',
  type: { kind: 'int', min: 0 },
  default: 0,
  doc: "projection size (PyTorch's proj_size; 0: none): h and the output are proj wide, with LABEL.weight_hr_l{k} [proj, hidden]",
} as const satisfies ParamSignature;

const goBackwards = {
  name: 'go_backwards',
  type: { kind: 'bool' },
  default: false,
  doc: "Keras's go_backwards: read the sequence from its end; the output sequence is in reversed time order, as Keras returns it",
} as const satisfies ParamSignature;
const maskedOutput = {
  name: 'masked_output',
  type: { kind: 'enum', values: ['previous', 'zero'] },
  default: 'previous',
  doc: "over a value with a Keras mask, what a masked step outputs: the previous output (TF.js, Keras 2) or zeros (Keras's zero_output_for_mask)",
} as const satisfies ParamSignature;
const merge = {
  name: 'merge',
  type: { kind: 'enum', values: ['concat', 'sum', 'ave', 'mul'] },
  default: 'concat',
  doc: "Keras's Bidirectional merge_mode: how the two directions' outputs join (bidirectional layers only)",
} as const satisfies ParamSignature;

const kerasParams = [goBackwards, maskedOutput, merge] as const;
const rnnParams = [hidden, layers, dropout, bias, bidirectional, nonlinearity, stateful, ...kerasParams] as const;
const lstmParams = [
  hidden,
  layers,
  dropout,
  bias,
  bidirectional,
  recurrentActivation,
  stateful,
  proj,
  activation,
  ...kerasParams,
] as const;
const gruParams = [
  hidden,
  layers,
  dropout,
  bias,
  bidirectional,
  resetAfter,
  recurrentActivation,
  stateful,
  activation,
  ...kerasParams,
] as const;

function recurrent<K extends LayerKind, P extends readonly ParamSignature[]>(kind: K, params: P, doc: string) {
  return { kind, positional: ['hidden'], params, hasParameters: true, doc } as const;
}

export const layerSignatures = {
  Embedding: {
    kind: 'Embedding',
    positional: ['vocab', 'dim'],
    hasParameters: true,
    doc: 'token ids → vectors (nn.Embedding)',
    params: [
      { name: 'vocab', type: { kind: 'int', min: 1 }, doc: 'number of token ids' },
      { name: 'dim', type: { kind: 'int', min: 1 }, doc: 'size of each vector' },
      {
        name: 'padding_idx',
        type: { kind: 'int' },
        optional: true,
        doc: 'the id whose vector is zero and not trained',
      },
      {
        name: 'mask_zero',
        type: { kind: 'bool' },
        default: false,
        doc: "Keras's mask_zero: the output carries a mask, valid where the token id is not 0 (id 0 is still looked up)",
      },
    ],
  },
  RNN: recurrent('RNN', rnnParams, 'Elman RNN (nn.RNN)'),
  LSTM: recurrent('LSTM', lstmParams, 'long short-term memory (nn.LSTM)'),
  GRU: recurrent('GRU', gruParams, 'gated recurrent unit (nn.GRU)'),
  BiRNN: recurrent('BiRNN', rnnParams, 'bidirectional RNN'),
  BiLSTM: recurrent('BiLSTM', lstmParams, 'bidirectional LSTM'),
  BiGRU: recurrent('BiGRU', gruParams, 'bidirectional GRU'),
  Linear: {
    kind: 'Linear',
    positional: ['out'],
    hasParameters: true,
    doc: 'affine map of the last axis (nn.Linear)',
    params: [{ name: 'out', type: { kind: 'int', min: 1 }, doc: 'output features' }, bias],
  },
  Dropout: {
    kind: 'Dropout',
    positional: ['p'],
    hasParameters: false,
    doc: 'dropout (identity in inference graphs)',
    params: [{ name: 'p', type: { kind: 'float', min: 0, below: 1 }, default: 0.5, doc: 'drop probability' }],
  },
  LayerNorm: {
    kind: 'LayerNorm',
    // PyTorch's first argument, normalized_shape, is inferred; a lone number would be taken for eps.
    positional: [],
    hasParameters: true,
    doc: 'layer normalization over the last axis (nn.LayerNorm)',
    params: [{ name: 'eps', type: { kind: 'float', above: 0 }, default: 1e-5, doc: 'added to the variance' }],
  },
  Attention: {
    kind: 'Attention',
    positional: ['score'],
    hasParameters: true,
    doc: 'attention over the encoder outputs (decoder blocks only)',
    params: [
      {
        name: 'score',
        type: { kind: 'enum', values: ['dot', 'general', 'additive'] },
        default: 'general',
        doc: 'score function',
      },
      { name: 'input_feed', type: { kind: 'bool' }, default: false, doc: 'Luong input feeding' },
      {
        name: 'bias',
        type: { kind: 'bool' },
        optional: true,
        doc: 'a bias in linear_out (Luong placement); by default only score=additive has one',
      },
    ],
  },
  Conv1d: {
    kind: 'Conv1d',
    // nn.Conv1d(in_channels, out_channels, kernel_size): the input channels are inferred.
    positional: ['out', 'kernel'],
    hasParameters: true,
    doc: 'convolution over the time axis (nn.Conv1d on the [batch, features, time] transpose)',
    params: [
      { name: 'out', type: { kind: 'int', min: 1 }, doc: 'output channels (features per step)' },
      { name: 'kernel', type: { kind: 'int', min: 1, max: 4096 }, doc: 'kernel size in steps' },
      { name: 'padding', type: { kind: 'int', min: 0, max: 4096 }, default: 0, doc: 'zero steps added at each end' },
      { name: 'stride', type: { kind: 'int', min: 1, max: 4096 }, default: 1, doc: 'steps between outputs' },
      { name: 'dilation', type: { kind: 'int', min: 1, max: 4096 }, default: 1, doc: 'spacing of kernel taps' },
      bias,
    ],
  },
  CRF: {
    kind: 'CRF',
    positional: ['tags'],
    hasParameters: true,
    doc: 'Viterbi decoding of per-step tag scores with a linear-chain CRF (pytorch-crf); the best tag path, int64',
    params: [
      { name: 'tags', type: { kind: 'int', min: 1 }, doc: 'number of tags; the input holds one score per tag' },
      {
        name: 'score',
        type: { kind: 'bool' },
        default: false,
        doc: "add an output LABEL.score, float32[batch]: the best path's score",
      },
    ],
  },
} as const satisfies Readonly<{ [K in LayerKind]: LayerSignature & { readonly kind: K } }>;

/** The bound arguments of one layer kind, e.g. `{ kind: 'Embedding', vocab, dim, padding_idx? }`. */
export type LayerArguments<K extends LayerKind = LayerKind> = BoundArguments<(typeof layerSignatures)[K]>;

export type DecoderArguments = BoundArguments<typeof decoderSignature>;

export const layerKinds = Object.keys(layerSignatures) as LayerKind[];

export type RecurrentKind = 'RNN' | 'LSTM' | 'GRU' | 'BiRNN' | 'BiLSTM' | 'BiGRU';

export const recurrentKinds: readonly RecurrentKind[] = ['RNN', 'LSTM', 'GRU', 'BiRNN', 'BiLSTM', 'BiGRU'];

export function isRecurrentKind(name: string): name is RecurrentKind {
  return (recurrentKinds as readonly string[]).includes(name);
}

/** The arguments of a `decoder(…) { … }` block; all of them are named. */
export const decoderSignature = {
  kind: 'decoder',
  positional: [],
  params: [
    { name: 'bos', type: { kind: 'int', min: 0 }, doc: 'the token id that starts every target sequence' },
    { name: 'eos', type: { kind: 'int', min: 0 }, doc: 'the token id that ends a generated sequence' },
    { name: 'max_length', type: { kind: 'int', min: 1 }, doc: 'the most tokens generated per sequence' },
    {
      name: 'bridge',
      type: { kind: 'enum', values: ['none', 'linear'] },
      default: 'none',
      doc: "`linear`: a learned projection (with tanh) from the encoder's final state to the decoder's initial state",
    },
    {
      name: 'c0',
      type: { kind: 'enum', values: ['c', 'h'] },
      default: 'c',
      doc: "an LSTM decoder's initial cell state: the encoder's final `c` (zeros without one), or its final `h` (Keras's initial_state=[h, h])",
    },
  ],
} as const satisfies ArgumentSignature;

export type BuiltinName =
  'last' | 'first' | 'mean' | 'max' | 'relu' | 'tanh' | 'sigmoid' | 'softmax' | 'log_softmax' | 'masking' | 'repeat';

export const builtinDocs: Readonly<Record<BuiltinName, string>> = {
  last: 'the last valid step of each row (final states of a recurrent layer)',
  first: 'the first step',
  mean: 'the mean over valid steps',
  max: 'the maximum over valid steps',
  relu: 'max(x, 0)',
  tanh: 'hyperbolic tangent',
  sigmoid: 'logistic sigmoid',
  softmax: 'softmax over the last axis',
  log_softmax: 'log of softmax over the last axis',
  masking: "Keras's Masking(mask_value): x · mask, with a mask valid where some feature differs from `value`",
  repeat: 'repeat(n): a vector [batch, F] repeated n times along a new time axis, [batch, n, F] (Keras RepeatVector)',
};

/** A builtin with arguments: `masking(value=0.0)`, Keras's `Masking(mask_value=0.0)`. */
export const maskingSignature = {
  kind: 'masking',
  positional: ['value'],
  params: [{ name: 'value', type: { kind: 'float' }, default: 0, doc: 'the value of a masked feature' }],
} as const satisfies ArgumentSignature;

/** A builtin with an argument: `repeat(n)`, bound like a layer's arguments. */
export const repeatSignature = {
  kind: 'repeat',
  positional: ['n'],
  params: [{ name: 'n', type: { kind: 'int', min: 1, max: 65536 }, doc: 'how many steps the new time axis has' }],
} as const satisfies ArgumentSignature;

export const builtinNames = Object.keys(builtinDocs) as BuiltinName[];

export function isLayerKind(name: string): name is LayerKind {
  return Object.prototype.hasOwnProperty.call(layerSignatures, name);
}

export function isBuiltin(name: string): name is BuiltinName {
  return Object.prototype.hasOwnProperty.call(builtinDocs, name);
}

export function describeArgType(t: ArgType): string {
  switch (t.kind) {
    case 'int':
      return t.min === 1 ? 'a positive integer' : 'an integer';
    case 'float':
      return 'a number';
    case 'bool':
      return '`true` or `false`';
    case 'enum':
      return t.values
        .map((v) => `\`${v}\``)
        .join(', ')
        .replace(/, ([^,]*)$/, ' or $1');
  }
}

/**
 * An argument name from PyTorch's or Keras's constructor that seqc spells differently or does not
 * need: `name` is what seqc calls it, `note` says why it is not needed or how it differs.
 */
export interface ForeignArgument {
  readonly name?: string;
  readonly note?: string;
}

type LayerFamily = 'recurrent' | 'Embedding' | 'Linear' | 'Dropout' | 'LayerNorm' | 'Attention' | 'Conv1d' | 'CRF';

const inferredInput = 'seqc infers it from the size of the last axis of the input';
const recurrentNames: Readonly<Record<string, ForeignArgument>> = {
  hidden_size: { name: 'hidden' },
  units: { name: 'hidden' },
  num_layers: { name: 'layers' },
  input_size: { note: inferredInput },
  batch_first: { note: 'sequences are always [batch, time, features] in seqc' },
  use_bias: { name: 'bias' },
  return_sequences: { note: 'a recurrent layer gives the whole sequence; add `-> last` after it for its final state' },
  return_state: {
    note: '`-> last` after the layer gives its final hidden state; `stateful=true` adds the states as graph inputs and outputs',
  },
  recurrent_dropout: { note: 'dropout is for training only, and inference graphs leave it out' },
  zero_output_for_mask: { name: 'masked_output', note: '`masked_output=zero` is zero_output_for_mask=True' },
  merge_mode: { name: 'merge' },
  proj_size: { name: 'proj' },
};

const foreignNames: Readonly<Record<LayerFamily, Readonly<Record<string, ForeignArgument>>>> = {
  recurrent: recurrentNames,
  Embedding: {
    num_embeddings: { name: 'vocab' },
    input_dim: { name: 'vocab' },
    embedding_dim: { name: 'dim' },
    output_dim: { name: 'dim' },
  },
  Linear: {
    out_features: { name: 'out' },
    units: { name: 'out' },
    in_features: { note: inferredInput },
    use_bias: { name: 'bias' },
  },
  Dropout: { rate: { name: 'p' } },
  LayerNorm: {
    epsilon: { name: 'eps' },
    normalized_shape: { note: `${inferredInput}, and normalizes that axis` },
  },
  Attention: {},
  Conv1d: {
    out_channels: { name: 'out' },
    kernel_size: { name: 'kernel' },
    in_channels: { note: inferredInput },
    filters: { name: 'out' },
    groups: { note: 'grouped convolutions are not supported' },
    padding_mode: { note: 'only zero padding is supported' },
  },
  CRF: {
    num_tags: { name: 'tags' },
    batch_first: { note: 'sequences are always [batch, time, features] in seqc' },
  },
};

/** What seqc calls a PyTorch or Keras argument of this layer, or why it needs none; undefined for names it does not know. */
export function foreignArgument(kind: string, name: string): ForeignArgument | undefined {
  if (!isLayerKind(kind)) return undefined;
  const family: LayerFamily = ['RNN', 'LSTM', 'GRU', 'BiRNN', 'BiLSTM', 'BiGRU'].includes(kind)
    ? 'recurrent'
    : (kind as LayerFamily);
  // LSTM and GRU take `activation` (and `recurrent_activation`) themselves, so they never get here; RNN spells
  // it `nonlinearity`; every other layer is followed by its activation as a step of its own (Keras's Dense).
  if (name === 'activation') {
    return kind.endsWith('RNN')
      ? { name: 'nonlinearity' }
      : { note: 'an activation is a step of its own after the layer (`-> relu`)' };
  }
  const names = foreignNames[family];
  return Object.prototype.hasOwnProperty.call(names, name) ? names[name] : undefined;
}
