// A plain float64 reference for seqc's encoder–decoder models and language models, written from
// the equations in docs/seq2seq.md (one decoder step, attention, initial state, greedy decoding)
// on top of the layer reference in ./float64.ts, and sharing no code with seqc.
//
// Conventions are those of ./float64.ts: nested arrays of float64 numbers, batch-major, weights in
// PyTorch layout keyed by state_dict names. The names used here for the doc's symbols:
//   B batch, S source time, T target time, E decoder embedding size, D memory size,
//   L decoder layers, H decoder hidden size (= the attention query size Q), V logits size.
// It is written to be read and checked by eye, not to be fast; keep the sizes in tests tiny.

import {
  embedding,
  layerNorm,
  linear,
  logSoftmax,
  parameterName,
  randomRecurrentWeights,
  randomTensor,
  recurrent,
  relu,
  sigmoid,
  softmax,
  tanh,
} from './float64.js';
import type { RecurrentKind, RecurrentOptions, ReferenceTensor, ReferenceWeights } from './float64.js';

// ---------------------------------------------------------------------------------------------
// Configurations.

export type AttentionScore = 'dot' | 'general' | 'additive';

/** Luong: attention after the recurrent layer; Bahdanau: before it, queried by the previous top state. */
export type AttentionPlacement = 'luong' | 'bahdanau';

export type ActivationName = 'relu' | 'tanh' | 'sigmoid' | 'softmax' | 'log_softmax';

export interface EmbeddingConfig {
  readonly prefix: string;
  readonly vocab: number;
  readonly dim: number;
  /** Only used by randomSeq2seqWeights, which zeroes that row as nn.Embedding's init does. */
  readonly paddingIdx?: number;
}

/** The recurrent options shared by encoder and decoder layers (see RecurrentOptions in ./float64.ts). */
export interface RecurrentLayerConfig {
  readonly prefix: string;
  readonly cell: RecurrentKind;
  readonly hidden: number;
  readonly layers: number;
  readonly nonlinearity?: 'tanh' | 'relu';
  readonly resetAfter?: boolean;
  readonly recurrentActivation?: 'sigmoid' | 'hard_sigmoid';
  readonly bias?: boolean;
}

export interface EncoderRecurrentConfig extends RecurrentLayerConfig {
  readonly bidirectional: boolean;
}

export interface AttentionConfig {
  readonly prefix: string;
  readonly score: AttentionScore;
  readonly placement: AttentionPlacement;
  /** Luong placement only: feed the previous attentional vector into the recurrent layer. */
  readonly inputFeed: boolean;
}

/** A step after the decoder's recurrent layer (and Luong attention). `out` is Linear's output size. */
export type HeadStep =
  | { readonly kind: 'linear'; readonly prefix: string; readonly out: number; readonly bias?: boolean }
  | { readonly kind: 'activation'; readonly fn: ActivationName }
  | { readonly kind: 'layerNorm'; readonly prefix: string; readonly eps?: number }
  | { readonly kind: 'dropout' };

export interface DecoderConfig {
  readonly embedding: EmbeddingConfig;
  readonly attention?: AttentionConfig;
  readonly recurrent: RecurrentLayerConfig;
  readonly head: readonly HeadStep[];
  readonly bos: number;
  readonly eos: number;
  readonly maxLength: number;
}

/**
 * `src -> Embedding -> recurrent layer -> … -> recurrent layer`. The last recurrent layer's output
 * sequence is the memory and its final state starts the decoder.
 */
export interface EncoderConfig {
  readonly embedding: EmbeddingConfig;
  readonly recurrent: readonly EncoderRecurrentConfig[];
  /** `bridge=linear`: parameters `${prefix}.h.weight`, `${prefix}.h.bias` and, LSTM to LSTM, `${prefix}.c.*`. */
  readonly bridge?: { readonly prefix: string };
}

// ---------------------------------------------------------------------------------------------
// State and results.

export interface DecoderState {
  /** [L][B][H] */
  readonly h: number[][][];
  /** LSTM only: [L][B][H] */
  readonly c?: number[][][];
  /** Input feeding only: the previous step's attentional vector [B][H], zeros at t = 0. */
  readonly feed?: number[][];
}

