// The IR: what a checked spec means — inputs, typed values, layers in order, parameters, outputs.

import type { Span } from '../diagnostics/diagnostic.js';

export type Dim =
  { readonly kind: 'symbol'; readonly name: string } | { readonly kind: 'fixed'; readonly size: number };

export type ElementType = 'int64' | 'float32';

/** The logical (user-facing, batch-major) type of a value: `[batch, time, features]` and the like. */
export interface ValueType {
  readonly dtype: ElementType;
  readonly dims: readonly Dim[];
  /** True when axis 1 is a time axis (sequences); pooling removes it. */
  readonly hasTime: boolean;
  /** The `lengths(...)` input that masks the time axis, when there is one. */
  readonly lengths?: string;
  /**
   * A Keras mask on the time axis, when there is one: the label of the op that made it (an
   * `Embedding(mask_zero=true)` or a `masking` step). Never together with `lengths`.
   */
  readonly mask?: string;
}

/** A named value: a graph input or the result of a step. */
export interface Value {
  readonly id: string;
  readonly type: ValueType;
}

export type InputRole =
  | { readonly kind: 'data' }
  | { readonly kind: 'lengths'; readonly of: string }
  | { readonly kind: 'state'; readonly layer: string };

export interface IrInput {
  readonly name: string;
  readonly type: ValueType;
  readonly role: InputRole;
  readonly span: Span;
}

export interface IrOutput {
  readonly name: string;
  readonly value: string;
  readonly type: ValueType;
  readonly span: Span;
}

export type InitScheme =
  | { readonly kind: 'normal'; readonly std: number; readonly zeroRow?: number }
  | { readonly kind: 'uniform'; readonly bound: number }
  | { readonly kind: 'ones' }
  | { readonly kind: 'zeros' };

export interface IrParameter {
  /** The PyTorch state_dict name, e.g. `lstm.weight_ih_l0_reverse`. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: InitScheme;
  /** The label of the layer that owns it. */
  readonly owner: string;
}

export type RecurrentCell = 'rnn' | 'lstm' | 'gru';

/**
 * An activation inside a recurrent cell. `hard_sigmoid` is Keras 2's clip(0.2·x + 0.5, 0, 1);
 * `hardsigmoid` is Keras 3's and PyTorch's relu6(x + 3)/6 = clip(x/6 + 0.5, 0, 1); `linear` is the identity.
 */
export type RecurrentActivation = 'tanh' | 'relu' | 'sigmoid' | 'hard_sigmoid' | 'hardsigmoid' | 'linear';

export const recurrentActivationValues = [
  'tanh',
  'relu',
  'sigmoid',
  'hard_sigmoid',
  'hardsigmoid',
  'linear',
] as const satisfies readonly RecurrentActivation[];

interface OpBase {
  /** The layer's label (explicit or derived), unique among ops; it prefixes ONNX node names. */
  readonly label: string;
  readonly input: string;
  readonly output: Value;
  readonly span: Span;
  /** How the step reads in the spec, for summaries: `LSTM(hidden=256)`. */
  readonly display: string;
}

export interface EmbeddingOp extends OpBase {
  readonly kind: 'embedding';
  readonly vocab: number;
  readonly dim: number;
  readonly paddingIdx?: number;
  /** Keras's `mask_zero`: the output carries a mask, valid where the token id is not 0. */
  readonly maskZero?: true;
}

export interface RecurrentOp extends OpBase {
  readonly kind: 'recurrent';
  readonly cell: RecurrentCell;
  readonly inputSize: number;
  readonly hidden: number;
  readonly layers: number;
  readonly bidirectional: boolean;
  readonly bias: boolean;
  /** The plain RNN's activation. */
  readonly nonlinearity: RecurrentActivation;
  readonly resetAfter: boolean;
  /** The gate activation of an LSTM (i, f, o) or GRU (r, z). */
  readonly recurrentActivation: RecurrentActivation;
  /** An LSTM's or GRU's candidate activation (LSTM g and the output's h = o ⊙ act(c); GRU n): Keras's `activation`. */
  readonly activation: RecurrentActivation;
  /** Inter-layer dropout, kept for the record; inference graphs ignore it. */
  readonly dropout: number;
  readonly lengths?: string;
  /** An LSTM's projection size (PyTorch's proj_size): h and the output are this wide, c stays `hidden` wide. */
  readonly proj?: number;
  /** With `stateful=true`: the names of the extra graph inputs and outputs. */
  readonly state?: RecurrentState;
  /** The Keras mask of the input (see `ValueType.mask`): masked steps are skipped wherever they are. */
  readonly mask?: string;
  /** What a masked step outputs: absent for the previous output (TF.js, Keras 2), `zero` for Keras's zero_output_for_mask. */
  readonly maskedOutput?: 'zero';
  /** Keras's go_backwards: one direction, run from the end, its sequence output in reversed time order. */
  readonly goBackwards?: true;
  /** Keras's Bidirectional merge_mode other than concat: the two directions of the top layer summed, averaged or multiplied. */
  readonly merge?: RecurrentMerge;
}