export interface Encoded {
  /** [B][S][D], zero at steps >= srcLengths. */
  readonly memory: number[][][];
  /** [L][B][H] */
  readonly h0: number[][][];
  /** Present exactly when the decoder is an LSTM: [L][B][H]. */
  readonly c0?: number[][][];
}

export interface StepResult {
  /** [B][V] */
  readonly logits: number[][];
  readonly h: number[][][];
  readonly c?: number[][][];
  readonly feed?: number[][];
  /** Attention models only: the softmax weights α [B][S], 0 at padded source steps. */
  readonly attention?: number[][];
}

export interface GreedyResult {
  /** [B][maxLength]: no bos, eos included when generated, eos-filled after it. */
  readonly tokens: number[][];
  /** The number of tokens up to and including eos (maxLength when eos never came). */
  readonly lengths: number[];
}

export interface Attended {
  /** α [B][S] */
  readonly weights: number[][];
  /** ctx [B][D] */
  readonly context: number[][];
}

/** One complete hypothesis of exhaustiveBest: tokens end with eos unless they reached maxLen. */
export interface Hypothesis {
  readonly tokens: number[];
  /** Σ_t log p(y_t | y_<t). */
  readonly logProb: number;
  /** What the search maximised: logProb, or logProb / lp(|tokens|). */
  readonly score: number;
}

/** Log-probabilities over the vocabulary for the token after `prefix` (the tokens generated so far, no bos). */
export type NextTokenLogProbs = (prefix: readonly number[]) => readonly number[];

// ---------------------------------------------------------------------------------------------
// The encoder and the initial state.

/** The memory size D: the last encoder layer's hidden size times its directions. */
export function memorySize(enc: EncoderConfig): number {
  const last = lastEncoderLayer(enc);
  return last.hidden * (last.bidirectional ? 2 : 1);
}

/**
 * Runs the encoder over `src` [B][S] with `srcLengths` and builds the decoder's initial state
 * (docs/seq2seq.md, "Initial state"). h_enc[l] = [h_n[l·dirs] ; h_n[l·dirs+1]]; without a bridge
 * h0[l] = h_enc[l]; with `bridge=linear`, h0 = tanh(W_h [h_enc[0] ; … ; h_enc[L_enc−1]] + b_h),
 * whose L·H values per batch row are read as L consecutive chunks of H (chunk l is h0[l]).
 */
export function encode(
  weights: ReferenceWeights,
  enc: EncoderConfig,
  dec: DecoderConfig,
  src: number[][],
  srcLengths: readonly number[],
): Encoded {
  if (src.length !== srcLengths.length) throw new Error(`encode: ${src.length} rows and ${srcLengths.length} lengths`);
  for (const length of srcLengths) {
    if (length < 1)
      throw new Error('encode: every source row needs at least one step (attention over nothing is undefined)');
  }
  let x = embedding(weights, enc.embedding.prefix, src);
  let last: ReturnType<typeof recurrent> | undefined;
  for (const layer of enc.recurrent) {
    last = recurrent(layer.cell, recurrentOptions(layer, layer.bidirectional), layer.prefix, weights, x, srcLengths);
    x = last.output;
  }
  if (!last) throw new Error('encode: the encoder has no recurrent layer');
  const R = lastEncoderLayer(enc);
  const dirs = R.bidirectional ? 2 : 1;
  const hEnc = joinDirections(last.hn, R.layers, dirs);
  const cEnc = last.cn ? joinDirections(last.cn, R.layers, dirs) : undefined;
  const { layers: L, hidden: H } = dec.recurrent;
  const decoderIsLstm = dec.recurrent.cell === 'lstm';

  let h0: number[][][];
  let c0: number[][][] | undefined;
  if (enc.bridge) {
    h0 = bridge(weights, parameterName(enc.bridge.prefix, 'h'), hEnc, L, H);
    if (decoderIsLstm)
      c0 = cEnc ? bridge(weights, parameterName(enc.bridge.prefix, 'c'), cEnc, L, H) : zeros3(L, src.length, H);
  } else {
    if (L !== R.layers || H !== dirs * R.hidden) {
      throw new Error(
        `encode: the decoder's state [${L} layers, hidden ${H}] does not fit the encoder's ` +
          `[${R.layers} layers, ${dirs} × ${R.hidden}] (SEQ040); use bridge=linear`,
      );
    }
    h0 = hEnc;
    if (decoderIsLstm) c0 = cEnc ?? zeros3(L, src.length, H);
  }
  return c0 ? { memory: x, h0, c0 } : { memory: x, h0 };
}

/** The language model's initial state: h (and c) zeros, and feed zeros when input feeding is on. */
export function zeroState(dec: DecoderConfig, batch: number): DecoderState {
  const { layers: L, hidden: H } = dec.recurrent;
  return withFeed(dec, batch, {
    h: zeros3(L, batch, H),
    ...(dec.recurrent.cell === 'lstm' ? { c: zeros3(L, batch, H) } : {}),
  });
}

/** The state at t = 0 of an encoder–decoder model: the encoder's h0 (and c0), feed zeros. */
export function startState(dec: DecoderConfig, encoded: Encoded): DecoderState {
  const batch = encoded.memory.length;
  return withFeed(dec, batch, { h: encoded.h0, ...(encoded.c0 ? { c: encoded.c0 } : {}) });
}

// ---------------------------------------------------------------------------------------------
// One decoder step.

/**
 * One decoder step (docs/seq2seq.md, "One decoder step"): embed the previous `tokens` [B], build the
 * recurrent input (Bahdanau context, input feed, or the embedding alone), run the stacked cell one
 * step, apply Luong attention and linear_out, then the head. `memory` and `srcLengths` are required
 * exactly when the decoder has attention.
 */
export function decoderStep(
  weights: ReferenceWeights,
  dec: DecoderConfig,
  state: DecoderState,
  tokens: readonly number[],
  memory?: number[][][],
  srcLengths?: readonly number[],
): StepResult {
  checkDecoder(dec);
  const attention = dec.attention;
  if (attention && (!memory || !srcLengths))
    throw new Error('decoderStep: an attention decoder needs memory and srcLengths');
  const isLstm = dec.recurrent.cell === 'lstm';
  if (isLstm && !state.c) throw new Error('decoderStep: an LSTM decoder needs c');
  if (attention?.inputFeed && !state.feed) throw new Error('decoderStep: an input-feeding decoder needs feed');
  const L = dec.recurrent.layers;

  // 1. e = Embedding(y), [B][E].
  const e = embedding(
    weights,
    dec.embedding.prefix,
    tokens.map((y) => [y]),
  ).map((row) => row[0]!);

  // 2. The recurrent layer's input.
  let x: number[][];
  let alpha: number[][] | undefined;
  if (attention?.placement === 'bahdanau') {
    const attended = attend(weights, attention, state.h[L - 1]!, memory!, srcLengths!);
    alpha = attended.weights;
    x = e.map((row, b) => [...row, ...attended.context[b]!]);
  } else if (attention?.inputFeed) {
    x = e.map((row, b) => [...row, ...state.feed![b]!]);
  } else {
    x = e;
  }

  // 3. The stacked cell step: the reference recurrent layer run over a sequence of length one.
  const options: RecurrentOptions = {
    ...recurrentOptions(dec.recurrent, false),
    h0: state.h,
    ...(isLstm ? { c0: state.c! } : {}),
  };
  const stepped = recurrent(
    dec.recurrent.cell,
    options,
    dec.recurrent.prefix,
    weights,
    x.map((row) => [row]),
  );
  const h = stepped.hn;
  const c = stepped.cn;

  // 4. o = h'[L−1]; Luong attention turns it into the attentional vector a.
  const o = h[L - 1]!;
  let output = o;
  let feed: number[][] | undefined;
  if (attention?.placement === 'luong') {
    const attended = attend(weights, attention, o, memory!, srcLengths!);
    alpha = attended.weights;
    output = luongOutput(weights, attention, attended.context, o);
    if (attention.inputFeed) feed = output;
  }

  // 5. The remaining steps give the logits.
  const logits = applyHead(weights, dec.head, output);
  return {
    logits,
    h,
    ...(isLstm ? { c: c! } : {}),
    ...(feed ? { feed } : {}),
    ...(alpha ? { attention: alpha } : {}),
  };
}