export type RecurrentMerge = 'sum' | 'ave' | 'mul';

export interface RecurrentState {
  readonly h0: string;
  readonly hn: string;
  readonly c0?: string;
  readonly cn?: string;
}

export interface LinearOp extends OpBase {
  readonly kind: 'linear';
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias: boolean;
}

export interface LayerNormOp extends OpBase {
  readonly kind: 'layerNorm';
  readonly features: number;
  readonly eps: number;
}

export interface DropoutOp extends OpBase {
  readonly kind: 'dropout';
  readonly p: number;
}

export type PoolMode = 'last' | 'first' | 'mean' | 'max';

export interface PoolOp extends OpBase {
  readonly kind: 'pool';
  readonly mode: PoolMode;
  readonly lengths?: string;
  /**
   * For `last` over the output of a recurrent layer (possibly through dropout): that layer's label,
   * so the final states are used (forward final ++ backward final for a bidirectional layer).
   */
  readonly finalStateOf?: string;
  /** A `mean` over a value with a Keras mask: the mean over its valid steps (GlobalAveragePooling1D). */
  readonly mask?: string;
}

export type ActivationFunction = 'relu' | 'tanh' | 'sigmoid' | 'softmax' | 'log_softmax';

/** `repeat(n)`: a vector [batch, F] repeated n times along a new time axis, [batch, n, F] (Keras's RepeatVector). */
export interface RepeatOp extends OpBase {
  readonly kind: 'repeat';
  readonly times: number;
}

export interface ActivationOp extends OpBase {
  readonly kind: 'activation';
  readonly fn: ActivationFunction;
}

export type MergeMode = 'concat' | 'add';

/**
 * `concat(a, b, …)` along the last axis, or `add(a, b, …)` elementwise, at the head of a chain. The
 * operands share dtype, batch and time axes and lengths; `input` is the first of `operands`.
 */
export interface MergeOp extends OpBase {
  readonly kind: 'merge';
  readonly mode: MergeMode;
  readonly operands: readonly string[];
}

/** nn.Conv1d over the time axis of a `[batch, time, F]` sequence: `L.weight` [out, F, kernel], `L.bias` [out]. */
export interface Conv1dOp extends OpBase {
  readonly kind: 'conv1d';
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: number;
  readonly padding: number;
  readonly stride: number;
  readonly dilation: number;
  readonly bias: boolean;
  /** The lengths (an input's, or derived by an earlier Conv1d) whose padded steps are zeroed before the convolution. */
  readonly lengths?: string;
  /**
   * When the convolution changes the number of steps of a sequence with lengths: the name of its
   * output's lengths (`derivedLengthsName(label)`), nn.Conv1d's output-length formula applied to
   * `lengths`. The output's type carries it; the lowering computes it as an int64 [batch] tensor of
   * that name. Absent when the convolution keeps each row's length.
   */
  readonly outputLengths?: string;
}

/**
 * The name of the lengths a Conv1d labeled `label` derives: `lengths(label)`, which no spec name can
 * be (names have no parentheses), so it collides with no input, label or tensor.
 */
export function derivedLengthsName(label: string): string {
  return `lengths(${label})`;
}

/**
 * A linear-chain CRF decoding its input emissions [batch, time, tags] with Viterbi: the best tag path,
 * int64 [batch, time], each row decoded over its own valid steps (pytorch-crf's `decode`).
 */
export interface CrfOp extends OpBase {
  readonly kind: 'crf';
  readonly tags: number;
  readonly lengths?: string;
  /** With `score=true`: the name of the extra graph output holding each row's best path score, float32 [batch]. */
  readonly scoreOutput?: string;
}

/**
 * Keras's `Masking(mask_value)`: the output is x · mask and carries the mask, valid at the steps
 * where some feature differs from `value`.
 */
export interface MaskingOp extends OpBase {
  readonly kind: 'masking';
  readonly value: number;
}