/**
 * attend(q, M): scores s_j (dot: q·M_j; general: (W_in q)·M_j; additive:
 * v·tanh(W_q q + b_q + W_c M_j)), s_j = −∞ for j >= srcLengths, α = softmax(s), ctx = Σ_j α_j M_j.
 */
export function attend(
  weights: ReferenceWeights,
  attention: Pick<AttentionConfig, 'prefix' | 'score'>,
  q: number[][],
  memory: number[][][],
  srcLengths: readonly number[],
): Attended {
  const p = (name: string) => parameterName(attention.prefix, name);
  const alphas: number[][] = [];
  const contexts: number[][] = [];
  for (let b = 0; b < memory.length; b++) {
    const rows = memory[b]!;
    const query = q[b]!;
    const length = srcLengths[b]!;
    if (!(length >= 1 && length <= rows.length)) throw new Error(`attend: row ${b} has source length ${length}`);
    let score: (m: number[]) => number;
    switch (attention.score) {
      case 'dot':
        if (query.length !== rows[0]!.length)
          throw new Error(`attend: dot needs Q = D, got ${query.length} and ${rows[0]!.length}`);
        score = (m) => dot(query, m);
        break;
      case 'general': {
        const projected = linear(weights, p('linear_in'), query, { bias: false });
        score = (m) => dot(projected, m);
        break;
      }
      case 'additive': {
        const projected = linear(weights, p('linear_query'), query);
        score = (m) => {
          const hidden = tanh(add(projected, linear(weights, p('linear_context'), m, { bias: false })));
          return linear(weights, p('v'), hidden, { bias: false })[0]!;
        };
        break;
      }
      default:
        return assertNever(attention.score);
    }
    const scores = rows.map((m, j) => (j < length ? score(m) : -Infinity));
    const alpha = maskedSoftmax(scores);
    alphas.push(alpha);
    contexts.push(rows[0]!.map((_, d) => sum(rows.map((m, j) => alpha[j]! * m[d]!))));
  }
  return { weights: alphas, context: contexts };
}

/**
 * Luong's attentional vector a = linear_out([ctx ; o]), followed by tanh for dot and general but
 * not for additive; linear_out has a bias for additive only.
 */
export function luongOutput(
  weights: ReferenceWeights,
  attention: Pick<AttentionConfig, 'prefix' | 'score'>,
  context: number[][],
  o: number[][],
): number[][] {
  const joined = context.map((ctx, b) => [...ctx, ...o[b]!]);
  const prefix = parameterName(attention.prefix, 'linear_out');
  if (attention.score === 'additive') return linear(weights, prefix, joined);
  return tanh(linear(weights, prefix, joined, { bias: false }));
}

/** The steps after the recurrent layer, in order, over [B][features]. */
export function applyHead(weights: ReferenceWeights, head: readonly HeadStep[], x: number[][]): number[][] {
  let y = x;
  for (const step of head) {
    switch (step.kind) {
      case 'linear':
        y = linear(weights, step.prefix, y, step.bias === false ? { bias: false } : {});
        break;
      case 'layerNorm':
        y = layerNorm(weights, step.prefix, y, step.eps ?? 1e-5);
        break;
      case 'activation':
        y = activation(step.fn, y);
        break;
      case 'dropout':
        break;
      default:
        return assertNever(step);
    }
  }
  return y;
}

// ---------------------------------------------------------------------------------------------
// Whole sequences.

/**
 * The scoring graph: tgtIn[:, t] is the token fed at step t (starting with bos for a translator),
 * and logits [B][T][V] are each step's logits. For a language model pass enc, src and srcLengths
 * as undefined; its state starts at zero.
 */
export function teacherForced(
  weights: ReferenceWeights,
  enc: EncoderConfig | undefined,
  dec: DecoderConfig,
  src: number[][] | undefined,
  srcLengths: readonly number[] | undefined,
  tgtIn: number[][],
): number[][][] {
  const start = startOf(weights, enc, dec, src, srcLengths, tgtIn.length);
  let state = start.state;
  const logits: number[][][] = tgtIn.map(() => []);
  const time = tgtIn.length === 0 ? 0 : tgtIn[0]!.length;
  for (let t = 0; t < time; t++) {
    const result = decoderStep(
      weights,
      dec,
      state,
      tgtIn.map((row) => row[t]!),
      start.memory,
      start.srcLengths,
    );
    result.logits.forEach((row, b) => logits[b]!.push(row));
    state = result;
  }
  return logits;
}

/**
 * Greedy decoding as the greedy graph does it. A translator feeds bos at t = 0; each next token is
 * argmax(logits) (ties go to the lowest id, like ONNX ArgMax). Exactly dec.maxLength tokens come
 * out per row: no bos, eos included when generated, every position after eos filled with eos;
 * lengths count the tokens up to and including eos (maxLength when eos never came).
 *
 * A language model (enc, src and srcLengths undefined) takes `prompt` [B][P] and starts from the
 * zero state. The prompt is fed as is, one token per step; bos is NOT prepended, so a caller
 * that wants bos puts it in the prompt. Only when the prompt is empty (P = 0) is bos fed instead.
 * The first generated token comes from the logits after the last token fed; prompt tokens are not
 * part of `tokens`, and maxLength counts generated tokens only.
 */
export function greedy(
  weights: ReferenceWeights,
  enc: EncoderConfig | undefined,
  dec: DecoderConfig,
  src: number[][] | undefined,
  srcLengths: readonly number[] | undefined,
  prompt?: number[][],
): GreedyResult {
  if (enc && prompt) throw new Error('greedy: a prompt is for language models only');
  if (!enc && !prompt) throw new Error('greedy: a language model needs a prompt (rows may be empty)');
  const batch = enc ? src!.length : prompt!.length;
  const start = startOf(weights, enc, dec, src, srcLengths, batch);
  const promptTime = prompt && prompt.length > 0 ? prompt[0]!.length : 0;
  const fedFirst: number[][] = prompt && promptTime > 0 ? prompt : Array.from({ length: batch }, () => [dec.bos]);

  let state: DecoderState = start.state;
  let logits: number[][] = [];
  for (let t = 0; t < fedFirst[0]!.length; t++) {
    const result = decoderStep(
      weights,
      dec,
      state,
      fedFirst.map((row) => row[t]!),
      start.memory,
      start.srcLengths,
    );
    state = result;
    logits = result.logits;
  }

  const tokens: number[][] = Array.from({ length: batch }, () => []);
  const lengths = new Array<number>(batch).fill(dec.maxLength);
  const finished = new Array<boolean>(batch).fill(false);
  for (let t = 0; t < dec.maxLength; t++) {
    const next = logits.map((row, b) => (finished[b] ? dec.eos : argmax(row)));
    next.forEach((token, b) => {
      tokens[b]!.push(token);
      if (!finished[b] && token === dec.eos) {
        finished[b] = true;
        lengths[b] = t + 1;
      }
    });
    if (t + 1 < dec.maxLength) {
      const result = decoderStep(weights, dec, state, next, start.memory, start.srcLengths);
      state = result;
      logits = result.logits;
    }
  }
  return { tokens, lengths };
}

/** The index of the largest value; the lowest index on ties. */
export function argmax(v: readonly number[]): number {
  let top = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[top]!) top = i;
  return top;
}

/**
 * For one batch row, the function that beam search and exhaustiveBest score with: given the
 * tokens generated so far (no bos), log_softmax of the logits for the next token. A translator
 * feeds [bos, ...prefix]; a language model feeds [...prompt, ...prefix] (bos alone for an empty
 * prompt, as in greedy).
 */
export function nextTokenLogProbs(
  weights: ReferenceWeights,
  enc: EncoderConfig | undefined,
  dec: DecoderConfig,
  src?: readonly number[],
  srcLength?: number,
  prompt?: readonly number[],
): NextTokenLogProbs {
  const lead = enc ? [dec.bos] : prompt && prompt.length > 0 ? [...prompt] : [dec.bos];
  const source = enc ? [[...src!]] : undefined;
  const lengths = enc ? [srcLength!] : undefined;
  return (prefix) => {
    const logits = teacherForced(weights, enc, dec, source, lengths, [[...lead, ...prefix]]);
    const lastRow = logits[0]!;
    return logSoftmax(lastRow[lastRow.length - 1]!);
  };
}

// ---------------------------------------------------------------------------------------------
// Exhaustive search, for checking beam search on tiny vocabularies.