export type Op =
  | EmbeddingOp
  | RecurrentOp
  | LinearOp
  | LayerNormOp
  | DropoutOp
  | PoolOp
  | ActivationOp
  | MergeOp
  | Conv1dOp
  | CrfOp
  | MaskingOp
  | RepeatOp;

export interface ModelIR {
  readonly name: string;
  readonly inputs: readonly IrInput[];
  /** For an encoder–decoder model, the encoder's ops; the decoder's are in `decoder`. */
  readonly ops: readonly Op[];
  readonly outputs: readonly IrOutput[];
  readonly parameters: readonly IrParameter[];
  readonly span: Span;
  readonly encoder?: EncoderIR;
  readonly decoder?: DecoderIR;
}

/** What the decoder reads from the encoder: the memory value and the recurrent layer whose final state starts it. */
export interface EncoderIR {
  readonly memory: string;
  readonly memoryType: ValueType;
  readonly finalState: string;
}

export type AttentionScore = 'dot' | 'general' | 'additive';

/**
 * Attention over the encoder's memory, an op of the decoder step. It reads the recurrent layer named
 * `input`: Bahdanau, the top layer of its state before this step, and its context joins the layer's
 * input; Luong, its output of this step, and the attentional vector takes the place of that output
 * for the steps after it (which read `input`).
 */
export interface AttentionIR {
  readonly kind: 'attention';
  readonly label: string;
  /** The decoder's recurrent layer, whose state (Bahdanau) or output (Luong) is the query. */
  readonly input: string;
  readonly score: AttentionScore;
  /** Luong: after the recurrent layer; Bahdanau: before it, its context fed into the recurrent input. */
  readonly placement: 'luong' | 'bahdanau';
  readonly inputFeed: boolean;
  /** Whether Luong's linear_out has a bias: `bias=` when written, else only for score=additive. */
  readonly outBias: boolean;
  readonly queryDim: number;
  readonly memoryDim: number;
  readonly span: Span;
  readonly display: string;
}

/**
 * `bridge=linear`: the decoder's initial state as tanh of a projection of the encoder's final
 * states, all layers and directions joined (docs/seq2seq.md).
 */
export interface BridgeOp {
  readonly kind: 'bridge';
  readonly label: string;
  /** The encoder's last recurrent layer, whose final states it reads. */
  readonly input: string;
  /** The states it makes: `h`, and `c` when the encoder's and the decoder's layers are both LSTMs (else c0 is zeros). */
  readonly states: readonly ('h' | 'c')[];
  /** The size of the joined final states: L_enc · directions · H_enc. */
  readonly inFeatures: number;
  /** The decoder's layers and hidden size: each state it makes is [layers, batch, hidden]. */
  readonly layers: number;
  readonly hidden: number;
  readonly span: Span;
}

/** An attention op by the name the decoder step's op list uses. */
export type AttentionOp = AttentionIR;

/**
 * One op of a decoder step. In a step, a recurrent op runs one token from the state the step carries
 * (its input joined with a Bahdanau context or the fed attentional vector), not over a sequence.
 */
export type DecoderStepOp = Op | AttentionOp;

/** The decoder chain, run once per generated token: see docs/seq2seq.md. */
export interface DecoderIR {
  readonly bos: number;
  readonly eos: number;
  readonly maxLength: number;
  readonly bridge: boolean;
  /** With `bridge=linear`, the op that makes the initial state; without it the encoder's final state is the initial state. */
  readonly initialState?: BridgeOp;
  /** `c0=h`: an LSTM decoder's initial cell state is the encoder's final h, as its initial h is (Keras's initial_state=[h, h]). */
  readonly cellFromHidden: boolean;
  /**
   * The step's ops in the order one step runs them: the Embedding of the previous token, a Bahdanau
   * Attention, the recurrent layer, a Luong Attention, then the head. The fields below name the same
   * ops one by one.
   */
  readonly step: readonly DecoderStepOp[];
  readonly embedding: EmbeddingOp;
  readonly attention?: AttentionIR;
  readonly recurrent: RecurrentOp;
  /** Steps after the recurrent layer (and Luong attention), on [batch, features] values. */
  readonly head: readonly Op[];
  readonly vocab: number;
  readonly span: Span;
}

export function formatDims(dims: readonly Dim[]): string {
  return dims.map((d) => (d.kind === 'symbol' ? d.name : String(d.size))).join(', ');
}

export function formatType(t: ValueType): string {
  return `${t.dtype}[${formatDims(t.dims)}]`;
}

export function parameterCount(ir: ModelIR): number {
  return ir.parameters.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}