/**
 * Every complete hypothesis, in lexicographic order of tokens: sequences of 1..maxLen tokens that
 * end in eos, plus the sequences of exactly maxLen tokens with no eos. `logProbs(prefix)` gives
 * the next token's log-probabilities after `prefix`; it is called once per unfinished prefix.
 */
export function allHypotheses(
  logProbs: NextTokenLogProbs,
  vocab: number,
  maxLen: number,
  eos: number,
): Array<Omit<Hypothesis, 'score'>> {
  const found: Array<Omit<Hypothesis, 'score'>> = [];
  const extend = (prefix: number[], logProb: number): void => {
    const next = logProbs(prefix);
    if (next.length !== vocab) throw new Error(`allHypotheses: ${next.length} log-probs for a vocabulary of ${vocab}`);
    for (let token = 0; token < vocab; token++) {
      const tokens = [...prefix, token];
      const total = logProb + next[token]!;
      if (token === eos || tokens.length === maxLen) found.push({ tokens, logProb: total });
      else extend(tokens, total);
    }
  };
  if (maxLen >= 1) extend([], 0);
  return found;
}

/** The hypothesis with the highest total log-probability; ties go to the first in lexicographic order. */
export function exhaustiveBest(logProbs: NextTokenLogProbs, vocab: number, maxLen: number, eos: number): Hypothesis {
  return best(allHypotheses(logProbs, vocab, maxLen, eos).map((h) => ({ ...h, score: h.logProb })));
}

/**
 * The hypothesis with the highest logProb / lp(Y), with GNMT's lp(Y) = ((5 + |Y|) / 6)^α and |Y|
 * the number of tokens including eos. α = 0 is exhaustiveBest.
 */
export function exhaustiveBestWithLengthPenalty(
  logProbs: NextTokenLogProbs,
  vocab: number,
  maxLen: number,
  eos: number,
  alpha: number,
): Hypothesis {
  return best(
    allHypotheses(logProbs, vocab, maxLen, eos).map((h) => ({
      ...h,
      score: h.logProb / gnmtLengthPenalty(h.tokens.length, alpha),
    })),
  );
}

/** GNMT's length penalty lp(Y) = ((5 + |Y|) / 6)^α. */
export function gnmtLengthPenalty(length: number, alpha: number): number {
  return ((5 + length) / 6) ** alpha;
}

// ---------------------------------------------------------------------------------------------
// Random weights with the doc's names and shapes.

/**
 * All parameters of the model, named and shaped as docs/seq2seq.md and PyTorch's state_dict:
 * embeddings [vocab, dim]; recurrent layers (the decoder's input size is E, + D for Bahdanau,
 * + H for input feeding); attention `linear_in` [D, Q], `linear_query` [D, Q] + bias [D],
 * `linear_context` [D, D], `v` [1, D], Luong `linear_out` [Q, D + Q] (+ bias [Q] for additive);
 * `bridge.h` [L·H, L_enc·dirs·H_enc] + bias, `bridge.c` likewise for LSTM to LSTM; head Linear
 * and LayerNorm parameters. Pass enc undefined for a language model.
 */
export function randomSeq2seqWeights(
  random: () => number,
  enc: EncoderConfig | undefined,
  dec: DecoderConfig,
  options: { readonly scale?: number } = {},
): Map<string, ReferenceTensor> {
  checkDecoder(dec);
  if (!enc && dec.attention) throw new Error('randomSeq2seqWeights: a language model has no attention');
  const scale = options.scale ?? 0.5;
  const weights = new Map<string, ReferenceTensor>();
  const set = (name: string, shape: number[]) => weights.set(name, randomTensor(random, shape, scale));
  const { layers: L, hidden: H } = dec.recurrent;

  if (enc) {
    setEmbedding(weights, random, enc.embedding, scale);
    let input = enc.embedding.dim;
    for (const layer of enc.recurrent) {
      const sizes = { input, hidden: layer.hidden, layers: layer.layers, bidirectional: layer.bidirectional };
      addAll(weights, randomRecurrentWeights(random, layer.cell, layer.prefix, sizes, { ...biasOf(layer), scale }));
      input = layer.hidden * (layer.bidirectional ? 2 : 1);
    }
    if (enc.bridge) {
      const R = lastEncoderLayer(enc);
      const joined = R.layers * (R.bidirectional ? 2 : 1) * R.hidden;
      const b = (name: string) => parameterName(enc.bridge!.prefix, name);
      set(b('h.weight'), [L * H, joined]);
      set(b('h.bias'), [L * H]);
      if (R.cell === 'lstm' && dec.recurrent.cell === 'lstm') {
        set(b('c.weight'), [L * H, joined]);
        set(b('c.bias'), [L * H]);
      }
    }
  }

  setEmbedding(weights, random, dec.embedding, scale);
  const D = enc ? memorySize(enc) : 0;
  const attention = dec.attention;
  let input = dec.embedding.dim;
  if (attention?.placement === 'bahdanau') input += D;
  if (attention?.inputFeed) input += H;
  const sizes = { input, hidden: H, layers: L, bidirectional: false };
  addAll(
    weights,
    randomRecurrentWeights(random, dec.recurrent.cell, dec.recurrent.prefix, sizes, {
      ...biasOf(dec.recurrent),
      scale,
    }),
  );

  if (attention) {
    const a = (name: string) => parameterName(attention.prefix, name);
    const Q = H;
    switch (attention.score) {
      case 'dot':
        if (Q !== D) throw new Error(`randomSeq2seqWeights: dot attention needs H = D, got ${Q} and ${D}`);
        break;
      case 'general':
        set(a('linear_in.weight'), [D, Q]);
        break;
      case 'additive':
        set(a('linear_query.weight'), [D, Q]);
        set(a('linear_query.bias'), [D]);
        set(a('linear_context.weight'), [D, D]);
        set(a('v.weight'), [1, D]);
        break;
      default:
        return assertNever(attention.score);
    }
    if (attention.placement === 'luong') {
      set(a('linear_out.weight'), [Q, D + Q]);
      if (attention.score === 'additive') set(a('linear_out.bias'), [Q]);
    }
  }

  let width = H;
  for (const step of dec.head) {
    switch (step.kind) {
      case 'linear':
        set(parameterName(step.prefix, 'weight'), [step.out, width]);
        if (step.bias !== false) set(parameterName(step.prefix, 'bias'), [step.out]);
        width = step.out;
        break;
      case 'layerNorm': {
        const gamma = randomTensor(random, [width], scale);
        weights.set(parameterName(step.prefix, 'weight'), { shape: [width], data: gamma.data.map((g) => 1 + g) });
        set(parameterName(step.prefix, 'bias'), [width]);
        break;
      }
      case 'activation':
      case 'dropout':
        break;
      default:
        return assertNever(step);
    }
  }
  return weights;
}

// ---------------------------------------------------------------------------------------------
// Helpers.

interface Start {
  readonly state: DecoderState;
  readonly memory?: number[][][];
  readonly srcLengths?: readonly number[];
}

function startOf(
  weights: ReferenceWeights,
  enc: EncoderConfig | undefined,
  dec: DecoderConfig,
  src: number[][] | undefined,
  srcLengths: readonly number[] | undefined,
  batch: number,
): Start {
  if (!enc) {
    if (src || srcLengths) throw new Error('a language model takes no src');
    if (dec.attention) throw new Error('a language model has no attention');
    return { state: zeroState(dec, batch) };
  }
  if (!src || !srcLengths) throw new Error('an encoder–decoder model needs src and srcLengths');
  if (src.length !== batch) throw new Error(`${src.length} source rows for a batch of ${batch}`);
  const encoded = encode(weights, enc, dec, src, srcLengths);
  return { state: startState(dec, encoded), memory: encoded.memory, srcLengths };
}

function checkDecoder(dec: DecoderConfig): void {
  if (dec.attention?.inputFeed && dec.attention.placement !== 'luong') {
    throw new Error('input_feed=true is allowed only with Luong placement');
  }
}

function withFeed(dec: DecoderConfig, batch: number, state: DecoderState): DecoderState {
  if (!dec.attention?.inputFeed) return state;
  return { ...state, feed: zeros2(batch, dec.recurrent.hidden) };
}

function recurrentOptions(layer: RecurrentLayerConfig, bidirectional: boolean): RecurrentOptions {
  return {
    hidden: layer.hidden,
    layers: layer.layers,
    bidirectional,
    ...(layer.nonlinearity ? { nonlinearity: layer.nonlinearity } : {}),
    ...(layer.resetAfter !== undefined ? { resetAfter: layer.resetAfter } : {}),
    ...(layer.recurrentActivation ? { recurrentActivation: layer.recurrentActivation } : {}),
    ...(layer.bias !== undefined ? { bias: layer.bias } : {}),
  };
}

function lastEncoderLayer(enc: EncoderConfig): EncoderRecurrentConfig {
  const last = enc.recurrent[enc.recurrent.length - 1];
  if (!last) throw new Error('the encoder has no recurrent layer');
  return last;
}

/** h_enc[l][b] = [h_n[l·dirs][b] ; h_n[l·dirs+1][b]], giving [L_enc][B][dirs·H_enc]. */
function joinDirections(hn: number[][][], layers: number, dirs: number): number[][][] {
  return Array.from({ length: layers }, (_, l) =>
    hn[l * dirs]!.map((_, b) => Array.from({ length: dirs }, (_, d) => hn[l * dirs + d]![b]!).flat()),
  );
}

/** tanh(W [s[0] ; … ; s[L_enc−1]] + b) per batch row, cut into L chunks of H: [L][B][H]. */
function bridge(weights: ReferenceWeights, prefix: string, states: number[][][], L: number, H: number): number[][][] {
  const batch = states[0]!.length;
  const joined = Array.from({ length: batch }, (_, b) => states.flatMap((layer) => layer[b]!));
  const y = tanh(linear(weights, prefix, joined));
  return Array.from({ length: L }, (_, l) => y.map((row) => row.slice(l * H, (l + 1) * H)));
}

function activation(fn: ActivationName, x: number[][]): number[][] {
  switch (fn) {
    case 'relu':
      return relu(x);
    case 'tanh':
      return tanh(x);
    case 'sigmoid':
      return sigmoid(x);
    case 'softmax':
      return softmax(x);
    case 'log_softmax':
      return logSoftmax(x);
    default:
      return assertNever(fn);
  }
}

function setEmbedding(
  weights: Map<string, ReferenceTensor>,
  random: () => number,
  config: EmbeddingConfig,
  scale: number,
): void {
  const table = randomTensor(random, [config.vocab, config.dim], scale);
  if (config.paddingIdx !== undefined)
    table.data.fill(0, config.paddingIdx * config.dim, (config.paddingIdx + 1) * config.dim);
  weights.set(parameterName(config.prefix, 'weight'), table);
}

function biasOf(layer: RecurrentLayerConfig): { bias?: boolean } {
  return layer.bias === false ? { bias: false } : {};
}

function addAll(into: Map<string, ReferenceTensor>, from: ReadonlyMap<string, ReferenceTensor>): void {
  for (const [name, tensor] of from) {
    if (into.has(name)) throw new Error(`parameter ${name} is defined twice`);
    into.set(name, tensor);
  }
}

/** Softmax where −∞ scores get weight exactly 0. */
function maskedSoftmax(scores: number[]): number[] {
  const top = Math.max(...scores);
  const e = scores.map((s) => (s === -Infinity ? 0 : Math.exp(s - top)));
  const total = sum(e);
  return e.map((a) => a / total);
}

function best(hypotheses: Hypothesis[]): Hypothesis {
  let top: Hypothesis | undefined;
  for (const h of hypotheses) if (!top || h.score > top.score) top = h;
  if (!top) throw new Error('no hypotheses (maxLen < 1?)');
  return top;
}

function dot(a: number[], b: number[]): number {
  if (a.length !== b.length) throw new Error(`dot: ${a.length} vs ${b.length}`);
  let total = 0;
  for (let i = 0; i < a.length; i++) total += a[i]! * b[i]!;
  return total;
}

function add(a: number[], b: number[]): number[] {
  return a.map((ai, i) => ai + b[i]!);
}

function sum(v: number[]): number {
  let total = 0;
  for (const a of v) total += a;
  return total;
}

function zeros2(a: number, b: number): number[][] {
  return Array.from({ length: a }, () => new Array<number>(b).fill(0));
}

function zeros3(a: number, b: number, c: number): number[][][] {
  return Array.from({ length: a }, () => zeros2(b, c));
}

function assertNever(value: never): never {
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
}
